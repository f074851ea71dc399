"""Simulator inputs and `wt5 simulatability`'s records, summaries and table (pure).

The simulators' input texts (`simulator_input`), where the per-example
records go (`output_path`), and what is computed from them: accuracies, the
leaked and non-leaked groups and LAS with its bootstrap interval
(`wt5.faithfulness.las`), as a table. `wt5.faithfulness.simulatability`
(the command's work) and `wt5 report` share them.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence

from wt5.faithfulness import counterfactual
from wt5.faithfulness import las as las_lib
from wt5.faithfulness import records as records_lib
from wt5.faithfulness import scores
from wt5.formats import eval_files

KINDS = ("X", "XE", "E")
EXPLANATION = "explanation: "
FILE_SUFFIX = "_simulatability.jsonl"
TABLE_HEADER = ("task", "step", "examples", "acc(X)", "acc(XE)", "acc(E)",
                "leaked: n, XE-X", "non-leaked: n, XE-X", "LAS")


def output_path(eval_dir: str, task: str, step: int) -> str:
  """output_path("m/validation_eval", "esnli_v010", 300) -> "m/validation_eval/esnli_v010_300_simulatability.jsonl"."""
  return eval_files.step_file(eval_dir, task, step, FILE_SUFFIX)


def simulator_input(kind: str, text: str, explanation: str) -> str:
  """The simulator's input text of one kind.

  simulator_input("XE", "explain nli premise: P", "Because.")
    -> "explain nli premise: P explanation: Because."
  simulator_input("XE", "explain nli premise: P", "") -> "explain nli premise: P"
  simulator_input("E", "explain nli premise: P", "Because.") -> "explanation: Because."
  """
  if kind == "X" or (kind == "XE" and not explanation):
    return text
  if kind == "XE":
    return "%s %s%s" % (text, EXPLANATION, explanation)
  if kind == "E":
    return EXPLANATION + explanation
  raise ValueError("no simulator input of kind %r; kinds: %s" % (kind, KINDS))


def explanation_text(prediction: Mapping[str, Any]) -> str:
  """The prediction's explanations as one text (joined by spaces).

  explanation_text({"label": "neutral", "explanations": ["A.", "B."]}) -> "A. B."
  """
  return " ".join(str(e) for e in prediction.get("explanations", [])).strip()


def summarize(rows: Sequence[Mapping[str, Any]], num_samples: int = 1000,
              seed: int = 0) -> Dict[str, Any]:
  """Accuracies, groups and LAS of per-example records.

  -> {"examples": 60, "accuracy": {"X": 0.5, "XE": 0.6, "E": 0.4},
      "leaked": {"n", "acc_x", "acc_xe", "gain"} or None, "nonleaked": ...,
      "las": {"mean", "low", "high", "n"}}
  """
  correct = {k: [bool(r["correct"][k]) for r in rows] for k in KINDS}
  leaked = [bool(r["leaked"]) for r in rows]
  result = las_lib.las(correct["X"], correct["XE"], leaked)
  return {"examples": len(rows),
          "accuracy": {k: sum(v) / len(v) for k, v in correct.items()},
          "leaked": result["leaked"], "nonleaked": result["nonleaked"],
          "las": las_lib.las_interval(correct["X"], correct["XE"], leaked,
                                      num_samples, seed)}


def group_cell(group: Optional[Mapping[str, Any]]) -> str:
  """group_cell({"n": 12, "gain": 0.25, ...}) -> "12, +0.250"; None -> "0, n/a"."""
  return "0, n/a" if group is None else "%d, %+.3f" % (group["n"],
                                                       group["gain"])


def table_row(task: str, step: int, summary: Mapping[str, Any]) -> List[str]:
  """One row of the table, in the order of TABLE_HEADER."""
  return ([task, str(step), str(summary["examples"])] +
          ["%.3f" % summary["accuracy"][k] for k in KINDS] +
          [group_cell(summary["leaked"]), group_cell(summary["nonleaked"]),
           scores.format_interval(summary["las"])])


def format_table(rows: Sequence[Sequence[str]]) -> str:
  """TABLE_HEADER and the rows, columns aligned."""
  return counterfactual.format_table(rows, TABLE_HEADER)


def read_records(path: str) -> List[Dict[str, Any]]:
  """The records of a `_simulatability.jsonl` file."""
  return records_lib.read_records(path)


def find_files(eval_dir: str, task: str) -> Dict[int, str]:
  """The simulatability files of `task` in `eval_dir` by step, steps sorted."""
  return eval_files.find_step_files(eval_dir, task, FILE_SUFFIX)
