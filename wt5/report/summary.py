"""The summary of one or more scored eval directories: mean ± sd per cell, curves.

Runs are eval directories of the same experiment (for instance one per
seed). Every (task, step, metric) cell holds the values of the runs that have
it; the page shows the value itself for one run, and the mean ± the sample
standard deviation (n - 1 in the denominator) for several.

    aggregate([[Score("t", 100, "accuracy", 50.0)],
               [Score("t", 100, "accuracy", 70.0)]])
      -> {"t": {100: {"accuracy": Cell(values=(50.0, 70.0), runs=(0, 1))}}}
    Cell((50.0, 70.0), (0, 1)).mean -> 60.0, .sd -> 14.142135623730951
"""

import base64
import dataclasses
import io
import math
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from wt5.scoring import output as scoring_output
from wt5.scoring.eval_dir import Score


@dataclasses.dataclass(frozen=True)
class Cell:
  """The values of one (task, step, metric) and the indices of their runs."""
  values: Tuple[float, ...]
  runs: Tuple[int, ...]

  @property
  def mean(self) -> float:
    """Mean of the values: Cell((1.0, 2.0), (0, 1)).mean -> 1.5."""
    return math.fsum(self.values) / len(self.values)

  @property
  def sd(self) -> Optional[float]:
    """Sample standard deviation; None for a single value."""
    if len(self.values) < 2:
      return None
    return statistics.stdev(self.values)


Summary = Dict[str, Dict[int, Dict[str, Cell]]]


def aggregate(runs: Sequence[Sequence[Score]]) -> Summary:
  """Groups the scores of several runs by task, step and metric (see module doc).

  Tasks, steps and metrics keep their first-seen order; steps are sorted.
  """
  grouped: Dict[str, Dict[int, Dict[str, List[Tuple[float, int]]]]] = {}
  for run_index, scores in enumerate(runs):
    for s in scores:
      grouped.setdefault(s.task, {}).setdefault(s.step, {}).setdefault(
          s.metric, []).append((s.value, run_index))
  return {
      task: {
          step: {metric: Cell(tuple(v for v, _ in pairs),
                              tuple(r for _, r in pairs))
                 for metric, pairs in by_metric.items()}
          for step, by_metric in sorted(by_step.items())}
      for task, by_step in grouped.items()
  }


def metric_names(by_step: Dict[int, Dict[str, Cell]]) -> List[str]:
  """The metrics of one task in first-seen order over its steps."""
  names: Dict[str, None] = {}
  for by_metric in by_step.values():
    names.update(dict.fromkeys(by_metric))
  return list(names)


def format_cell(cell: Optional[Cell], num_runs: int) -> str:
  """The table text of a cell, numbers as `wt5 score` prints them.

  One run: "66.6667". Several: "60 ± 14.1421"; "60 ± 14.1421 (2 of 3 runs)"
  when some runs lack the cell; "" for no cell.
  """
  if cell is None:
    return ""
  if num_runs <= 1:
    return scoring_output.format_value(cell.values[0])
  sd = cell.sd
  text = scoring_output.format_value(cell.mean)
  if sd is not None:
    text += " ± " + scoring_output.format_value(sd)
  if len(cell.values) < num_runs:
    text += " (%d of %d runs)" % (len(cell.values), num_runs)
  return text


def plot_png_data_uri(task: str, by_step: Dict[int, Dict[str, Cell]]) -> str:
  """The task's curves (the mean over runs against the step) as a PNG data URI.

  Drawn by `wt5.scoring.output.plot_task`, the plot of `wt5 score`.
  """
  means = [Score(task, step, metric, cell.mean)
           for step, by_metric in by_step.items()
           for metric, cell in by_metric.items()]
  buffer = io.BytesIO()
  scoring_output.plot_task(task, means, buffer)
  return "data:image/png;base64," + base64.b64encode(
      buffer.getvalue()).decode("ascii")
