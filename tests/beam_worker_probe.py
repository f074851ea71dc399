"""Imported by the cache job (`--module_import`) in every Beam process.

Records, per process, the vocabulary setting that process sees: a file named
after its pid under $WT5_PROBE_DIR holding $WT5_VOCAB_MODEL.
"""

import os

_DIR = os.environ.get("WT5_PROBE_DIR")
if _DIR:
  with open(os.path.join(_DIR, str(os.getpid())), "w") as f:
    f.write(os.environ.get("WT5_VOCAB_MODEL", ""))
