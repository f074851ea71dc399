"""`wt5 lengths`: sequence lengths for a custom task, written as a gin file.

    wt5 lengths my_nli --module_import=my_tasks --output my_nli.gin

imports the modules that register custom tasks (the current directory is on
the import path), measures the task's token lengths and writes the gin file
(see `wt5.custom.lengths`).
"""

import argparse
import importlib
import os
import sys
from typing import Dict, List

from wt5 import cli_options


def _data_file(text: str) -> List[str]:
  """_data_file("train=a.jsonl") -> ["train", "a.jsonl"]."""
  split, sep, path = text.partition("=")
  if not sep or not split or not path:
    raise argparse.ArgumentTypeError("expected SPLIT=PATH, got %r" % text)
  return [split, path]


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The `wt5 lengths` options."""
  parser.add_argument("task", help="A custom task (wt5.custom.add_*_task).")
  parser.add_argument("--module_import", action="append", default=[],
                      required=True,
                      help="A module that registers the task (repeatable).")
  cli_options.SPLIT.add(parser, default="train")
  parser.add_argument("--data_file", action="append", type=_data_file,
                      default=[], metavar="SPLIT=PATH",
                      help="Measure these files instead of the task's own "
                      "(repeatable; several for one split are read in order).")
  parser.add_argument("--percentile", type=float, default=99.0)
  parser.add_argument("--round_to", type=int, default=8)
  parser.add_argument("--output", default=None,
                      help="The gin file to write (default: TASK.gin).")


def run(args: argparse.Namespace) -> int:
  """Imports the modules, measures, prints the summary, writes the gin file."""
  if os.getcwd() not in sys.path:
    sys.path.insert(0, os.getcwd())
  for module in args.module_import:
    importlib.import_module(module)
  from wt5.custom import lengths
  files: Dict[str, List[str]] = {}
  for split, path in args.data_file:
    files.setdefault(split, []).append(path)
  output = args.output or args.task + ".gin"
  report = lengths.sequence_lengths(
      args.task, files or None, split=args.split, percentile=args.percentile,
      round_to=args.round_to, output=output)
  print(report.summary())
  print("Wrote %s" % output)
  return 0
