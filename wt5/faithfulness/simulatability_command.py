"""`wt5 simulatability`: the command line of `wt5.faithfulness.simulatability`.

    wt5 simulatability --model_dir runs/esnli --export exports/esnli \\
        --simulator tiny --steps 200
"""

import argparse
import sys

from wt5 import cli_options
from wt5.faithfulness import simulatability
from wt5.formats import eval_files
from wt5.formats.export import ExportError
from wt5.formats.model_dir import ModelDirError
from wt5.pytorch import model as model_lib


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 simulatability`."""
  cli_options.MODEL_DIR.add(
      parser, help="The task model's directory, with `wt5 evaluate`'s "
      "predictions of both splits.")
  cli_options.EXPORT.add(
      parser, help="The `wt5 export` directory of both splits (each "
      "exported per task).")
  cli_options.ONE_STEP.add(
      parser, help="The task model's step (default: the newest with "
      "predictions of --split).")
  parser.add_argument("--simulator", required=True,
                      help="The simulators' model: a size (%s) or a "
                      "checkpoint directory." % ", ".join(model_lib.PRESETS))
  parser.add_argument("--steps", type=int, required=True,
                      help="Training steps of each simulator.")
  cli_options.SPLIT.add(parser,
                        help="The split the simulators are scored on.")
  parser.add_argument("--train_split", default="train",
                      help="The split the simulators are trained on.")
  cli_options.TASK.add(
      parser, help="Abstractive task (repeatable; default all).")
  cli_options.BATCH_SIZE.add(
      parser, default=16, help="Packed rows per training step; inputs per "
      "scoring batch.")
  parser.add_argument("--learning_rate", type=float, default=1e-3)
  cli_options.SEED.add(parser,
                       help="Seed of the simulators and the bootstrap.")
  cli_options.BOOTSTRAP.add(parser)
  parser.add_argument("--output_dir", default=None,
                      help="Where the simulator exports and models go "
                      "(default <model_dir>/simulators).")
  cli_options.VOCAB_MODEL.add(parser)
  cli_options.NO_PROGRESS.add(parser)


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 simulatability`."""
  try:
    simulatability.simulatability(args.model_dir, args.export_dir, args.simulator,
                   args.steps, args.step, args.split, args.train_split,
                   args.task, args.batch_size, args.learning_rate, args.seed,
                   args.bootstrap, args.output_dir, args.vocab_model,
                   progress=not args.no_progress)
  except (ExportError, ModelDirError, model_lib.ModelError,
          eval_files.EvalFileError) as e:
    print("wt5 simulatability: %s" % e, file=sys.stderr)
    return 2
  return 0
