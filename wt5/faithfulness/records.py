"""Reading and summarising `<task>_<step>_faithfulness.jsonl` files.

One line per example, in ERASER's format for the predicted rationale, the
other rationale sources under `wt5.sources`:

    {"annotation_id": "movie_rationales_v010:validation:0",
     "rationales": [{"docid": "movie_rationales_v010:validation:0",
                     "hard_rationale_predictions": [{"start_token": 3, "end_token": 9}]}],
     "classification": "positive",
     "classification_scores": {"negative": 0.04, "positive": 0.96},
     "comprehensiveness_classification_scores": {...},
     "sufficiency_classification_scores": {...},
     "thresholded_scores": [{"threshold": 0.01, "comprehensiveness_classification_scores": {...},
                             "sufficiency_classification_scores": {...}}, ...],
     "wt5": {"task": ..., "split": ..., "step": ..., "index": 0,
             "gold_label": "positive", "greedy_label": "positive",
             "classification_from": "greedy", "passage_tokens": 87,
             "input_truncated": false, "input_ids_match_export": true,
             "sources": {"predicted": {"rationale_tokens": 6},
                         "annotated": {"rationale_tokens": 19, "rationales": [...],
                                       "comprehensiveness_classification_scores": {...},
                                       "sufficiency_classification_scores": {...},
                                       "thresholded_scores": [...]},
                         "random": {...}}}}

Token offsets count passage tokens (spaCy's, as the extractive
postprocessor's), starting at the passage's first token. Nothing here needs
torch.
"""

import json
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from wt5.faithfulness import scores
from wt5.formats import eval_files

SOURCES = ("predicted", "annotated", "random")
FILE_SUFFIX = "_faithfulness.jsonl"


def output_path(eval_dir: str, task: str, step: int) -> str:
  """output_path("m/validation_eval", "movie_rationales_v010", 300) -> "m/validation_eval/movie_rationales_v010_300_faithfulness.jsonl"."""
  return eval_files.step_file(eval_dir, task, step, FILE_SUFFIX)


def find_files(eval_dir: str, task: str) -> Dict[int, str]:
  """The faithfulness files of `task` in `eval_dir` by step, steps sorted.

  find_files("m/validation_eval", "movie_rationales_v010") -> {150: ".../movie_rationales_v010_150_faithfulness.jsonl", 300: ...}
  """
  return eval_files.find_step_files(eval_dir, task, FILE_SUFFIX)


def read_records(path: str) -> List[Dict[str, Any]]:
  """The records of a `_faithfulness.jsonl` file; ValueError naming a bad line."""
  records = []
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        records.append(json.loads(line))
      except ValueError as e:
        raise ValueError("%s:%d: not a JSON object: %s" % (path, lineno,
                                                           e)) from None
  return records


def source_view(record: Mapping[str, Any], source: str) -> Dict[str, Any]:
  """One rationale source of a record, in ERASER's top-level shape."""
  part = record if source == "predicted" else record["wt5"]["sources"][source]
  return {"classification": record["classification"],
          "classification_scores": record["classification_scores"],
          scores.COMPREHENSIVENESS: part[scores.COMPREHENSIVENESS],
          scores.SUFFICIENCY: part[scores.SUFFICIENCY],
          "thresholded_scores": part["thresholded_scores"]}


def summary_row(record: Mapping[str, Any]) -> Dict[str, Any]:
  """What the summaries need of one record (a few numbers; records are large).

  -> {"scores": {source: `scores.example_scores(...)`}, "fraction": {source:
  share of the passage tokens in the rationale, None for an empty passage},
  "greedy": bool, "truncated": bool, "ids_match": bool, "correct": bool}
  """
  info = record["wt5"]
  size = info["passage_tokens"]
  return {
      "scores": {s: scores.example_scores(source_view(record, s))
                 for s in SOURCES},
      "fraction": {s: (info["sources"][s]["rationale_tokens"] / size
                       if size else None) for s in SOURCES},
      "greedy": info["classification_from"] == "greedy",
      "truncated": bool(info["input_truncated"]),
      "ids_match": bool(info.get("input_ids_match_export", True)),
      "correct": record["classification"] == info["gold_label"],
  }


def summarize_rows(rows: Sequence[Mapping[str, Any]], num_samples: int = 1000,
                   seed: int = 0) -> Dict[str, Dict[str, Any]]:
  """Per source: each score's mean and bootstrap interval, and the rationale size.

  -> {"annotated": {"comprehensiveness": {"mean", "low", "high", "n"}, ...,
                    "rationale_fraction": 0.224}, ...}
  `rationale_fraction` is the mean fraction of passage tokens in the rationale.
  """
  result: Dict[str, Dict[str, Any]] = {}
  for source in SOURCES:
    summary: Dict[str, Any] = scores.summarize(
        [r["scores"][source] for r in rows], num_samples, seed)
    fractions = [r["fraction"][source] for r in rows
                 if r["fraction"][source] is not None]
    summary["rationale_fraction"] = (float(np.mean(fractions)) if fractions
                                     else 0.0)
    result[source] = summary
  return result


def summarize_records(records: Sequence[Mapping[str, Any]],
                      num_samples: int = 1000, seed: int = 0
                      ) -> Dict[str, Dict[str, Any]]:
  """`summarize_rows` of the records' `summary_row`s."""
  return summarize_rows([summary_row(r) for r in records], num_samples, seed)


TABLE_HEADER = ("source", "tokens", "comprehensiveness (up)",
                "sufficiency (down)", "AOPC compr. (up)", "AOPC suff. (down)")


def table_rows(summary: Mapping[str, Mapping[str, Any]]) -> List[List[str]]:
  """The table's cells, one row per source, in the order of TABLE_HEADER.

  -> [["predicted", "4.8%", "0.043 [0.009, 0.087]", ...], ...]
  """
  return [[source, "%.1f%%" % (100 * summary[source]["rationale_fraction"])] +
          [scores.format_interval(summary[source].get(m))
           for m in scores.METRICS]
          for source in SOURCES]


def format_table(summary: Mapping[str, Mapping[str, Any]]) -> str:
  """The printed table: TABLE_HEADER and `table_rows`, columns aligned."""
  rows = [list(TABLE_HEADER)] + table_rows(summary)
  widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_HEADER))]
  return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                   for r in rows)
