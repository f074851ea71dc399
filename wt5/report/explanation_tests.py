"""The counterfactual and simulatability parts of the report.

When `<eval_dir>/<task>_<step>_counterfactual.jsonl` (`wt5 faithfulness
--counterfactual`) or `<task>_<step>_simulatability.jsonl` (`wt5
simulatability`) files exist, the task's section gets their tables (one row
per step), and each abstractive example shown at such a step gets its
counterfactual insertions, the label flips with their explanations, and the
simulators' labels:

    {"insertions": 4, "flips": [{"word": "tall", "field": "premise",
     "input": "...", "label": "neutral", "explanations": ["..."],
     "mentioned": false}]}
    {"X": "neutral", "XE": "neutral", "E": "entailment", "leaked": false}
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence

from wt5.faithfulness import counterfactual
from wt5.faithfulness import simulation

CAPTIONS = {
    "counterfactual": "Counterfactual test (Atanasova et al. 2023): label "
                      "flips whose explanation does not name the inserted "
                      "word / flips, mean [bootstrap 95% interval]",
    "simulatability": "Simulatability (Hase et al. 2020): simulator accuracy "
                      "at the model's label from X, XE, E; LAS [bootstrap 95% "
                      "interval]",
}


def counterfactual_table(eval_dir: str, task: str) -> Optional[Dict[str, Any]]:
  """The counterfactual table of `task` (one row per step), or None.

  -> {"kind": "counterfactual", "caption": ..., "header": ["step", ...],
      "rows": [["600", "100", "400", "37", "21", "0.568 [0.400, 0.730]"]]}
  """
  rows = []
  for step, path in counterfactual.find_files(eval_dir, task).items():
    summary = counterfactual.summarize(
        [counterfactual.summary_row(r)
         for r in counterfactual.read_records(path)])
    rows.append(counterfactual.table_row(task, step, summary)[1:])
  if not rows:
    return None
  return {"kind": "counterfactual", "caption": CAPTIONS["counterfactual"],
          "header": list(counterfactual.TABLE_HEADER[1:]), "rows": rows}


def simulatability_table(eval_dir: str, task: str) -> Optional[Dict[str, Any]]:
  """The simulatability table of `task` (one row per step), or None."""
  rows = []
  for step, path in simulation.find_files(eval_dir, task).items():
    records = simulation.read_records(path)
    if records:
      rows.append(simulation.table_row(
          task, step, simulation.summarize(records))[1:])
  if not rows:
    return None
  return {"kind": "simulatability", "caption": CAPTIONS["simulatability"],
          "header": list(simulation.TABLE_HEADER[1:]), "rows": rows}


def example_counterfactual(record: Mapping[str, Any]) -> Dict[str, Any]:
  """What an example shows of its counterfactual record: the flips.

  example_counterfactual({"insertions": [{"word": "tall", "flipped": True,
  ...}, {"flipped": False, ...}], ...}) -> {"insertions": 2, "flips":
  [{"word": "tall", "field": ..., "input": ..., "label": ...,
  "explanations": [...], "mentioned": ...}]}
  """
  keys = ("word", "field", "input", "label", "explanations", "mentioned")
  return {"insertions": len(record["insertions"]),
          "flips": [{k: i[k] for k in keys} for i in record["insertions"]
                    if i["flipped"]]}


def example_simulation(record: Mapping[str, Any]) -> Dict[str, Any]:
  """The simulators' labels of one example and whether it leaked."""
  return dict(record["simulated"], leaked=bool(record["leaked"]))


def _by_index(path: Optional[str], read) -> Dict[int, Mapping[str, Any]]:
  return {} if path is None else {r["index"]: r for r in read(path)}


def add_to_page(tasks: Sequence[Dict[str, Any]],
                examples: Mapping[str, Optional[Dict[str, Any]]],
                eval_dir: str) -> List[str]:
  """Adds "explanation_tests" tables to the task sections and to their examples.

  Example dicts at a step with files get "counterfactual":
  `example_counterfactual(...)` and "simulatability": `example_simulation(...)`.
  Returns the problems met (unreadable files).
  """
  problems = []
  for section in tasks:
    task = section["name"]
    try:
      section["explanation_tests"] = [
          t for t in (counterfactual_table(eval_dir, task),
                      simulatability_table(eval_dir, task)) if t]
      shown = examples.get(task)
      if not shown or shown["kind"] != "abstractive":
        continue
      step = shown["step"]
      flips = _by_index(counterfactual.find_files(eval_dir, task).get(step),
                        counterfactual.read_records)
      simulated = _by_index(
          simulation.find_files(eval_dir, task).get(step),
          simulation.read_records)
    except (OSError, ValueError, KeyError, TypeError) as e:
      section["explanation_tests"] = []
      problems.append("counterfactual/simulatability: %s: %s" % (task, e))
      continue
    for example in shown["examples"]:
      if example["index"] in flips:
        example["counterfactual"] = example_counterfactual(
            flips[example["index"]])
      if example["index"] in simulated:
        example["simulatability"] = example_simulation(
            simulated[example["index"]])
  return problems
