"""`wt5 score`: re-scores a t5_mesh_transformer eval directory offline.

Scores every task and checkpoint of the directory (`wt5.scoring.eval_dir`),
prints them as a table and writes `scores.csv`, `scores.json` and one
`<task>.png` plot per task (`wt5.scoring.output`). A file that cannot be read
or parsed is reported and everything else is still scored; the exit status
is then 1.

    $ wt5 score /tmp/model/validation_eval
    task                        step  metric                 value
    esnli_v010                   100  accuracy               33.3333
    ...
"""

import argparse
import os
import sys

from wt5 import cli_options
from wt5.formats import eval_files
from wt5.scoring import eval_dir as eval_dir_lib
from wt5.scoring import metric_fns as metric_fns_lib
from wt5.scoring import output



def add_arguments(parser: argparse.ArgumentParser) -> None:
  """Adds the `wt5 score` arguments to `parser`."""
  parser.add_argument(
      "eval_dir",
      help="a t5_mesh_transformer eval directory, <model_dir>/<split>_eval, "
      "holding <task>_targets and <task>_<step>_predictions files")
  parser.add_argument(
      "--output_dir", default=None,
      help="where to write scores.csv, scores.json and <task>.png "
      "(default: eval_dir)")
  cli_options.TASK.add(
      parser, help="score only this task (repeatable; default: every task "
      "found)")
  cli_options.STEP.add(
      parser, help="score only this checkpoint step (repeatable; default: "
      "all)")
  parser.add_argument(
      "--metric", action="append", default=[], metavar="DOTTED.PATH",
      help="a metric function fn(targets, predictions) -> dict, such as "
      "wt5.metrics.esnli_metric, used instead of the registered ones for "
      "every task (repeatable); needed for tasks not in the registry")
  parser.add_argument(
      "--task_module", action="append", default=[], metavar="MODULE",
      help="a module to import that registers tasks, in addition to "
      "wt5.tasks (repeatable)")
  parser.add_argument(
      "--line_format", choices=eval_files.LINE_FORMATS, default="auto",
      help="how to read lines: Python literals, plain text, or auto "
      "(detected per task from its targets file)")
  parser.add_argument(
      "--no_eraser", action="store_true",
      help="do not add the ERASER rationale metrics for extractive tasks")
  parser.add_argument(
      "--gated", action="store_true",
      help="also compute the accuracy-gated explanation scores "
      "(wt5.scoring.gated: *_correct_pred, *_correct_normalized)")
  parser.add_argument(
      "--no_plot", action="store_true", help="do not draw the PNG plots")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 score`; returns 0, or 1 if anything could not be scored."""
  try:
    metric_fns = metric_fns_lib.resolve_metric_fns(args.metric)
  except eval_files.EvalFileError as e:
    print("error: %s" % e, file=sys.stderr)
    return 1
  report = eval_dir_lib.score_eval_dir(
      args.eval_dir, tasks=args.task, steps=args.step, metric_fns=metric_fns,
      task_modules=list(eval_dir_lib.DEFAULT_TASK_MODULES) + list(args.task_module),
      line_format=args.line_format, eraser=not args.no_eraser,
      gated=args.gated)
  for note in report.notes:
    print("note: %s" % note, file=sys.stderr)
  if report.scores:
    sys.stdout.write(output.format_table(report.scores))
  output_dir = args.output_dir or args.eval_dir
  if report.scores or os.path.isdir(args.eval_dir):
    for path in output.write_outputs(report.scores, output_dir,
                              plot=not args.no_plot):
      print("wrote %s" % path)
  for problem in report.problems:
    print("error: %s" % problem, file=sys.stderr)
  if report.problems:
    print("%d problem(s); everything else was scored" % len(report.problems),
          file=sys.stderr)
    return 1
  return 0
