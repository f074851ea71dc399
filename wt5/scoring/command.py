"""`wt5 score`: re-scores a t5_mesh_transformer eval directory offline.

An evaluation leaves `<task>_targets` and `<task>_<step>_predictions` files
in `<model_dir>/<split>_eval/` (the layout and line format are described in
`wt5.scoring.eval_files`, which reads them).

`score_eval_dir` parses these files without evaluating code, recomputes
each task's metric functions (the ones registered in seqio, or the ones named
with `--metric`) plus, for extractive tasks, the ERASER rationale metrics, and `run` prints the scores as a table
and writes `scores.csv`, `scores.json` and one `<task>.png` plot per task.
A file that cannot be read or parsed is reported and everything else is still
scored; the exit status is then 1.

Outputs (in `--output_dir`, default the eval directory):

    scores.csv    columns task,step,metric,value, one row per metric value
    scores.json   {task: {step: {metric: value}}}, steps as decimal strings,
                  NaN and infinities as null
    <task>.png    one subplot per metric, the value against the step

    $ wt5 score /tmp/model/validation_eval
    task                        step  metric                 value
    esnli_v010                   100  accuracy               33.3333
    ...
"""

import argparse
import copy
import csv
import dataclasses
import importlib
import io
import json
import math
import os
import re
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from wt5.scoring import eval_files
from wt5.scoring import gated as gated_scores
from wt5.scoring.eval_files import (EvalFiles, LINE_FORMATS,
                            detect_line_format, find_eval_files, parse_lines,
                            read_lines)

MetricFn = Callable[[Sequence[Any], Sequence[Any]], Mapping[str, Any]]

DEFAULT_TASK_MODULES = ("wt5.tasks",)
ERASER_METRIC = "wt5.metrics.eraser_rationale_metrics"
GATED_METRIC = "wt5.scoring.gated.gated_scores"


class ScoringError(eval_files.EvalFileError):
  """A metric function that cannot be imported, called or used."""


@dataclasses.dataclass(frozen=True)
class Score:
  """One metric value of one task at one checkpoint step."""
  task: str
  step: int
  metric: str
  value: float


@dataclasses.dataclass
class Report:
  """What `score_eval_dir` computed (`scores`) and what it could not."""
  scores: List[Score] = dataclasses.field(default_factory=list)
  problems: List[str] = dataclasses.field(default_factory=list)
  notes: List[str] = dataclasses.field(default_factory=list)


# ---------------------------------------------------------------------------
# Metric functions.


def function_name(fn: Callable[..., Any]) -> str:
  """A readable name: "esnli_metric" for the function or a partial of it."""
  while hasattr(fn, "func"):
    fn = fn.func
  module = getattr(fn, "__module__", None)
  name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
  if not name:
    return repr(fn)
  return "%s.%s" % (module, name) if module else name


def _import_longest_module(parts: Sequence[str], dotted: str
                           ) -> Tuple[Any, List[str]]:
  """Imports the longest importable module prefix of `parts`.

  Returns the module and the remaining attribute names:
  ["t5", "evaluation", "metrics", "accuracy"] -> (t5.evaluation.metrics,
  ["accuracy"]).
  """
  for i in range(len(parts) - 1, 0, -1):
    module_name = ".".join(parts[:i])
    try:
      return importlib.import_module(module_name), list(parts[i:])
    except ImportError as e:
      absent = (isinstance(e, ModuleNotFoundError) and e.name is not None and
                module_name.startswith(e.name))
      if i > 1 and absent:
        continue
      raise ScoringError("cannot import %s (for %r): %s" %
                         (module_name, dotted, e)) from e
  raise ScoringError("%r is not a dotted path" % dotted)


def import_object(dotted: str) -> Any:
  """The object at an importable dotted path.

  Example: import_object("t5.evaluation.metrics.accuracy") is
  t5.evaluation.metrics.accuracy; "package.module:name" is accepted too.
  """
  module_name, colon, attr_path = dotted.partition(":")
  parts = module_name.split(".")
  if (not all(parts) or (colon and not attr_path) or
      (not colon and len(parts) < 2)):
    raise ScoringError("%r is not a dotted path such as "
                       "'wt5.metrics.esnli_metric'" % dotted)
  if colon:
    try:
      obj = importlib.import_module(module_name)
    except ImportError as e:
      raise ScoringError("cannot import %s (for %r): %s" %
                         (module_name, dotted, e)) from e
    attrs = attr_path.split(".")
  else:
    obj, attrs = _import_longest_module(parts, dotted)
  for attr in attrs:
    if not hasattr(obj, attr):
      raise ScoringError("%s has no attribute %r (for %r)" %
                         (getattr(obj, "__name__", repr(obj)), attr, dotted))
    obj = getattr(obj, attr)
  return obj


def resolve_metric_fns(dotted_paths: Sequence[str]) -> List[MetricFn]:
  """The callables named by `--metric` arguments, in order."""
  fns = []
  for dotted in dotted_paths:
    fn = import_object(dotted)
    if not callable(fn):
      raise ScoringError("%r is not callable" % dotted)
    fns.append(fn)
  return fns


def import_task_modules(module_names: Sequence[str]) -> None:
  """Imports the modules that register tasks (e.g. "wt5.tasks")."""
  for name in module_names:
    try:
      importlib.import_module(name)
    except ImportError as e:
      raise ScoringError("cannot import task module %s: %s" % (name, e)) from e


def registered_metric_fns(task_name: str) -> Tuple[List[MetricFn], List[str]]:
  """The registered task's (targets, predictions) metric functions.

  Returns the functions and the names of the ones skipped because they need
  something eval files do not hold (log-likelihood scores, aux values).
  Raises ScoringError if `task_name` is not a registered seqio task.
  """
  import seqio  # pylint: disable=g-import-not-at-top
  try:
    task = seqio.TaskRegistry.get(task_name)
  except ValueError as e:
    raise ScoringError(
        "task %s is not registered in seqio; import the module that "
        "registers it with --task_module, or name its metric functions with "
        "--metric" % task_name) from e
  skipped = [function_name(fn) for fn in
             list(task.score_metric_fns) +
             list(task.predict_with_aux_metric_fns)]
  return list(task.predict_metric_fns), skipped


def is_extractive(values: Sequence[Any]) -> bool:
  """Whether values come from `wt5.postprocessors.extractive_explanations`.

  Example: [{"label": "positive", "overlap_spans": [(3, 5)],
  "span_array": [0, 0, 0, 1, 1], "explanations": ["great cast"]}] -> True;
  [{"label": "positive", "explanations": []}] -> False; [] -> False.
  """
  return bool(values) and all(
      isinstance(v, dict) and "span_array" in v and "overlap_spans" in v
      for v in values)


def compute_metrics(targets: Sequence[Any], predictions: Sequence[Any],
                    metric_fns: Sequence[MetricFn]) -> Dict[str, float]:
  """Calls each metric function on (targets, predictions) and merges the dicts.

  Every function gets its own copies, so one that modifies its arguments
  cannot change what the next one sees. Example, with
  t5.evaluation.metrics.accuracy: ([0, 1], [0, 0]) -> {"accuracy": 50.0}.
  Raises ScoringError naming the function if one fails, returns a value that
  is not a number, or returns a metric name another function returned.
  """
  results: Dict[str, float] = {}
  producer: Dict[str, str] = {}
  for fn in metric_fns:
    name = function_name(fn)
    try:
      result = fn(copy.deepcopy(list(targets)), copy.deepcopy(list(predictions)))
    except Exception as e:  # pylint: disable=broad-except
      raise ScoringError("metric %s failed: %s: %s" %
                         (name, type(e).__name__, e)) from e
    if not isinstance(result, Mapping):
      raise ScoringError("metric %s returned %s, not a dict of metric values" %
                         (name, type(result).__name__))
    for key, value in result.items():
      key = str(key)
      try:
        number = float(value)
      except (TypeError, ValueError) as e:
        raise ScoringError("metric %s returned a value for %r that is not a "
                           "number: %s" % (name, key, eval_files.snippet(repr(value)))) from e
      if key in results:
        raise ScoringError("metrics %s and %s both return %r" %
                           (producer[key], name, key))
      results[key] = number
      producer[key] = name
  return results


# ---------------------------------------------------------------------------
# Scoring a directory.


def _task_metric_fns(task: str, explicit: Optional[Sequence[MetricFn]],
                     report: Report) -> Optional[List[MetricFn]]:
  """The metric functions for `task`, or None after reporting why there are none."""
  if explicit:
    return list(explicit)
  try:
    fns, skipped = registered_metric_fns(task)
  except eval_files.EvalFileError as e:
    report.problems.append("%s: %s" % (task, e))
    return None
  for name in skipped:
    report.notes.append("%s: skipped metric %s: it needs log-likelihood "
                        "scores or aux values, which eval files do not hold" %
                        (task, name))
  return fns


def score_task_files(files: EvalFiles,
                     metric_fns: Optional[Sequence[MetricFn]],
                     report: Report,
                     steps: Optional[Sequence[int]] = None,
                     line_format: str = "auto",
                     eraser_fn: Optional[MetricFn] = None,
                     gated_fn: Optional[MetricFn] = None) -> None:
  """Scores every checkpoint of one task, adding scores and problems to `report`.

  `metric_fns` None means the task's registered ones. `eraser_fn`, if given,
  is added for extractive tasks, `gated_fn`, if given, for tasks whose
  targets are WT5 answers (dicts with a label and explanations).
  """
  task = files.task
  if files.targets is None:
    directory = os.path.dirname(next(iter(files.predictions.values())))
    report.problems.append(
        "%s: targets file %s is missing; %d predictions file(s) not scored" %
        (task, eval_files.task_file(directory, task, "targets"),
         len(files.predictions)))
    return
  if not files.predictions:
    report.problems.append(
        "%s: no predictions files (%s_<step>_predictions) beside %s" %
        (task, task, files.targets))
    return
  wanted = sorted(steps) if steps else sorted(files.predictions)
  for step in wanted:
    if step not in files.predictions:
      report.problems.append("%s: step %d: predictions file %s is missing" % (
          task, step,
          eval_files.task_file(os.path.dirname(files.targets), task, step)))
  present = [s for s in wanted if s in files.predictions]
  if not present:
    return
  try:
    target_lines = read_lines(files.targets)
    fmt = (detect_line_format(target_lines) if line_format == "auto"
           else line_format)
    targets = parse_lines(target_lines, files.targets, fmt)
  except eval_files.EvalFileError as e:
    report.problems.append("%s: %s" % (task, e))
    return
  fns = _task_metric_fns(task, metric_fns, report)
  if fns is None:
    return
  if eraser_fn is not None and is_extractive(targets):
    fns = fns + [eraser_fn]
  if gated_fn is not None and gated_scores.is_explained(targets):
    fns = fns + [gated_fn]
  if not fns:
    report.problems.append(
        "%s: no metric functions to compute (the task is registered without "
        "metrics); name some with --metric" % task)
    return
  for step in present:
    path = files.predictions[step]
    try:
      predictions = parse_lines(read_lines(path), path, fmt)
      if len(predictions) != len(targets):
        raise ScoringError(
            "%s has %d line(s) but %s has %d; the predictions file is "
            "incomplete or from another evaluation" %
            (files.targets, len(targets), path, len(predictions)))
      values = compute_metrics(targets, predictions, fns)
    except eval_files.EvalFileError as e:
      report.problems.append("%s: step %d: %s" % (task, step, e))
      continue
    report.scores.extend(Score(task, step, k, v) for k, v in values.items())


def score_eval_dir(eval_dir: str,
                   tasks: Optional[Sequence[str]] = None,
                   steps: Optional[Sequence[int]] = None,
                   metric_fns: Optional[Sequence[MetricFn]] = None,
                   task_modules: Sequence[str] = DEFAULT_TASK_MODULES,
                   line_format: str = "auto",
                   eraser: bool = True,
                   gated: bool = False) -> Report:
  """Recomputes the metrics of every task and checkpoint in `eval_dir`.

  Args:
    eval_dir: a `<model_dir>/<split>_eval` directory.
    tasks: only these tasks (each must have files there); default all.
    steps: only these checkpoint steps; default all found.
    metric_fns: score every task with these instead of its registered ones
      (then no task module is imported).
    task_modules: modules to import before looking tasks up in seqio.
    line_format: "auto", "literal" or "text" (see `detect_line_format`).
    eraser: also compute `wt5.metrics.eraser_rationale_metrics` for tasks
      whose targets come from the extractive postprocessor.
    gated: also compute `wt5.scoring.gated.gated_scores` (explanation scores
      counted only where the label is right) for tasks with WT5 answers.

  Returns:
    A Report: scores sorted by task then step, and the problems met.
  """
  if line_format not in LINE_FORMATS:
    raise ValueError("line_format must be one of %s, got %r" %
                     (LINE_FORMATS, line_format))
  report = Report()
  eraser_fn = import_object(ERASER_METRIC) if eraser else None
  gated_fn = import_object(GATED_METRIC) if gated else None
  try:
    found = find_eval_files(eval_dir)
  except eval_files.EvalFileError as e:
    report.problems.append(str(e))
    return report
  names = list(tasks) if tasks else list(found)
  if not names:
    report.problems.append(
        "%s: no <task>_targets or <task>_<step>_predictions files" % eval_dir)
    return report
  if not metric_fns:
    try:
      import_task_modules(task_modules)
    except eval_files.EvalFileError as e:
      report.problems.append(str(e))
      return report
  for name in names:
    if name not in found:
      report.problems.append("%s: no files for this task in %s" %
                             (name, eval_dir))
      continue
    score_task_files(found[name], metric_fns, report, steps=steps,
                     line_format=line_format, eraser_fn=eraser_fn,
                     gated_fn=gated_fn)
  report.scores.sort(key=lambda s: (s.task, s.step))
  return report


# ---------------------------------------------------------------------------
# Writing the results.


def format_value(value: float) -> str:
  """A metric value for the table and CSV: 66.6667 -> "66.6667", 2.0 -> "2"."""
  return "%.6g" % value


def format_table(scores: Sequence[Score]) -> str:
  """A fixed-width table of the scores, one row per (task, step, metric).

  Example: [Score("t", 100, "accuracy", 50.0)] ->
      task  step  metric    value
      t      100  accuracy  50
  """
  header = ("task", "step", "metric", "value")
  rows = [(s.task, str(s.step), s.metric, format_value(s.value))
          for s in scores]
  widths = [max(len(r[i]) for r in [header] + rows) for i in range(4)]
  lines = []
  for row in [header] + rows:
    lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]),
                            row[2].ljust(widths[2]), row[3]]).rstrip())
  return "\n".join(lines) + "\n"


def scores_to_csv(scores: Sequence[Score]) -> str:
  """CSV text with the columns task,step,metric,value (values as repr floats)."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow(["task", "step", "metric", "value"])
  for s in scores:
    writer.writerow([s.task, s.step, s.metric, repr(s.value)])
  return out.getvalue()


def scores_to_nested(scores: Sequence[Score]
                     ) -> Dict[str, Dict[str, Dict[str, Optional[float]]]]:
  """{task: {step (a decimal string): {metric: value}}}, the JSON layout.

  Steps are strings because JSON keys are; NaN and infinities become None.
  Example: [Score("t", 100, "accuracy", 50.0)] ->
  {"t": {"100": {"accuracy": 50.0}}}.
  """
  nested: Dict[str, Dict[str, Dict[str, Optional[float]]]] = {}
  for s in scores:
    value = s.value if math.isfinite(s.value) else None
    nested.setdefault(s.task, {}).setdefault(str(s.step), {})[s.metric] = value
  return nested


def plot_file_name(task: str) -> str:
  """The PNG name for a task: its name with unsafe characters replaced."""
  return re.sub(r"[^A-Za-z0-9_.-]", "_", task) + ".png"


def plot_task(task: str, scores: Sequence[Score], path: str) -> None:
  """Draws each metric of `task` against the step, one subplot per metric."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  metrics = list(dict.fromkeys(s.metric for s in scores))
  ncols = min(3, len(metrics))
  nrows = (len(metrics) + ncols - 1) // ncols
  fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 3.2 * nrows),
                           squeeze=False, layout="constrained")
  try:
    for i, metric in enumerate(metrics):
      ax = axes[i // ncols][i % ncols]
      points = sorted((s.step, s.value) for s in scores if s.metric == metric)
      ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
      ax.set_title(metric)
      ax.set_xlabel("step")
      ax.grid(True, alpha=0.3)
    for j in range(len(metrics), nrows * ncols):
      axes[j // ncols][j % ncols].axis("off")
    fig.suptitle(task)
    fig.savefig(path, format="png")
  finally:
    plt.close(fig)


def write_outputs(scores: Sequence[Score], output_dir: str,
                  plot: bool = True) -> List[str]:
  """Writes scores.csv, scores.json and (if `plot`) <task>.png; returns paths."""
  os.makedirs(output_dir, exist_ok=True)
  written = []
  csv_path = os.path.join(output_dir, "scores.csv")
  with open(csv_path, "w", encoding="utf-8", newline="") as f:
    f.write(scores_to_csv(scores))
  written.append(csv_path)
  json_path = os.path.join(output_dir, "scores.json")
  with open(json_path, "w", encoding="utf-8") as f:
    json.dump(scores_to_nested(scores), f, indent=2, allow_nan=False)
    f.write("\n")
  written.append(json_path)
  if plot:
    by_task: Dict[str, List[Score]] = {}
    for s in scores:
      by_task.setdefault(s.task, []).append(s)
    for task, task_scores in by_task.items():
      png_path = os.path.join(output_dir, plot_file_name(task))
      plot_task(task, task_scores, png_path)
      written.append(png_path)
  return written


# ---------------------------------------------------------------------------
# Command line.


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
  parser.add_argument(
      "--task", action="append", default=[], metavar="NAME",
      help="score only this task (repeatable; default: every task found)")
  parser.add_argument(
      "--step", action="append", type=int, default=[], metavar="N",
      help="score only this checkpoint step (repeatable; default: all)")
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
      "--line_format", choices=LINE_FORMATS, default="auto",
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
    metric_fns = resolve_metric_fns(args.metric)
  except eval_files.EvalFileError as e:
    print("error: %s" % e, file=sys.stderr)
    return 1
  report = score_eval_dir(
      args.eval_dir, tasks=args.task, steps=args.step, metric_fns=metric_fns,
      task_modules=list(DEFAULT_TASK_MODULES) + list(args.task_module),
      line_format=args.line_format, eraser=not args.no_eraser,
      gated=args.gated)
  for note in report.notes:
    print("note: %s" % note, file=sys.stderr)
  if report.scores:
    sys.stdout.write(format_table(report.scores))
  output_dir = args.output_dir or args.eval_dir
  if report.scores or os.path.isdir(args.eval_dir):
    for path in write_outputs(report.scores, output_dir,
                              plot=not args.no_plot):
      print("wrote %s" % path)
  for problem in report.problems:
    print("error: %s" % problem, file=sys.stderr)
  if report.problems:
    print("%d problem(s); everything else was scored" % len(report.problems),
          file=sys.stderr)
    return 1
  return 0
