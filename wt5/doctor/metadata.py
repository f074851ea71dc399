"""`wt5 doctor`'s first stage: checks of the installed packages' metadata.

Nothing here imports the stack: versions and files come from
`importlib.metadata`, so the checks work when TensorFlow, TFDS or t5 cannot
be imported. Each check is a pure function of what it reads:

    check_torch(None) -> Result("torch", False, "not installed ...", fix=...)
"""

import base64
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from packaging import specifiers
from packaging import version as versions

TFDS_MODULE = "tensorflow_datasets"
TFDS_NIGHTLY = ("tfds-nightly", "4.9.2.dev202308090034")
# The tensorflow-datasets release that t5 (through mesh-tensorflow[transformer])
# installs beside tfds-nightly: its files are a subset of the nightly's.
TFDS_RELEASE = ("tensorflow-datasets", "4.9.3")
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# torch 2.13 would upgrade setuptools past 80, which has no pkg_resources.
TORCH_FIX = ('pip install torch==2.13.0 "setuptools<80" --extra-index-url %s'
             % CPU_TORCH_INDEX)

# (distribution, specifier, why): the versions the stack works with.
PINNED = (
    ("tensorflow", ">=2.12.0,<2.13",
     "mesh-tensorflow 0.1.21 needs TensorFlow 2.12"),
    ("tensorflow-text", "==2.12.1", "must match TensorFlow 2.12"),
    ("mesh-tensorflow", "==0.1.21", "the last release, which wt5 uses"),
    ("t5", "==0.9.4", "the last release, which wt5 uses"),
    ("seqio-nightly", "==0.0.18.dev20250227", "the seqio that t5 0.9.4 uses"),
    ("tensorflow-hub", "==0.13.0", "0.16 needs a newer TensorFlow"),
    ("pandas", "<3",
     "pandas 3 makes TFDS skip its text builders (esnli, cos_e, ...)"),
    ("numpy", "<1.25", "TensorFlow 2.12 needs numpy<=1.24.3"),
    ("spacy", ">=3.7,<3.8", "the extractive metrics' tokenizer"),
)
# protobuf and tensorflow-metadata: the pair that works with TensorFlow 2.12.
TF_METADATA_VERSION = "1.14.0"
PROTOBUF_RANGE = ">=3.20.3,<4.21"
PROTOBUF_FIX = ("protobuf==3.20.3", "tensorflow-metadata==" + TF_METADATA_VERSION)
# What `pip install` should be told for each of them (setup.py pins the same;
# tests/test_doctor.py checks that they agree).
PIN_FIX = {
    "tensorflow": "tensorflow==2.12.1",
    "tensorflow-text": "tensorflow-text==2.12.1",
    "mesh-tensorflow": "mesh-tensorflow==0.1.21",
    "t5": "t5==0.9.4",
    "seqio-nightly": "seqio-nightly==0.0.18.dev20250227",
    "tensorflow-hub": "tensorflow-hub==0.13.0",
    "pandas": "pandas<3",
    "numpy": "numpy<1.25",
    "spacy": "spacy==3.7.5",
}


@dataclasses.dataclass(frozen=True)
class Result:
  """The outcome of one check: OK, or a problem and the command that fixes it."""
  name: str
  ok: bool
  detail: str
  fix: Optional[str] = None
  skipped: bool = False


def ok(name: str, detail: str) -> Result:
  return Result(name, True, detail)


def problem(name: str, detail: str, fix: Optional[str]) -> Result:
  return Result(name, False, detail, fix)


def skipped(name: str, detail: str) -> Result:
  return Result(name, True, detail, skipped=True)


# --- Stage 1: package metadata ----------------------------------------------


def _same_version(a: str, b: str) -> bool:
  """_same_version("2.13.0+cpu", "2.13.0") -> False; ("4.9.3", "4.9.3") -> True."""
  try:
    return versions.Version(a) == versions.Version(b)
  except versions.InvalidVersion:
    return a == b


def check_tfds_distributions(dists: Sequence[Tuple[str, str]],
                             intact: Optional[Mapping[str, bool]] = None
                            ) -> Result:
  """Checks which distributions install the `tensorflow_datasets` module.

  `dists` holds (name, version) of each; `intact[name]` says whether all of
  that distribution's files under `tensorflow_datasets/` are on disk as it
  wrote them.

  check_tfds_distributions([("tfds-nightly", "4.9.2.dev202308090034")]).ok -> True
  check_tfds_distributions([("tfds-nightly", "4.9.2.dev202308090034"),
                            ("tensorflow-datasets", "4.9.10")]).ok -> False
  """
  name = "TFDS distributions"
  reinstall = ("pip install --force-reinstall --no-deps %s==%s %s==%s" %
               (TFDS_RELEASE + TFDS_NIGHTLY))
  intact = intact or {}
  found = ", ".join("%s %s" % d for d in dists)
  if not dists:
    return problem(name, "no distribution provides the tensorflow_datasets "
                   "module", "pip install %s==%s" % TFDS_NIGHTLY)
  if len(dists) == 1:
    dist_name, dist_version = dists[0]
    if (dist_name, dist_version) == TFDS_NIGHTLY or dist_name == TFDS_RELEASE[0]:
      return ok(name, found)
    return problem(name, "%s: seqio-nightly needs %s==%s" % ((found,) + TFDS_NIGHTLY),
                   "pip install --force-reinstall --no-deps %s==%s" % TFDS_NIGHTLY)
  pair = {d[0]: d[1] for d in dists}
  if (len(dists) == 2 and pair.get(TFDS_NIGHTLY[0]) == TFDS_NIGHTLY[1] and
      pair.get(TFDS_RELEASE[0]) == TFDS_RELEASE[1]):
    if any(intact.get(d[0], True) for d in dists):
      return ok(name, "%s (the pair wt5 declares; the module's files are "
                "one of them, unmixed)" % found)
    return problem(name, "%s share the tensorflow_datasets module and its "
                   "files are a mix of both" % found, reinstall)
  return problem(
      name, "%s all write the same tensorflow_datasets module, which is then "
      "a mix of different versions (\"module 'tensorflow_datasets' has no "
      "attribute 'core'\", builders \"not found\")" % found, reinstall)


def check_pins(installed: Mapping[str, Optional[str]]) -> List[Result]:
  """Checks the installed versions against `PINNED`.

  check_pins({"tensorflow": "2.15.0", ...})[0].detail
    -> "tensorflow 2.15.0 is not >=2.12.0,<2.13 (mesh-tensorflow 0.1.21 needs TensorFlow 2.12)"
  """
  results = []
  for dist_name, spec, why in PINNED:
    installed_version = installed.get(dist_name)
    label = "%s %s" % (dist_name, spec)
    fix = 'pip install "%s"' % PIN_FIX[dist_name]
    if installed_version is None:
      results.append(problem(label, "%s is not installed (%s)" % (dist_name, why), fix))
    elif not specifiers.SpecifierSet(spec).contains(installed_version,
                                                    prereleases=True):
      results.append(problem(label, "%s %s is not %s (%s)" %
                             (dist_name, installed_version, spec, why), fix))
    else:
      results.append(ok(label, "%s %s" % (dist_name, installed_version)))
  return results


def check_protobuf(protobuf: Optional[str], tf_metadata: Optional[str]) -> Result:
  """Checks protobuf against tensorflow-metadata (and TensorFlow 2.12).

  check_protobuf("3.20.3", "1.14.0").ok -> True
  check_protobuf("4.25.9", "1.21.0").detail
    -> "tensorflow-metadata 1.21.0 imports google.protobuf.runtime_version (protobuf 5), which TensorFlow 2.12 cannot use; ..."
  """
  name = "protobuf / tensorflow-metadata"
  fix = "pip install %s" % " ".join(PROTOBUF_FIX)
  if protobuf is None or tf_metadata is None:
    return problem(name, "protobuf %s, tensorflow-metadata %s: both are needed"
                   % (protobuf or "missing", tf_metadata or "missing"), fix)
  found = "protobuf %s, tensorflow-metadata %s" % (protobuf, tf_metadata)
  if not _same_version(tf_metadata, TF_METADATA_VERSION):
    return problem(name, "tensorflow-metadata %s imports "
                   "google.protobuf.runtime_version (protobuf 5), which "
                   "TensorFlow 2.12 cannot use; %s is the one that works "
                   "(%s)" % (tf_metadata, TF_METADATA_VERSION, found), fix)
  if not specifiers.SpecifierSet(PROTOBUF_RANGE).contains(protobuf):
    return problem(name, "protobuf %s is outside %s, which "
                   "tensorflow-metadata %s needs (%s)" % (
                       protobuf, PROTOBUF_RANGE, TF_METADATA_VERSION, found),
                   fix)
  return ok(name, found)


def check_pkg_resources(present: bool) -> Result:
  """`pkg_resources` (setuptools < 80), imported by tensorflow-hub and t5."""
  if present:
    return ok("pkg_resources", "importable")
  return problem("pkg_resources", "pkg_resources is missing (setuptools 80 "
                 "and newer do not ship it); tensorflow-hub, mesh-tensorflow "
                 "and t5_mesh_transformer import it", 'pip install "setuptools<80"')


def check_torch(version: Optional[str]) -> Result:
  """torch, which `import t5.models` (and so t5_mesh_transformer) imports."""
  if version is not None:
    return ok("torch (for t5.models)", "torch %s" % version)
  return problem("torch (for t5.models)", "torch is not installed; "
                 "`import t5.models`, and so t5_mesh_transformer, imports it",
                 TORCH_FIX)


def installed_versions(names: Sequence[str]) -> Dict[str, Optional[str]]:
  """The installed version of each distribution name (None when absent)."""
  out = {}
  for dist_name in names:
    try:
      out[dist_name] = importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
      out[dist_name] = None
  return out


def distributions_of(module: str,
                     dists: Optional[Sequence[Any]] = None
                    ) -> List[Tuple[str, str]]:
  """(name, version) of each installed distribution with top-level `module`."""
  dists = importlib.metadata.distributions() if dists is None else dists
  found = set()
  for dist in dists:
    top_level = (dist.read_text("top_level.txt") or "").split()
    files = dist.files or []
    if module in top_level or any(
        str(f).split("/", 1)[0] == module for f in files):
      found.add((dist.metadata["Name"], dist.version))
  return sorted(found)


def files_intact(dist_name: str, module: str) -> bool:
  """Whether every file `dist_name` recorded under `module/` is on disk as written."""
  dist = importlib.metadata.distribution(dist_name)
  for f in dist.files or []:
    if not str(f).startswith(module + "/") or f.hash is None:
      continue
    path = f.locate()
    try:
      with open(path, "rb") as fh:
        digest = hashlib.new(f.hash.mode, fh.read()).digest()
    except OSError:
      return False
    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != f.hash.value:
      return False
  return True


def metadata_checks() -> List[Result]:
  """Stage 1: everything that package metadata alone tells."""
  dists = distributions_of(TFDS_MODULE)
  intact = ({d[0]: files_intact(d[0], TFDS_MODULE) for d in dists}
            if len(dists) > 1 else {})
  pinned = installed_versions([p[0] for p in PINNED] +
                              ["protobuf", "tensorflow-metadata", "torch"])
  return ([check_tfds_distributions(dists, intact)] + check_pins(pinned) +
          [check_protobuf(pinned["protobuf"], pinned["tensorflow-metadata"]),
           check_pkg_resources(importlib.util.find_spec("pkg_resources") is not None),
           check_torch(pinned["torch"])])
