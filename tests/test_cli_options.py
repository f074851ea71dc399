"""The shared options of the `wt5` subcommands are declared once (`wt5.cli_options`)."""

import argparse
import ast
import dataclasses
import os
from typing import List, Optional

import pytest

from wt5 import cli_options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = (cli_options.MODEL_DIR, cli_options.EXPORT, cli_options.SPLIT,
          cli_options.STEP, cli_options.TASK, cli_options.BATCH_SIZE,
          cli_options.VOCAB_MODEL)
MORE = (cli_options.ONE_STEP, cli_options.DATA_DIR, cli_options.SEED,
        cli_options.BOOTSTRAP, cli_options.NO_PROGRESS)


def declared_flags(package_dir: str) -> List[str]:
  """"<file>:<line>: <flag>" for every `add_argument("--x", ...)` literal."""
  found = []
  for directory, subdirs, files in os.walk(package_dir):
    subdirs.sort()
    for name in sorted(files):
      if not name.endswith(".py"):
        continue
      path = os.path.join(directory, name)
      with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
      for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and
            isinstance(node.func, ast.Attribute) and
            node.func.attr == "add_argument"):
          for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
              found.append("%s:%d: %s" % (
                  os.path.relpath(path, ROOT), node.lineno, arg.value))
  return found


def test_no_subcommand_declares_a_shared_option_itself():
  shared = {o.flag for o in SHARED + MORE}
  assert [d for d in declared_flags(os.path.join(ROOT, "wt5"))
          if d.rpartition(": ")[2] in shared] == []


def test_a_shared_option_declared_again_is_found(tmp_path):
  (tmp_path / "command.py").write_text(
      "def add_arguments(parser):\n"
      "  parser.add_argument('--seed', type=int)\n"
      "  parser.add_argument(\n      '--model_dir', required=True)\n")
  found = declared_flags(str(tmp_path))
  assert [f.rpartition(os.sep)[2] for f in found] == [
      "command.py:2: --seed", "command.py:3: --model_dir"]


def test_a_shared_option_keeps_its_settings_and_takes_changes():
  parser = argparse.ArgumentParser()
  for option in SHARED[:5]:
    option.add(parser)
  cli_options.BATCH_SIZE.add(parser, default=8)
  cli_options.VOCAB_MODEL.add(parser)
  args = parser.parse_args(["--model_dir", "m", "--export", "e", "--step",
                            "5", "--step", "10", "--task", "t"])
  assert vars(args) == {"model_dir": "m", "export_dir": "e",
                        "split": "validation", "step": [5, 10], "task": ["t"],
                        "batch_size": 8, "vocab_model": None}
  assert [o.dest for o in SHARED] == [
      "model_dir", "export_dir", "split", "step", "task", "batch_size",
      "vocab_model"]


@dataclasses.dataclass
class Example:
  export_dir: str = cli_options.option_field(option=cli_options.EXPORT)
  model: str = cli_options.option_field("small", "A size.")
  steps: int = cli_options.option_field(1000)
  rate: float = cli_options.option_field(1e-3)
  accum: Optional[int] = cli_options.option_field(None)
  pack: bool = cli_options.option_field(True)
  bf16: Optional[bool] = cli_options.option_field(None)
  resume: bool = cli_options.option_field(False)
  batch_size: int = cli_options.option_field(
      8, "Rows.", option=cli_options.BATCH_SIZE)
  split: str = cli_options.option_field("train", option=cli_options.SPLIT)


def example_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser()
  cli_options.add_dataclass_options(parser, Example)
  return parser


def test_an_options_dataclass_is_its_parser():
  parser = example_parser()
  assert cli_options.from_args(Example, parser.parse_args(
      ["--export", "e"])) == Example("e")
  args = parser.parse_args(
      ["--export", "e", "--model", "base", "--steps", "7", "--rate", "0.5",
       "--accum", "2", "--no-pack", "--bf16", "--resume", "--batch_size", "3",
       "--split", "validation"])
  assert cli_options.from_args(Example, args) == Example(
      "e", "base", 7, 0.5, 2, False, True, True, 3, "validation")
  helps = {a.dest: a.help for a in parser._actions}
  assert (helps["model"], helps["batch_size"], helps["export_dir"]) == (
      "A size.", "Rows.", cli_options.EXPORT.settings["help"])
  with pytest.raises(SystemExit):
    parser.parse_args([])  # --export is required.


def test_a_shared_option_must_fill_its_field():
  @dataclasses.dataclass
  class Wrong:
    export: str = cli_options.option_field(option=cli_options.EXPORT)

  with pytest.raises(ValueError, match=r"Wrong.export: the option --export "
                     r"fills 'export_dir'"):
    cli_options.add_dataclass_options(argparse.ArgumentParser(), Wrong)


def test_wt5_train_parses_into_train_options():
  from wt5 import cli
  from wt5.pytorch import train as train_lib
  args = cli.build_parser("train").parse_args(
      ["train", "--export", "e", "--model_dir", "m", "--no-pack", "--bf16",
       "--fsdp", "--gpu_memory_gb", "40", "--tokens_per_batch", "65536"])
  assert cli_options.from_args(train_lib.TrainOptions, args) == (
      train_lib.TrainOptions("e", "m", pack=False, bf16=True, fsdp=True,
                             gpu_memory_gb=40.0, tokens_per_batch=65536))
  defaults = cli.build_parser("train").parse_args(["train"])
  assert cli_options.from_args(train_lib.TrainOptions, defaults) == (
      train_lib.TrainOptions(None, None))
