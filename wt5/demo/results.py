"""What `wt5 demo` prints: the results table, notes, examples and phases.

    format_results({"t": {"accuracy": {100: 50.0, 200: 75.0}}}, ["t"]) ->
      task  metric    step 100  step 200
      t     accuracy     50.00     75.00
"""

import dataclasses
import textwrap
from typing import List, Optional, Sequence, TextIO

from wt5.formats import eval_files
from wt5.formats.model_dir import ModelDir
from wt5.mtf.binary import EVAL_SPLIT, LoggedMetrics


@dataclasses.dataclass
class MixtureResult:
  """What training and evaluating one mixture left and measured."""
  mixture: str
  model_dir: str
  train_log: str
  eval_log: str
  eval_tasks: List[str]
  metrics: LoggedMetrics


def print_phase(out: TextIO, text: str) -> None:
  """Writes a phase's heading: print_phase(out, "Results") -> "\\n== Results\\n"."""
  out.write("\n== %s\n" % text)
  out.flush()


def format_results(metrics: LoggedMetrics, tasks: Sequence[str]) -> str:
  """A table of every metric of `tasks`, one column per evaluated step.

  format_results({"t": {"accuracy": {100: 50.0, 200: 75.0},
                         "bleu": {200: 9.5}}}, ["t"]) ->
    task  metric    step 100  step 200
    t     accuracy     50.00     75.00
          bleu             -      9.50
  """
  steps = sorted({s for t in tasks for m in metrics.get(t, {}).values()
                  for s in m})
  rows = [("task", "metric") + tuple("step %d" % s for s in steps)]
  for task in tasks:
    for i, (metric, values) in enumerate(metrics.get(task, {}).items()):
      rows.append((task if i == 0 else "", metric) + tuple(
          "%.2f" % values[s] if s in values else "-" for s in steps))
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  lines = []
  for row in rows:
    cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
    cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
    lines.append("  ".join(cells).rstrip())
  return "\n".join(lines)


def task_note(task: str) -> Optional[str]:
  """What to keep in mind when reading a task's numbers, if anything.

  task_note("esnli_v010") -> None
  """
  if task.startswith("mnli_explain_eval"):
    return ("mnli_explain_eval_*: MNLI has no reference explanations, so "
            "their bleu is 0 by construction; an expln1_length above 0 shows "
            "that the model explains MNLI examples, which it saw with labels "
            "only (transfer from e-SNLI).")
  return None


def _wrap(label: str, text: str, width: int = 100, max_lines: int = 4
          ) -> List[str]:
  """`text` wrapped under a label column, cut to `max_lines` lines.

  _wrap("input:", "a b c", width=30) -> ["  input:     a b c"]
  """
  indent = "  %-11s" % label
  lines = textwrap.wrap(" ".join(text.split()) or '""', width=width,
                        initial_indent=indent,
                        subsequent_indent=" " * len(indent))
  if len(lines) > max_lines:
    lines = lines[:max_lines]
    lines[-1] = lines[-1][:width - 3] + "..."
  return lines


def format_examples(examples: Sequence[eval_files.EvaluatedExample]) -> str:
  """Inputs, predictions and references of examples, one block each."""
  lines = []
  for example in examples:
    lines += (_wrap("input:", example.inputs) +
              _wrap("predicted:", example.prediction) +
              _wrap("reference:", example.target) + [""])
  return "\n".join(lines).rstrip()


def print_results(results: Sequence[MixtureResult], num_examples: int,
                  out: TextIO) -> None:
  """Prints each mixture's table with its notes, then examples of each task."""
  print_phase(out, "Results (%s split, greedy decoding)" % EVAL_SPLIT)
  for result in results:
    out.write("\n%s\n%s\n" % (result.mixture, format_results(
        result.metrics, result.eval_tasks)))
    notes = []
    for task in result.eval_tasks:
      note = task_note(task)
      if note and note not in notes:
        notes.append(note)
        out.write(textwrap.fill(note, 100, initial_indent="  note: ",
                                subsequent_indent="    ") + "\n")
  for result in results:
    eval_dir = ModelDir(result.model_dir).eval_dir(EVAL_SPLIT)
    for task in result.eval_tasks:
      step = max(s for m in result.metrics[task].values() for s in m)
      print_phase(out, "%s at step %d: first %d validation examples" % (
          task, step, num_examples))
      out.write(format_examples(eval_files.read_evaluated_examples(
          eval_dir, task, step, num_examples)) + "\n")
