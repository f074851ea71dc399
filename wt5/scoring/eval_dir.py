"""Scoring an eval directory: every task, every checkpoint, every metric.

An evaluation leaves `<task>_targets` and `<task>_<step>_predictions` files
in `<model_dir>/<split>_eval/` (the layout and line format are described in
`wt5.formats.eval_files`, which reads them). `score_eval_dir` parses these
files without evaluating code and recomputes each task's metric functions
(the ones registered in seqio, or the ones given) plus, for extractive tasks,
the ERASER rationale metrics. A file that cannot be read or parsed is
reported and everything else is still scored.

    score_eval_dir("/tmp/model/validation_eval").scores
      -> [Score("esnli_v010", 100, "accuracy", 33.3333...), ...]
"""

import dataclasses
import os
from typing import List, Optional, Sequence

from wt5 import answers
from wt5 import dotted
from wt5.formats import eval_files
from wt5.scoring import metric_fns as metric_fns_lib
from wt5.formats.eval_files import (EvalFiles, LINE_FORMATS,
                                    detect_line_format, find_eval_files,
                                    parse_lines, read_lines)
from wt5.scoring.metric_fns import MetricFn

DEFAULT_TASK_MODULES = ("wt5.tasks",)
ERASER_METRIC = "wt5.metrics.eraser_rationale_metrics"
GATED_METRIC = "wt5.scoring.gated.gated_scores"


@dataclasses.dataclass(frozen=True)
class Score:
  """One metric value of one task at one checkpoint step."""
  task: str
  step: int
  metric: str
  value: float


@dataclasses.dataclass
class EvalDirScores:
  """What `score_eval_dir` computed (`scores`) and what it could not."""
  scores: List[Score] = dataclasses.field(default_factory=list)
  problems: List[str] = dataclasses.field(default_factory=list)
  notes: List[str] = dataclasses.field(default_factory=list)



def _task_metric_fns(task: str, explicit: Optional[Sequence[MetricFn]],
                     report: EvalDirScores) -> Optional[List[MetricFn]]:
  """The metric functions for `task`, or None after reporting why there are none."""
  if explicit:
    return list(explicit)
  try:
    fns, skipped = metric_fns_lib.registered_metric_fns(task)
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
                     report: EvalDirScores,
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
  if eraser_fn is not None and answers.is_extractive(targets):
    fns = fns + [eraser_fn]
  if gated_fn is not None and answers.is_explained(targets):
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
        raise metric_fns_lib.ScoringError(
            "%s has %d line(s) but %s has %d; the predictions file is "
            "incomplete or from another evaluation" %
            (files.targets, len(targets), path, len(predictions)))
      values = metric_fns_lib.compute_metrics(targets, predictions, fns)
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
                   gated: bool = False) -> EvalDirScores:
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
    An EvalDirScores: scores sorted by task then step, and the problems met.
  """
  if line_format not in LINE_FORMATS:
    raise ValueError("line_format must be one of %s, got %r" %
                     (LINE_FORMATS, line_format))
  report = EvalDirScores()
  eraser_fn = dotted.import_object(ERASER_METRIC) if eraser else None
  gated_fn = dotted.import_object(GATED_METRIC) if gated else None
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
      metric_fns_lib.import_task_modules(task_modules)
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
