"""`wt5 report`: one self-contained HTML page for one or more eval directories.

    $ wt5 report model/validation_eval --output report.html
    $ wt5 report seed1/validation_eval seed2/validation_eval --step 600 \\
        --output report.html

The page holds, with no external resource (styles, script, plots and data
inline; readable offline):

- the runs (the eval directories, in the order given);
- per task, the metric × step table of `wt5 score` (the registered metrics,
  ERASER's for extractive tasks and the accuracy-gated scores of
  `wt5.scoring.gated`), as mean ± sample standard deviation over the runs when
  there are several, and the curves over the steps;
- per task, when `wt5 faithfulness` files are in the first eval directory,
  ERASER's faithfulness table of each scored step
  (`wt5.report.faithfulness_section`);
- per task, when `wt5 faithfulness --counterfactual` or `wt5
  simulatability` files are in the first eval directory, their tables, and
  in each abstractive example the label flips with their explanations and
  the simulators' labels (`wt5.report.explanation_tests`);
- per task, the examples of the first eval directory at `--step` (default:
  the task's last step): for extractive tasks the input with the annotated
  and predicted rationale tokens highlighted, for abstractive tasks the
  predicted explanation beside the references, with filters (errors only,
  gold label, text search), sorting (worst first) and pages.

Everything from the data or the model is escaped by Jinja2 (autoescape) in
the HTML, embedded as JSON with Jinja2's `tojson` (safe inside `<script>`),
and written into the page with `textContent` by the script.
The exit status is 1 when some file could not be scored or read (the page
lists the problems and shows everything else).
"""

import argparse
import datetime
import importlib.resources
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from wt5 import cli_options
from wt5.formats import eval_files
from wt5.scoring import eval_dir as scoring
from wt5.report import examples as examples_lib
from wt5.report import explanation_tests
from wt5.report import faithfulness_section
from wt5.report import summary as summary_lib

_TEMPLATES = "templates"


def _template_text(name: str) -> str:
  return importlib.resources.files("wt5.report").joinpath(
      _TEMPLATES, name).read_text(encoding="utf-8")


def score_runs(eval_dirs: Sequence[str]
               ) -> Tuple[List[List[scoring.Score]], List[str]]:
  """Scores every eval directory as `wt5 score --gated` does.

  Returns the scores of each run and the problems met, each prefixed with
  its directory when there are several.
  """
  runs, problems = [], []
  for eval_dir in eval_dirs:
    result = scoring.score_eval_dir(eval_dir, gated=True)
    runs.append(result.scores)
    prefix = "%s: " % eval_dir if len(eval_dirs) > 1 else ""
    problems.extend(prefix + p for p in result.problems)
  return runs, problems


def collect_examples(eval_dir: str, step: Optional[int]
                     ) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
  """The examples of each task of `eval_dir` at `step` (default: its last).

  Returns {task: `examples.task_examples(...)`} and the problems met.
  """
  try:
    found = eval_files.find_eval_files(eval_dir)
  except eval_files.EvalFileError as e:
    return {}, [str(e)]
  result, problems = {}, []
  for task, files in found.items():
    if not files.predictions:
      continue
    chosen = step if step is not None else max(files.predictions)
    try:
      result[task] = examples_lib.task_examples(files, chosen)
    except eval_files.EvalFileError as e:
      problems.append("examples: %s" % e)
  return result, problems


def task_sections(summary: summary_lib.Summary, num_runs: int,
                  examples: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
  """What the template shows per task: table rows, plot, examples."""
  names = list(summary) + [t for t in examples if t not in summary]
  sections = []
  for index, task in enumerate(names):
    by_step = summary.get(task, {})
    sections.append({
        "id": "task%d" % index,
        "name": task,
        "steps": list(by_step),
        "rows": [{"metric": m,
                  "cells": [summary_lib.format_cell(by_step[s].get(m), num_runs)
                            for s in by_step]}
                 for m in summary_lib.metric_names(by_step)],
        "plot": (summary_lib.plot_png_data_uri(task, by_step)
                 if by_step else None),
        "examples": examples.get(task),
    })
  return sections


def build_page(eval_dirs: Sequence[str], step: Optional[int] = None,
               page_size: int = 25) -> Tuple[str, List[str]]:
  """Renders the report page; returns its HTML and the problems met."""
  import jinja2
  runs, problems = score_runs(eval_dirs)
  examples, example_problems = collect_examples(eval_dirs[0], step)
  problems.extend(p for p in example_problems if p not in problems)
  tasks = task_sections(summary_lib.aggregate(runs), len(runs), examples)
  problems.extend(faithfulness_section.add_to_page(tasks, examples,
                                                   eval_dirs[0]))
  problems.extend(explanation_tests.add_to_page(tasks, examples, eval_dirs[0]))
  data = {"pageSize": page_size,
          "tasks": {t["id"]: t["examples"] for t in tasks if t["examples"]}}
  env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
  template = env.from_string(_template_text("report.html.j2"))
  html = template.render(
      eval_dirs=list(eval_dirs), tasks=tasks, problems=problems, data=data,
      num_runs=len(runs),
      created=datetime.datetime.now(datetime.timezone.utc).strftime(
          "%Y-%m-%d %H:%M UTC"),
      style=_template_text("report.css"), script=_template_text("report.js"))
  return html, problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """Adds the `wt5 report` arguments to `parser`."""
  parser.add_argument(
      "eval_dirs", nargs="+", metavar="EVAL_DIR",
      help="t5_mesh_transformer eval directories (<model_dir>/<split>_eval); "
      "several (runs with different seeds) give mean ± standard deviation; "
      "the examples come from the first")
  parser.add_argument("--output", default="report.html",
                      help="the HTML file to write (default: report.html)")
  cli_options.ONE_STEP.add(
      parser, help="the checkpoint whose examples are shown (default: each "
      "task's last step)")
  parser.add_argument("--page_size", type=int, default=25,
                      help="examples per page (default: 25)")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 report`; returns 0, or 1 when something could not be read."""
  if args.page_size < 1:
    print("error: --page_size must be at least 1, got %d" % args.page_size,
          file=sys.stderr)
    return 1
  html, problems = build_page(args.eval_dirs, step=args.step,
                              page_size=args.page_size)
  directory = os.path.dirname(os.path.abspath(args.output))
  os.makedirs(directory, exist_ok=True)
  with open(args.output, "w", encoding="utf-8") as f:
    f.write(html)
  print("wrote %s" % args.output)
  for problem in problems:
    print("error: %s" % problem, file=sys.stderr)
  return 1 if problems else 0
