"""`wt5 demo`: the command line of `wt5.demo.pipeline`.

    wt5 demo [--output_dir wt5_demo] [--mixtures M1,M2] [--steps 600] [--keep | --fresh]
"""

import argparse
import dataclasses
import sys

from wt5 import cli_options
from wt5.demo.pipeline import (DEFAULT_MIXTURES, DEFAULT_MODEL_SIZE,
                               DEFAULT_OUTPUT_DIR, DEFAULT_STEPS, DemoError,
                               DemoOptions, run_demo)
from wt5.formats import eval_files
from wt5.model_shapes import CPU_SHAPES, SHAPES, ModelShape
from wt5.mtf import binary as mtf_binary


def _positive_int(text: str) -> int:
  value = int(text)
  if value <= 0:
    raise argparse.ArgumentTypeError("must be a positive integer, got %s" %
                                     text)
  return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--output_dir", default=DEFAULT_OUTPUT_DIR,
                      help="Where data, vocabulary, models and logs go "
                      "(default: %(default)s).")
  cli_options.DATA_DIR.add(
      parser, help="The TFDS data directory (default: OUTPUT_DIR/data).")
  parser.add_argument("--mixtures", default=",".join(DEFAULT_MIXTURES),
                      help="Comma-separated WT5 mixtures (or tasks) to "
                      "train, one model each (default: %(default)s).")
  parser.add_argument("--steps", type=_positive_int, default=DEFAULT_STEPS,
                      help="Training steps per mixture (default: "
                      "%(default)s).")
  parser.add_argument("--model_size", choices=CPU_SHAPES,
                      default=DEFAULT_MODEL_SIZE,
                      help="Transformer shape, as in wt5.model_shapes "
                      "(default: %(default)s).")
  for name in ("d_model", "d_ff", "d_kv", "num_heads", "num_layers"):
    parser.add_argument("--" + name, type=_positive_int, default=None,
                        help="Override the preset's %s." % name)
  parser.add_argument("--inputs_length", type=_positive_int,
                      default=mtf_binary.DEFAULT_SEQUENCE_LENGTH["inputs"])
  parser.add_argument("--targets_length", type=_positive_int,
                      default=mtf_binary.DEFAULT_SEQUENCE_LENGTH["targets"])
  parser.add_argument("--tokens_per_batch", type=_positive_int,
                      default=mtf_binary.DEFAULT_TOKENS_PER_BATCH)
  parser.add_argument("--learning_rate", type=float,
                      default=mtf_binary.DEFAULT_LEARNING_RATE)
  parser.add_argument("--checkpoints", type=_positive_int, default=3,
                      help="Checkpoints to save and evaluate per mixture.")
  parser.add_argument("--examples", type=int, default=3,
                      help="Validation examples to show per eval task.")
  group = parser.add_mutually_exclusive_group()
  group.add_argument("--keep", action="store_true",
                     help="Keep existing model directories (resume or "
                     "re-evaluate) instead of training from scratch.")
  group.add_argument("--fresh", action="store_true",
                     help="Start over: rewrite the data and vocabulary too "
                     "(by default they are reused).")


def options_from_args(args: argparse.Namespace) -> DemoOptions:
  """The DemoOptions of parsed `wt5 demo` arguments."""
  shape = dataclasses.asdict(SHAPES[args.model_size])
  for name in shape:
    if getattr(args, name) is not None:
      shape[name] = getattr(args, name)
  mixtures = tuple(m.strip() for m in args.mixtures.split(",") if m.strip())
  if not mixtures:
    raise DemoError("--mixtures names no mixture.")
  return DemoOptions(
      output_dir=args.output_dir, data_dir=args.data_dir, mixtures=mixtures,
      steps=args.steps, model=ModelShape(**shape),
      sequence_length={"inputs": args.inputs_length,
                       "targets": args.targets_length},
      tokens_per_batch=args.tokens_per_batch,
      learning_rate=args.learning_rate, checkpoints=args.checkpoints,
      keep=args.keep, fresh=args.fresh, num_examples=args.examples)


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 demo`; prints a clear error and returns 1 when a step fails."""
  try:
    run_demo(options_from_args(args))
  except (DemoError, mtf_binary.BinaryError, eval_files.EvalFileError) as e:
    sys.stdout.flush()
    sys.stderr.write("\nwt5 demo: error: %s\n" % e)
    return 1
  return 0
