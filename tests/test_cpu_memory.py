"""wt5.pytorch.cpu_memory: training steps stop faulting their memory in."""

import json
import os
import subprocess
import sys

STEPS = """
import json, resource, sys, torch
from wt5.pytorch import cpu_memory
kept = cpu_memory.keep_freed_memory() if sys.argv[1] == "keep" else None
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(256, 2048), torch.nn.ReLU(),
                            torch.nn.Linear(2048, 256))
faults = []
for step in range(40):  # batches of two sizes, as packed rows vary
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  model(torch.randn(2048 + 64 * (step % 2), 256)).square().sum().backward()
  faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"kept": kept, "faults": faults}))
"""


def page_faults(mode):
  """Page faults of each of 40 steps in a new process (`mode` "keep" or not)."""
  result = subprocess.run([sys.executable, "-c", STEPS, mode],
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
  return json.loads(result.stdout.splitlines()[-1])


def test_kept_memory_ends_most_page_faults_of_training_steps():
  # Where a block lands varies between processes, so the counts do too;
  # steps 5 to 40 measured: 100,546 to 175,808 page faults with glibc's
  # defaults (the steps' 8 MiB activations returned to the kernel and
  # faulted in again), 304 to 8,416 with the memory kept.
  default = page_faults("default")
  assert default["kept"] is None
  assert sum(default["faults"][4:]) >= 40000, default
  kept = page_faults("keep")
  assert kept["kept"] is True
  assert kept["faults"][0] >= 4096, kept  # the first step maps its memory
  assert sum(kept["faults"][4:]) * 10 <= sum(default["faults"][4:]), (
      kept, default)
