"""The `wt5` command line: `wt5 demo`, `wt5 data`, `wt5 score`.

Each subcommand lives in its own module, which exposes
`add_arguments(parser)` and `run(args) -> int`; this module only dispatches,
importing the subcommand's module when it is chosen so that `wt5 --help`
stays fast.
"""

import argparse
import importlib
import sys
from typing import List, Optional

_SUBCOMMANDS = {
    "demo": ("wt5.demo", "Train and evaluate a small WT5 model end to end on the CPU."),
    "data": ("wt5.demo_data", "Write the embedded WT5 demo datasets in TFDS format."),
    "score": ("wt5.scoring", "Re-score a t5_mesh_transformer eval directory offline."),
}


def build_parser() -> argparse.ArgumentParser:
  """Returns the `wt5` parser with one subparser per subcommand."""
  parser = argparse.ArgumentParser(
      prog="wt5", description="WT5: text-to-text models that explain their predictions.")
  sub = parser.add_subparsers(dest="command", metavar="COMMAND")
  sub.required = True
  for name, (module_name, help_text) in _SUBCOMMANDS.items():
    module = importlib.import_module(module_name)
    sp = sub.add_parser(name, help=help_text, description=help_text)
    module.add_arguments(sp)
    sp.set_defaults(_module=module)
  return parser


def main(argv: Optional[List[str]] = None) -> int:
  """Entry point of the `wt5` console script."""
  args = build_parser().parse_args(argv)
  return int(args._module.run(args) or 0)


if __name__ == "__main__":
  sys.exit(main())
