"""Reading a `wt5 export` directory, without TensorFlow or t5.

An export directory holds `manifest.json` and JSON Lines files (optionally
gzip-compressed, then ending in `.gz`), one example a line:

    {"task": "esnli_v010", "inputs": [37, 5, ..., 1], "targets": [8, ..., 1],
     "inputs_pretokenized": "explain nli hypothesis: ...",
     "targets_pretokenized": "entailment explanation: ..."}

`inputs` and `targets` are the token ids exactly as the seqio task produces
them for the manifest's sequence lengths (trimmed, EOS appended, no padding).
Examples of an evaluation split also carry `target_line`: the line that
`t5_mesh_transformer` writes for this example into `<task>_targets` (the
postprocessed target, `str()`, newlines replaced by spaces).

The manifest (format "wt5-export-1"):

    {"format": "wt5-export-1",
     "name": "esnli_mnli_all_explanations",
     "vocabulary": {"path": "...", "extra_ids": 0, "size": 2000,
                    "pad_id": 0, "eos_id": 1},
     "sequence_length": {"inputs": 512, "targets": 256},
     "tasks": {"esnli_v010": {"rate": 549367.0,
                              "postprocessor": "wt5.postprocessors.abstractive_explanations",
                              "metrics": ["wt5.metrics.esnli_metric"]}, ...},
     "splits": {"train": {"kind": "mixture", "seed": 0, "count": 1000,
                          "files": {"*": "train.jsonl.gz"},
                          "counts": {"esnli_v010": 500, ...}},
                "validation": {"kind": "per_task",
                               "files": {"esnli_v010": "validation/esnli_v010.jsonl.gz", ...},
                               "counts": {"esnli_v010": 100, ...}}}}

A "mixture" split is one file of the mixture's examples in the order seqio's
rate-weighted sampling drew them; a "per_task" split has one file per task in
the task's dataset order (the order `t5_mesh_transformer` evaluates in).
"""

import gzip
import io
import json
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional

FORMAT = "wt5-export-1"
MANIFEST = "manifest.json"
MIXED = "*"
EXAMPLE_KEYS = ("task", "inputs", "targets", "inputs_pretokenized",
                "targets_pretokenized")


class ExportError(ValueError):
  """An export directory or file that is missing or malformed."""


def open_text(path: str, mode: str = "rt") -> io.TextIOBase:
  """Opens `path` as UTF-8 text, through gzip when it ends in `.gz`.

  open_text("d/train.jsonl.gz") -> a gzip text stream; open_text("d/x.jsonl") -> a plain one.
  """
  if path.endswith(".gz"):
    return gzip.open(path, mode, encoding="utf-8")
  return open(path, mode, encoding="utf-8")


def read_manifest(export_dir: str) -> Dict[str, Any]:
  """Reads and checks `<export_dir>/manifest.json`.

  read_manifest("d")["sequence_length"] -> {"inputs": 512, "targets": 256}
  """
  path = os.path.join(export_dir, MANIFEST)
  if not os.path.exists(path):
    raise ExportError("%s: no %s here; write an export with `wt5 export`" %
                      (export_dir, MANIFEST))
  try:
    with open(path, encoding="utf-8") as f:
      manifest = json.load(f)
  except (OSError, ValueError) as e:
    raise ExportError("%s: cannot read the manifest: %s" % (path, e)) from None
  if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
    raise ExportError("%s: not a %s manifest (format %r)" % (
        path, FORMAT, manifest.get("format") if isinstance(manifest, dict)
        else None))
  for key in ("name", "vocabulary", "sequence_length", "tasks", "splits"):
    if key not in manifest:
      raise ExportError("%s: the manifest has no %r entry" % (path, key))
  return manifest


def split_entry(manifest: Mapping[str, Any], split: str,
                export_dir: str = "") -> Mapping[str, Any]:
  """The manifest's entry for `split`, or an error naming the splits there.

  split_entry({"splits": {"train": {...}}}, "train") -> {...}
  """
  splits = manifest["splits"]
  if split not in splits:
    raise ExportError("%s: split %r was not exported; exported: %s" % (
        export_dir or manifest.get("name"), split,
        ", ".join(sorted(splits)) or "none"))
  return splits[split]


def split_tasks(manifest: Mapping[str, Any], split: str) -> List[str]:
  """The tasks with examples in `split` (per-task files, or the mixture's).

  split_tasks(m, "validation") -> ["esnli_v010", "mnli_explain_eval_matched_v002"]
  """
  entry = split_entry(manifest, split)
  return sorted(t for t, n in entry.get("counts", {}).items() if n)


def split_file(export_dir: str, manifest: Mapping[str, Any], split: str,
               task: Optional[str] = None) -> str:
  """The path of `split`'s file: the mixed one, or `task`'s.

  split_file("d", m, "train") -> "d/train.jsonl.gz"
  split_file("d", m, "validation", "esnli_v010") -> "d/validation/esnli_v010.jsonl.gz"
  """
  files = split_entry(manifest, split, export_dir)["files"]
  key = MIXED if task is None else task
  if key not in files:
    if task is None:
      raise ExportError(
          "%s: split %r was exported per task (%s); name one task" %
          (export_dir, split, ", ".join(sorted(files))))
    raise ExportError("%s: split %r has no file for task %r; it has: %s" % (
        export_dir, split, task, ", ".join(sorted(files))))
  return os.path.join(export_dir, files[key])


def parse_example(line: str, path: str, lineno: int) -> Dict[str, Any]:
  """Parses and checks one example line.

  parse_example('{"task": "t", "inputs": [5, 1], "targets": [1], "inputs_pretokenized": "a", "targets_pretokenized": ""}', "f", 1)
  -> {"task": "t", "inputs": [5, 1], "targets": [1], ...}
  """
  try:
    example = json.loads(line)
  except ValueError as e:
    raise ExportError("%s:%d: not a JSON object: %s" % (path, lineno, e)) from None
  if not isinstance(example, dict):
    raise ExportError("%s:%d: expected a JSON object, got %s" % (
        path, lineno, type(example).__name__))
  missing = [k for k in EXAMPLE_KEYS if k not in example]
  if missing:
    raise ExportError("%s:%d: the example has no %s" % (
        path, lineno, ", ".join(missing)))
  for key in ("inputs", "targets"):
    ids = example[key]
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and i >= 0 for i in ids):
      raise ExportError("%s:%d: %r must be a list of token ids (ints >= 0)" %
                        (path, lineno, key))
  return example


def iter_examples(path: str) -> Iterator[Dict[str, Any]]:
  """Yields the examples of one export file, in order.

  next(iter_examples("d/train.jsonl.gz"))["task"] -> "esnli_v010"
  """
  if not os.path.exists(path):
    raise ExportError("%s: missing export file" % path)
  with open_text(path) as f:
    for lineno, line in enumerate(f, 1):
      if line.strip():
        yield parse_example(line, path, lineno)


def read_split(export_dir: str, split: str,
               task: Optional[str] = None) -> List[Dict[str, Any]]:
  """All examples of `split` (of one `task` for a per-task split).

  len(read_split("d", "validation", "esnli_v010")) -> 100
  """
  manifest = read_manifest(export_dir)
  return list(iter_examples(split_file(export_dir, manifest, split, task)))


def check_vocabulary(manifest: Mapping[str, Any], model_vocab_size: int,
                     where: str = "the model") -> Optional[str]:
  """Checks that a model's embedding covers the export's vocabulary.

  Returns None when the sizes are equal, a note when the model has more rows
  (Hugging Face T5 checkpoints pad 32100 ids to 32128), and raises
  `ExportError` when the model has fewer rows than the vocabulary has ids.

  check_vocabulary({"vocabulary": {"size": 32100}}, 32128) -> "the model's embedding has 32128 rows for a vocabulary of 32100 ids; ..."
  """
  size = int(manifest["vocabulary"]["size"])
  if model_vocab_size < size:
    raise ExportError(
        "Vocabulary mismatch: %s has an embedding of %d rows but the export's "
        "vocabulary %s has %d ids; ids >= %d would index past the embedding. "
        "Export with the model's own vocabulary (WT5_VOCAB_MODEL=<checkpoint>/"
        "spiece.model) or train a model of vocab_size %d." % (
            where, model_vocab_size, manifest["vocabulary"].get("path"), size,
            model_vocab_size, size))
  if model_vocab_size > size:
    return ("%s's embedding has %d rows for a vocabulary of %d ids; the "
            "extra rows are never produced by the vocabulary" % (
                where, model_vocab_size, size))
  return None
