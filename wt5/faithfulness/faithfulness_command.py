"""`wt5 faithfulness`: are a model's explanations faithful?

    wt5 faithfulness --model_dir runs/movies --export exports/movies [--step 600]

scores the extractive rationales with ERASER's comprehensiveness,
sufficiency and AOPC (`wt5.faithfulness.eraser`); with `--counterfactual`,
the abstractive explanations with the counterfactual test instead
(`wt5.faithfulness.counterfactual`).
"""

import argparse
import sys

from wt5 import cli_options
from wt5.faithfulness import counterfactual
from wt5.faithfulness import erase
from wt5.faithfulness import eraser
from wt5.faithfulness import insertions
from wt5.formats import eval_files
from wt5.formats.export import ExportError
from wt5.formats.model_dir import ModelDirError
from wt5.pytorch import model as model_lib


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 faithfulness`."""
  for option in (cli_options.MODEL_DIR, cli_options.EXPORT, cli_options.SPLIT):
    option.add(parser)
  cli_options.STEP.add(parser, help="Checkpoint step (repeatable; default "
                       "the newest).")
  cli_options.TASK.add(parser, help="Task (repeatable; default every "
                       "extractive task, or with --counterfactual every "
                       "abstractive one).")
  cli_options.BATCH_SIZE.add(parser, help="Inputs per forward pass (memory "
                             "is bounded by this times the number of "
                             "labels).")
  cli_options.SEED.add(parser, help="Seed of the random rationales, the "
                       "tie-breaking and the bootstrap.")
  cli_options.BOOTSTRAP.add(parser)
  parser.add_argument("--labels", default=None,
                      help="Comma-separated label set (default: the labels "
                      "of the split's targets).")
  parser.add_argument("--limit", type=int, default=None,
                      help="Score only the first N examples of each task.")
  cli_options.VOCAB_MODEL.add(parser)
  cli_options.NO_PROGRESS.add(parser)
  parser.add_argument("--counterfactual", action="store_true",
                      help="The counterfactual test of abstractive "
                      "explanations (wt5.faithfulness.counterfactual) "
                      "instead of ERASER's scores.")
  parser.add_argument("--insertions", type=int, default=4,
                      help="With --counterfactual: words inserted per example.")
  parser.add_argument("--field", action="append", default=None,
                      help="With --counterfactual: a text field to insert "
                      "into (repeatable; default hypothesis, premise, "
                      "question).")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 faithfulness`."""
  labels = [l.strip() for l in args.labels.split(",")] if args.labels else None
  try:
    if args.counterfactual:
      counterfactual.counterfactual(
          args.model_dir, args.export_dir, args.split, args.step, args.task,
          args.batch_size, args.seed, args.bootstrap, args.insertions,
          args.field or insertions.DEFAULT_FIELDS, args.vocab_model,
          args.limit, progress=not args.no_progress)
      return 0
    eraser.faithfulness(args.model_dir, args.export_dir, args.split, args.step,
                 args.task, args.batch_size, args.seed, args.bootstrap,
                 labels, args.vocab_model, args.limit,
                 progress=not args.no_progress)
  except (ExportError, ModelDirError, model_lib.ModelError,
          erase.PassageError, eval_files.EvalFileError,
          insertions.FieldError) as e:
    print("wt5 faithfulness: %s" % e, file=sys.stderr)
    return 2
  return 0
