"""The `wt5` command line: `wt5 demo`, `wt5 data`, `wt5 score`, `wt5 report`,
`wt5 export`, `wt5 train`, `wt5 evaluate`.

Each subcommand lives in its own module, which exposes
`add_arguments(parser)` and `run(args) -> int`; this module only dispatches,
importing just the chosen subcommand's module, so that `wt5 --help` stays
fast.
"""

import argparse
import importlib
import os
import sys
from typing import Dict, List, Mapping, Optional

# libgomp's own spin count for threads that outnumber the CPUs (its manual,
# GOMP_SPINCOUNT): short spins before a waiting OpenMP thread sleeps.
GOMP_SPINCOUNT = "1000"

_SUBCOMMANDS = {
    "demo": ("wt5.demo.demo_command", "Train and evaluate a small WT5 model end to end on the CPU."),
    "data": ("wt5.datasets.data_command", "Write the embedded WT5 demo datasets in TFDS format, or prepare Amazon reviews from TSV files."),
    "score": ("wt5.scoring.score_command", "Re-score a t5_mesh_transformer eval directory offline."),
    "report": ("wt5.report.report_command", "Render eval directories as one self-contained HTML page."),
    "export": ("wt5.export.export_command", "Write a task or mixture split to JSON Lines files."),
    "train": ("wt5.pytorch.train_command", "Train a Hugging Face T5 on an export with PyTorch."),
    "evaluate": ("wt5.pytorch.evaluate_command", "Decode PyTorch checkpoints into t5 eval files."),
    "convert": ("wt5.mtf.convert_command", "Convert a T5 between Mesh TensorFlow checkpoints and Hugging Face."),
    "doctor": ("wt5.doctor.doctor_command", "Check this environment for known T5-stack problems."),
    "faithfulness": ("wt5.faithfulness.faithfulness_command", "ERASER comprehensiveness, sufficiency and AOPC of extractive rationales."),
    "simulatability": ("wt5.faithfulness.simulatability_command", "Leakage-adjusted simulatability (LAS) of abstractive explanations."),
    "lengths": ("wt5.custom.lengths_command", "Measure a custom task's token lengths; write its sequence-length gin file."),
}


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
  """Returns the `wt5` parser; only `command`'s module is imported.

  build_parser("score").parse_args(["score", "DIR"]).eval_dir -> "DIR"
  """
  parser = argparse.ArgumentParser(
      prog="wt5", description="WT5: text-to-text models that explain their predictions.")
  sub = parser.add_subparsers(dest="command", metavar="COMMAND")
  sub.required = True
  for name, (module_name, help_text) in _SUBCOMMANDS.items():
    sp = sub.add_parser(name, help=help_text, description=help_text)
    if name == command:
      module = importlib.import_module(module_name)
      module.add_arguments(sp)
      sp.set_defaults(_module=module, _parser=sp)
  return parser


def openmp_defaults(environ: Mapping[str, str]) -> Dict[str, str]:
  """The OpenMP settings `wt5` adds to an environment that sets none.

  PyTorch's OpenMP (libgomp) reads them once, when torch loads. A waiting
  thread that sleeps at once (OMP_WAIT_POLICY=PASSIVE) makes each of the
  many small operations of a CPU training step wait for its threads to wake;
  one that spins long (libgomp's default, 300,000 spins) takes the CPU from
  other work on a shared machine. `wt5` spins briefly instead, unless
  OMP_WAIT_POLICY or GOMP_SPINCOUNT is set:
  openmp_defaults({}) -> {"GOMP_SPINCOUNT": "1000"}
  openmp_defaults({"OMP_WAIT_POLICY": "PASSIVE"}) -> {}
  """
  if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
    return {}
  return {"GOMP_SPINCOUNT": GOMP_SPINCOUNT}


def main(argv: Optional[List[str]] = None) -> int:
  """Entry point of the `wt5` console script."""
  argv = sys.argv[1:] if argv is None else list(argv)
  # Before a subcommand's module imports torch.
  os.environ.update(openmp_defaults(os.environ))
  command = next((a for a in argv if not a.startswith("-")), None)
  parser = build_parser(command)
  args, unknown = parser.parse_known_args(argv)
  if unknown:  # Named by the subcommand's parser, with its usage.
    getattr(args, "_parser", parser).error(
        "unrecognized arguments: %s" % " ".join(unknown))
  return int(args._module.run(args) or 0)


if __name__ == "__main__":
  sys.exit(main())
