"""Metric functions: finding them, and calling them on targets and predictions.

A metric function takes the postprocessed targets and predictions of a task,
aligned by position, and returns a dict of numbers (seqio's
`predict_metric_fns`). `compute_metrics` is the one place where wt5 calls
them: `wt5 score` (offline, from eval files) and `wt5 evaluate` (PyTorch)
both do, so they print the same numbers for the same files.

    compute_metrics([0, 1], [0, 0], [t5.evaluation.metrics.accuracy])
      -> {"accuracy": 50.0}
"""

import copy
import importlib
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from wt5 import dotted
from wt5.formats import eval_files

MetricFn = Callable[[Sequence[Any], Sequence[Any]], Mapping[str, Any]]


class ScoringError(eval_files.EvalFileError):
  """A metric function that cannot be imported, called or used."""


def resolve_metric_fns(dotted_paths: Sequence[str]) -> List[MetricFn]:
  """The callables named by dotted paths, in order.

  resolve_metric_fns(["wt5.metrics.esnli_metric"]) -> [wt5.metrics.esnli_metric]
  Raises ScoringError for a path that cannot be imported or is not callable.
  """
  fns = []
  for path in dotted_paths:
    try:
      fn = dotted.import_object(path)
    except dotted.DottedNameError as e:
      raise ScoringError(str(e)) from e
    if not callable(fn):
      raise ScoringError("%r is not callable" % path)
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
  import seqio
  try:
    task = seqio.TaskRegistry.get(task_name)
  except ValueError as e:
    raise ScoringError(
        "task %s is not registered in seqio; import the module that "
        "registers it with --task_module, or name its metric functions with "
        "--metric" % task_name) from e
  skipped = [dotted.function_name(fn) for fn in
             list(task.score_metric_fns) +
             list(task.predict_with_aux_metric_fns)]
  return list(task.predict_metric_fns), skipped


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
    name = dotted.function_name(fn)
    try:
      result = fn(copy.deepcopy(list(targets)), copy.deepcopy(list(predictions)))
    except Exception as e:
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
