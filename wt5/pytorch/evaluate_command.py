"""`wt5 evaluate`: the command line of `wt5.pytorch.evaluate`.

    wt5 evaluate --model_dir runs/x --export exports/x [--step 200] [--task T]
"""

import argparse
import sys

from wt5 import cli_options
from wt5.formats import eval_files
from wt5.formats.export import ExportError
from wt5.formats.model_dir import ModelDir, ModelDirError
from wt5.pytorch.evaluate import evaluate, postprocess_decoded


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 evaluate`."""
  for option in (cli_options.MODEL_DIR, cli_options.EXPORT, cli_options.SPLIT,
                 cli_options.STEP, cli_options.TASK, cli_options.BATCH_SIZE,
                 cli_options.VOCAB_MODEL):
    option.add(parser)
  parser.add_argument("--from_decoded", action="store_true",
                      help="Postprocess `<task>_<step>_decoded` files written "
                      "where a postprocessor was not importable.")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 evaluate`."""
  try:
    if args.from_decoded:
      for name in postprocess_decoded(args.model_dir, args.export_dir,
                                      args.split):
        print("wrote %s" % name)
      return 0
    evaluate(args.model_dir, args.export_dir, args.split, args.step,
             args.task, args.batch_size, args.vocab_model)
  except (ExportError, ModelDirError, eval_files.EvalFileError) as e:
    print("wt5 evaluate: %s" % e, file=sys.stderr)
    return 2
  eval_dir = ModelDir(args.model_dir).eval_dir(args.split)
  print("Wrote %s; re-score with `wt5 score %s`" % (eval_dir, eval_dir))
  return 0
