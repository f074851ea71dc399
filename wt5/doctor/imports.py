"""`wt5 doctor`'s second stage: what importing the stack tells.

The stack is imported in a child process (`wt5.doctor.probe`), so that a
crash there is reported instead of ending the doctor; its answers are
checked here: the TFDS builders, `t5.models`, the vocabulary and, with
`--data_dir`, the catalogue's prepared datasets.
"""

import json
import os
import subprocess
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from wt5 import tfds_data
from wt5 import vocab_setting
from wt5.doctor import probe as probe_lib
from wt5.doctor.metadata import (TFDS_NIGHTLY, TFDS_RELEASE, TORCH_FIX, Result,
                                 ok, problem, skipped)
from wt5.vocab_setting import VOCAB_ENV

# --- Stage 2: importing the stack (in a child process) ----------------------

# The datasets' builders that TFDS must register (they live in its text module).
TEXT_BUILDERS = ("esnli", "cos_e", "movie_rationales", "eraser_multi_rc",
                 "glue", "imdb_reviews", "amazon_us_reviews")

def run_probe(python: str = sys.executable, timeout: float = 600) -> Dict[str, Any]:
  """Runs `wt5.doctor.probe` in a child `python`; returns what each step gave."""
  proc = subprocess.run([python, "-m", "wt5.doctor.probe",
                         json.dumps(TEXT_BUILDERS)],
                        capture_output=True, text=True, timeout=timeout,
                        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  for line in proc.stdout.splitlines():
    if line.startswith(probe_lib.MARKER):
      return json.loads(line[len(probe_lib.MARKER):])
  tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
  return {"crash": "the import probe exited with status %d: %s" %
                   (proc.returncode, tail[0])}


def check_builders(step: Mapping[str, Any]) -> Result:
  """TFDS registered the text builders of the WT5 datasets.

  check_builders({"ok": True, "value": ["cos_e"]}).ok -> False (esnli, ... missing)
  """
  name = "TFDS text builders"
  if not step["ok"]:
    return problem(name, "import tensorflow_datasets failed: %s" % step["error"],
                   "pip install --force-reinstall --no-deps %s==%s %s==%s" %
                   (TFDS_RELEASE + TFDS_NIGHTLY))
  missing = [b for b in TEXT_BUILDERS if b not in step["value"]]
  if missing:
    return problem(name, "TFDS does not register %s: its text builders "
                   "failed to import (with pandas 3 TFDS skips them silently)"
                   % ", ".join(missing), 'pip install "pandas<3"')
  return ok(name, "all %d registered" % len(TEXT_BUILDERS))


def check_t5_models(step: Mapping[str, Any]) -> Result:
  """`import t5.models` works (t5_mesh_transformer needs it)."""
  if step["ok"]:
    return ok("import t5.models", "works")
  fix = None
  if "torch" in step["error"]:
    fix = TORCH_FIX
  elif "pkg_resources" in step["error"]:
    fix = 'pip install "setuptools<80"'
  return problem("import t5.models", step["error"], fix)


def check_vocabulary(step: Mapping[str, Any], environ: Mapping[str, str]) -> Result:
  """The vocabulary of `WT5_VOCAB_MODEL` (or T5's default) can be read."""
  path = vocab_setting.vocab_model_path(environ)
  setting = (VOCAB_ENV if vocab_setting.custom_vocab_model(environ)
             else "the default; %s is not set" % VOCAB_ENV)
  name = "vocabulary"
  if step["ok"]:
    return ok(name, "%s (%s): %d pieces" % (path, setting, step["value"][1]))
  return problem(name, "cannot read %s (%s): %s" % (path, setting, step["error"]),
                 "export %s=/path/to/sentencepiece.model  # e.g. written by "
                 "`wt5 data --data_dir DIR --vocab` as DIR/vocab/wt5_demo.model"
                 % VOCAB_ENV)


def dataset_versions(data_dir: str, tfds_name: str) -> List[str]:
  """Versions of `tfds_name` (name[/config], no version) prepared in data_dir.

  dataset_versions("/d", "esnli") -> ["0.1.0"] when /d/esnli/0.1.0/dataset_info.json exists
  dataset_versions("/d", "imdb_reviews") -> ["1.0.0"] from /d/imdb_reviews/plain_text/1.0.0
  """
  folder = os.path.join(data_dir, *tfds_name.split("/"))
  if not os.path.isdir(folder):
    return []
  found = sorted(v for v in os.listdir(folder) if os.path.isfile(
      os.path.join(folder, v, tfds_data.INFO_FILE)))
  if found or "/" in tfds_name:
    return found
  # A name without a configuration means the builder's default one, which
  # TFDS writes under DIR/<name>/<config>/<version>.
  return sorted({v for config in os.listdir(folder)
                 if os.path.isdir(os.path.join(folder, config))
                 for v in dataset_versions(folder, config)})


def check_data_dir(data_dir: str, sources: Sequence[str]) -> List[Result]:
  """Which of the catalogue's TFDS datasets (`name:version`) data_dir holds."""
  results = []
  if not os.path.isdir(data_dir):
    return [problem("data_dir", "%s is not a directory" % data_dir,
                    "wt5 data --data_dir %s --vocab" % data_dir)]
  wanted: Dict[str, List[str]] = {}
  for source in sources:
    tfds_name, _, wanted_version = source.partition(":")
    wanted.setdefault(tfds_name, []).append(wanted_version)
  present, absent = 0, []
  for tfds_name in sorted(wanted):
    have = dataset_versions(data_dir, tfds_name)
    need = sorted(set(wanted[tfds_name]))
    label = "data %s:%s" % (tfds_name, ",".join(need))
    if all(v in have for v in need):
      present += 1
      results.append(ok(label, "present"))
    elif have:
      results.append(problem(label, "only version(s) %s in %s" %
                             (", ".join(have), data_dir),
                             "tfds build %s --data_dir=%s" % (tfds_name, data_dir)))
    else:
      absent.append("%s:%s" % (tfds_name, ",".join(need)))
  if absent:
    results.append(skipped("data not in %s" % data_dir, group_names(absent)))
  if not present:
    results.append(problem("data_dir", "none of the WT5 datasets is in %s"
                           % data_dir, "wt5 data --data_dir %s --vocab" % data_dir))
  return results


def group_names(names: Sequence[str], limit: int = 3) -> str:
  """Joins dataset names, counting the configurations of a crowded builder.

  group_names(["a/x:1", "a/y:1", "a/z:1", "a/w:1", "b:2"]) -> "a/* (4 configurations), b:2"
  """
  by_builder: Dict[str, List[str]] = {}
  for name in names:
    by_builder.setdefault(name.split("/")[0].split(":")[0], []).append(name)
  parts = []
  for builder, group in by_builder.items():
    if len(group) > limit:
      parts.append("%s/* (%d configurations)" % (builder, len(group)))
    else:
      parts.extend(group)
  return ", ".join(parts)


def import_checks(needed_ok: bool, data_dir: Optional[str],
                  environ: Mapping[str, str],
                  probe: Callable[[], Dict[str, Any]] = run_probe) -> List[Result]:
  """Stage 2: what importing the stack tells (skipped when stage 1 failed)."""
  names = ["TFDS text builders", "import t5.models", "vocabulary"]
  if not needed_ok:
    return [skipped(n, "not tried: fix the problems above first") for n in names]
  out = probe()
  if "crash" in out:
    return [problem("importing the stack", out["crash"], None)]
  results = [check_builders(out["builders"]), check_t5_models(out["t5_models"]),
             check_vocabulary(out["vocab"], environ)]
  if data_dir is not None:
    if out["sources"]["ok"]:
      results += check_data_dir(data_dir, out["sources"]["value"])
    else:
      results.append(problem("data_dir", "import wt5.tasks failed: %s" %
                             out["sources"]["error"], None))
  return results
