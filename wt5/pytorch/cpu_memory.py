"""Keeping freed memory in a CPU training process (glibc's malloc settings).

A CPU training step allocates and frees the same large tensors every step.
glibc's malloc returns blocks above its mmap threshold to the kernel when
they are freed, and trims the top of its heap, so the next step faults every
page in again: on the demo's model (`benchmarks/torch_vs_mtf.py`) 300 to
4,600 page faults a step, and in a virtual machine a page fault costs a few
microseconds (2.7 on the machine of the README's figures). `keep_freed_memory`
raises both thresholds, so large blocks come from the heap and stay there:
next to no page faults after the first steps (`wt5 train` on that model:
none in most steps), the process keeping its peak memory (there, about
1 GB with or without).

Nothing here imports TensorFlow, t5 or torch.
"""

import ctypes
import ctypes.util
import platform

# mallopt parameters of glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30


def keep_freed_memory(limit: int = KEEP_BYTES) -> bool:
  """Lets glibc keep freed blocks up to `limit` bytes; returns whether it could.

  Sets M_MMAP_THRESHOLD (blocks this large or larger are mapped and
  unmapped on their own) and M_TRIM_THRESHOLD (free memory at the heap's
  top kept before it is returned) to `limit`. Both must be set: setting
  one stops glibc's own adjustment of the other, and the mmap threshold
  alone left at its 128 KiB start maps every tensor anew.
  keep_freed_memory() -> True on glibc; False elsewhere (nothing changed).
  """
  if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
    return False
  libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
  return bool(libc.mallopt(M_MMAP_THRESHOLD, limit) and
              libc.mallopt(M_TRIM_THRESHOLD, limit))
