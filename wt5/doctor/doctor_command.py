"""`wt5 doctor`: checks this Python environment for the known traps.

The T5 / Mesh TensorFlow stack breaks in ways whose error messages point far
from the cause (two distributions of `tensorflow_datasets` give
"module 'tensorflow_datasets' has no attribute 'core'"). Each check here
prints OK or the problem with the command that fixes it; the exit status is 1
when anything is wrong.

The checks run in two stages. The first reads only package metadata
(`importlib.metadata`), so it works even when the stack cannot be imported.
The second imports the stack in a child process (TFDS builders, `t5.models`,
the vocabulary, the catalogue's datasets) and runs only when the first found
nothing wrong with the packages it needs.

The checks are `wt5.doctor.metadata` (stage 1) and `wt5.doctor.imports`
(stage 2); each is a pure function of what it reads, so each broken state
can be built in a test.
"""

import argparse
import os
import sys

from wt5 import cli_options
from wt5.doctor.imports import import_checks
from wt5.doctor.metadata import Result, metadata_checks


def format_result(result: Result) -> str:
  """One line per result, and the fix under a problem.

  format_result(ok("pkg_resources", "importable")) -> "  OK       pkg_resources: importable"
  """
  status = "SKIPPED" if result.skipped else ("OK" if result.ok else "PROBLEM")
  line = "  %-8s %s: %s" % (status, result.name, result.detail)
  if result.fix:
    line += "\n           fix: %s" % result.fix
  return line


def add_arguments(parser: argparse.ArgumentParser) -> None:
  cli_options.DATA_DIR.add(
      parser, help="Also list which WT5 TFDS datasets (and versions) are "
      "prepared in this TFDS data directory.")


def run(args: argparse.Namespace) -> int:
  """Prints every check; returns 1 if any found a problem."""
  print("wt5 doctor: Python %s at %s" % (sys.version.split()[0], sys.prefix))
  results = metadata_checks()
  for r in results:
    print(format_result(r))
  critical = {"TFDS distributions", "pkg_resources"}
  needed_ok = all(r.ok for r in results if r.name in critical or
                  r.name.startswith(("tensorflow ", "t5 ", "mesh-tensorflow ",
                                     "protobuf")))
  later = import_checks(needed_ok, args.data_dir, os.environ)
  for r in later:
    print(format_result(r))
  results += later
  bad = [r for r in results if not r.ok]
  print("%d problem(s) found." % len(bad) if bad else "Everything checked is OK.")
  return 1 if bad else 0
