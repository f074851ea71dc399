"""The scores of an eval directory as a table, CSV, JSON and plots.

Files written by `write_outputs` (in `wt5 score --output_dir`, default the
eval directory):

    scores.csv    columns task,step,metric,value, one row per metric value
    scores.json   {task: {step: {metric: value}}}, steps as decimal strings,
                  NaN and infinities as null
    <task>.png    one subplot per metric, the value against the step
"""

import csv
import io
import json
import math
import os
import re
from typing import Dict, List, Optional, Sequence

from wt5.scoring.eval_dir import Score



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
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt
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
