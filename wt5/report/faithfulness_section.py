"""The faithfulness part of the report, from `wt5 faithfulness` files.

When `<eval_dir>/<task>_<step>_faithfulness.jsonl` files exist, the task's
section shows, next to the agreement metrics, ERASER's comprehensiveness,
sufficiency and AOPC of the predicted, annotated and random rationales (mean
and bootstrap 95% interval) for each step that has a file; and each example
shown at such a step gets the predicted label's probability on the full
input, without its predicted rationale and with that rationale alone:

    {"label": "positive", "full": 0.96, "without": 0.41, "only": 0.88}
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence

from wt5.faithfulness import records as records_lib


def step_tables(eval_dir: str, task: str) -> List[Dict[str, Any]]:
  """One table per step with a faithfulness file, for the template.

  -> [{"step": 300, "examples": 60, "header": [...], "rows": [["predicted",
       "4.8%", "0.043 [0.009, 0.087]", ...], ...]}]
  """
  tables = []
  for step, path in records_lib.find_files(eval_dir, task).items():
    records = records_lib.read_records(path)
    if not records:
      continue
    summary = records_lib.summarize_records(records)
    tables.append({"step": step, "examples": len(records),
                   "header": list(records_lib.TABLE_HEADER),
                   "rows": records_lib.table_rows(summary)})
  return tables


def example_probabilities(record: Mapping[str, Any]) -> Dict[str, Any]:
  """The predicted label's probability with and without its rationale.

  example_probabilities(<a record>) -> {"label": "positive", "full": 0.96,
  "without": 0.41, "only": 0.88}
  """
  label = record["classification"]
  return {"label": label,
          "full": float(record["classification_scores"][label]),
          "without": float(
              record["comprehensiveness_classification_scores"][label]),
          "only": float(record["sufficiency_classification_scores"][label])}


def add_to_page(tasks: Sequence[Dict[str, Any]],
                examples: Mapping[str, Optional[Dict[str, Any]]],
                eval_dir: str) -> List[str]:
  """Adds "faithfulness" tables to each task section and to its examples.

  `tasks` are the report's task sections ({"name": ..., ...}); `examples`
  maps a task to its `examples.task_examples(...)` result, whose example
  dicts get "faithfulness": `example_probabilities(...)` when the shown step
  has a file. Returns the problems met (unreadable files).
  """
  problems = []
  for section in tasks:
    task = section["name"]
    try:
      section["faithfulness"] = step_tables(eval_dir, task)
    except (OSError, ValueError, KeyError, TypeError) as e:
      section["faithfulness"] = []
      problems.append("faithfulness: %s: %s" % (task, e))
      continue
    shown = examples.get(task)
    if not shown:
      continue
    path = records_lib.find_files(eval_dir, task).get(shown["step"])
    if path is None:
      continue
    by_index = {r["wt5"]["index"]: r for r in records_lib.read_records(path)}
    for example in shown["examples"]:
      record = by_index.get(example["index"])
      if record is not None:
        example["faithfulness"] = example_probabilities(record)
  return problems
