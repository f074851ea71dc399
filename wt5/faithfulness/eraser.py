"""ERASER's comprehensiveness, sufficiency and AOPC of extractive rationales.

    faithfulness("runs/movies", "exports/movies", steps=[600])
      -> {"movie_rationales_v010": {600: {"path": ..., "examples": 199,
                                          "summary": {...}}}}

`wt5 faithfulness` (`faithfulness_command`) runs it.

For each extractive task of the export's split (its postprocessor is
`wt5.postprocessors.extractive_explanations`) and each chosen checkpoint
(`<model_dir>/checkpoint-<step>`; default the newest), three rationales of
every example are scored:

- predicted: the spans of the model's own prediction at that step, read from
  `<model_dir>/<split>_eval/<task>_<step>_predictions` (`wt5 evaluate`
  writes it);
- annotated: the gold spans (the export's `target_line`);
- random: as many passage tokens as the annotated rationale has, drawn
  uniformly without replacement (numpy, seeded by `--seed` and the example's
  index).

The class probabilities come from `label_scorer` (labels teacher forced,
normalised over the label set; the label set is every label of the split's
targets, or `--labels`). The predicted class is the label of the model's
greedy prediction (as ERASER scores the model's own decision); when that
label is not in the label set, the most probable label. The inputs are
edited by `erase` (passage tokens only) and re-encoded with the export's
vocabulary. Per example, ERASER's format is written to
`<model_dir>/<split>_eval/<task>_<step>_faithfulness.jsonl`: the top-level
fields are the predicted rationale's (so ERASER's `metrics.py` reads them),
and `wt5.sources` holds the annotated and random ones in the same shape.
A table of the means with bootstrap 95% intervals is printed.

Nothing here imports TensorFlow or t5.
"""

import dataclasses
import json
import os
import sys
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from wt5.faithfulness import erase
from wt5.faithfulness import label_scorer
from wt5.faithfulness import records
from wt5.faithfulness import scores
from wt5.formats import eval_files
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir
from wt5.pytorch import model as model_lib
from wt5.pytorch.decoding import sentencepiece_processor

EXTRACTIVE = "wt5.postprocessors.extractive_explanations"
SOURCES = records.SOURCES
_RANDOM_STREAM = len(SOURCES)

Key = Tuple[Any, ...]


def random_membership(size: int, count: int, seed: int, index: int
                      ) -> List[int]:
  """`count` of `size` passage tokens drawn without replacement, as 0/1 marks.

  random_membership(5, 2, 0, 7) -> e.g. [0, 1, 0, 0, 1]; always `count` ones.
  """
  rng = np.random.default_rng([seed, index, _RANDOM_STREAM])
  marks = [0] * size
  for i in rng.choice(size, size=min(count, size), replace=False).tolist():
    marks[i] = 1
  return marks


def source_record(probabilities: Mapping[Key, Mapping[str, float]],
                  thresholds: Sequence[float]) -> Dict[str, Any]:
  """ERASER's fields of one rationale from the probabilities of its variants."""
  return {
      scores.COMPREHENSIVENESS: probabilities["comprehensiveness",],
      scores.SUFFICIENCY: probabilities["sufficiency",],
      "thresholded_scores": [
          {"threshold": t,
           scores.COMPREHENSIVENESS: probabilities["comprehensiveness", t],
           scores.SUFFICIENCY: probabilities["sufficiency", t]}
          for t in thresholds],
  }


class TaskData:
  """One task's examples with their passages and annotated rationales."""

  def __init__(self, task: str, examples: Sequence[Mapping[str, Any]],
               labels: Optional[Sequence[str]] = None):
    self.task = task
    self.examples = list(examples)
    self.targets = [self._target(i, e) for i, e in enumerate(self.examples)]
    self.passages = [erase.split_input(e["inputs_pretokenized"])
                     for e in self.examples]
    self.annotated = [p.membership(t["span_array"], "%s example %d: the "
                                   "target" % (task, i))
                      for i, (p, t) in enumerate(zip(self.passages,
                                                     self.targets))]
    if labels:
      self.labels = list(labels)
    else:
      self.labels = sorted({str(t["label"]) for t in self.targets})
    if len(self.labels) < 2:
      raise ExportError(
          "%s: the targets hold the labels %s only; name the task's labels "
          "with --labels (for instance --labels negative,positive)" % (
              task, self.labels))

  def _target(self, index: int, example: Mapping[str, Any]) -> Dict[str, Any]:
    line = example.get("target_line")
    if line is None:
      raise ExportError(
          "%s example %d has no target_line: export an evaluation split" % (
              self.task, index))
    target = eval_files.parse_literal(line, self.task + " target_line",
                                      index + 1)
    if not isinstance(target, dict) or "span_array" not in target:
      raise ExportError(
          "%s example %d: the target is not an extractive postprocessor "
          "output: %s" % (self.task, index, eval_files.snippet(line)))
    return target


def chunks(count: int, size: int) -> Iterator[range]:
  """chunks(5, 2) -> range(0, 2), range(2, 4), range(4, 5)."""
  for start in range(0, count, size):
    yield range(start, min(count, start + size))


def score_task(data: TaskData, predictions: Sequence[Mapping[str, Any]],
               scorer: label_scorer.LabelScorer, processor: Any,
               lengths: Mapping[str, int], eos_id: int, seed: int,
               info: Mapping[str, Any], progress: Any = None
               ) -> Iterator[Dict[str, Any]]:
  """Yields the record of each example (ERASER's format; see the module doc)."""
  thresholds = scores.THRESHOLDS
  length = int(lengths["inputs"])
  for block in chunks(len(data.examples), scorer.batch_size):
    wanted: Dict[str, None] = {}
    plans = []
    for index in block:
      passage = data.passages[index]
      memberships = {
          "predicted": passage.membership(
              predictions[index]["span_array"],
              "%s example %d: the prediction" % (data.task, index)),
          "annotated": data.annotated[index]}
      memberships["random"] = random_membership(
          passage.size, sum(memberships["annotated"]), seed, index)
      texts = {("full",): passage.text}
      for stream, source in enumerate(SOURCES):
        for key, text in erase.variants(passage, memberships[source], seed,
                                        index, stream, thresholds).items():
          texts[(source,) + key] = text
      wanted.update(dict.fromkeys(texts.values()))
      plans.append((index, memberships, texts))
    unique = list(wanted)
    encoded = [erase.encode(processor, t, length, eos_id) for t in unique]
    # Scoring longest first keeps the padding of each batch small.
    order = sorted(range(len(unique)), key=lambda i: -len(encoded[i]))
    probs = scorer.probabilities([encoded[i] for i in order])
    by_text = {unique[i]: row for i, row in zip(order, scorer.as_dicts(probs))}
    ids_by_text = dict(zip(unique, encoded))
    for index, memberships, texts in plans:
      full_text = texts["full",]
      checks = {
          # More ids than fit before EOS: seqio cut this input.
          "input_truncated": len(processor.EncodeAsIds(full_text)) >= length,
          "input_ids_match_export": (ids_by_text[full_text] ==
                                     list(data.examples[index]["inputs"]))}
      yield _record(data, index, predictions[index], memberships,
                    {k: by_text[t] for k, t in texts.items()}, checks,
                    thresholds, info)
      if progress is not None:
        progress.update(1)


def _record(data: TaskData, index: int, prediction: Mapping[str, Any],
            memberships: Mapping[str, Sequence[int]],
            probabilities: Mapping[Key, Mapping[str, float]],
            checks: Mapping[str, bool], thresholds: Sequence[float],
            info: Mapping[str, Any]) -> Dict[str, Any]:
  """One example's record: ERASER's fields for the predicted rationale, plus `wt5`."""
  full = probabilities["full",]
  greedy = str(prediction.get("label", ""))
  label, source_of_label = ((greedy, "greedy") if greedy in full else
                            (max(full, key=full.get), "argmax"))
  annotation_id = "%s:%s:%d" % (data.task, info["split"], index)
  by_source = {
      source: dict(source_record({k[1:]: v for k, v in probabilities.items()
                                  if k[0] == source}, thresholds),
                   rationale_tokens=int(sum(memberships[source])),
                   rationales=[{"start_token": s, "end_token": e}
                               for s, e in erase.runs(memberships[source])])
      for source in SOURCES}
  predicted = by_source["predicted"]
  record = {
      "annotation_id": annotation_id,
      "rationales": [{"docid": annotation_id,
                      "hard_rationale_predictions": predicted["rationales"]}],
      "classification": label,
      "classification_scores": full,
  }
  record.update({k: predicted[k] for k in (
      scores.COMPREHENSIVENESS, scores.SUFFICIENCY, "thresholded_scores")})
  record["wt5"] = {
      "task": data.task, "split": info["split"], "step": info["step"],
      "index": index, "gold_label": str(data.targets[index]["label"]),
      "greedy_label": greedy, "classification_from": source_of_label,
      "passage_tokens": data.passages[index].size,
      "input_truncated": bool(checks["input_truncated"]),
      "input_ids_match_export": bool(checks["input_ids_match_export"]),
      "sources": {s: by_source[s] if s != "predicted" else
                  {"rationale_tokens": predicted["rationale_tokens"]}
                  for s in SOURCES},
  }
  return record


def extractive_tasks(export: Export, split: str,
                     wanted: Optional[Sequence[str]]) -> List[str]:
  """The split's tasks whose postprocessor is the extractive one (or `wanted`)."""
  names = [t for t in export.tasks(split)
           if export.task_info(t).get("postprocessor") == EXTRACTIVE]
  if wanted:
    unknown = sorted(set(wanted) - set(names))
    if unknown:
      raise ExportError(
          "no %s examples of an extractive task named %s; extractive tasks: "
          "%s" % (split, ", ".join(unknown), ", ".join(names) or "none"))
    names = [t for t in names if t in wanted]
  if not names:
    raise ExportError(
        "the export's %s split has no task whose postprocessor is %s" % (
            split, EXTRACTIVE))
  return names


def load_predictions(eval_dir: str, task: str, step: int, count: int,
                     model_dir: str) -> List[Dict[str, Any]]:
  """The postprocessed predictions of `task` at `step`, one per example."""
  path = eval_files.task_file(eval_dir, task, step)
  if not os.path.exists(path):
    raise ExportError(
        "%s is missing: decode the checkpoint first with `wt5 evaluate "
        "--model_dir %s --export EXPORT --step %d`" % (path, model_dir, step))
  values = eval_files.read_values(path, "literal")
  if len(values) != count:
    raise ExportError("%s has %d predictions for %d examples" % (
        path, len(values), count))
  for lineno, value in enumerate(values, 1):
    if not isinstance(value, dict) or "span_array" not in value:
      raise ExportError(
          "%s:%d: not an extractive postprocessor output" % (path, lineno))
  return values


@dataclasses.dataclass
class Scoring:
  """What scoring every task at every step shares."""
  export: Export
  processor: Any
  device: Any
  eval_dir: str
  split: str
  batch_size: int = 32
  seed: int = 0
  num_bootstrap: int = 1000
  progress: bool = True


def read_tasks(export: Export, models: ModelDir, split: str,
               names: Sequence[str], steps: Sequence[int],
               labels: Optional[Sequence[str]], limit: Optional[int]
               ) -> Tuple[Dict[str, TaskData],
                          Dict[Tuple[str, int], List[Dict[str, Any]]]]:
  """Each task's data and its predictions at each step (the first `limit`).

  -> ({"movie_rationales_v010": TaskData(...)},
      {("movie_rationales_v010", 600): [{"label": ..., "span_array": ...}, ...]})
  """
  data, predictions = {}, {}
  eval_dir = models.eval_dir(split)
  for task in names:
    examples = export.examples(split, task)
    data[task] = TaskData(task, examples[:limit] if limit else examples,
                          labels)
    for step in steps:
      predictions[task, step] = load_predictions(
          eval_dir, task, step, len(examples), models.path)[:len(
              data[task].examples)]
  return data, predictions


def score_and_write(scoring: Scoring, model: Any, task_data: TaskData,
                    predictions: Sequence[Mapping[str, Any]], step: int,
                    out: Any) -> Dict[str, Any]:
  """Scores one task at one step; writes its JSONL file; prints its table.

  -> {"path": ".../<task>_<step>_faithfulness.jsonl", "examples": n,
      "summary": `records.summarize_rows(...)`}
  """
  import tqdm

  task, export = task_data.task, scoring.export
  scorer = label_scorer.LabelScorer(
      model, task_data.labels,
      label_scorer.label_token_ids(scoring.processor, task_data.labels),
      scoring.device, scoring.batch_size, export.vocabulary.pad_id)
  target = records.output_path(scoring.eval_dir, task, step)
  bar = tqdm.tqdm(total=len(task_data.examples), unit="ex",
                  desc="%s@%d" % (task, step), file=sys.stderr,
                  disable=not scoring.progress, dynamic_ncols=True)
  rows = []  # Only a few numbers per example stay in memory.
  os.makedirs(scoring.eval_dir, exist_ok=True)
  with open(target + ".tmp", "w", encoding="utf-8") as f:
    for record in score_task(task_data, predictions, scorer,
                             scoring.processor, export.sequence_length,
                             export.vocabulary.eos_id, scoring.seed,
                             {"split": scoring.split, "step": step}, bar):
      f.write(json.dumps(record, sort_keys=True) + "\n")
      rows.append(records.summary_row(record))
  bar.close()
  os.replace(target + ".tmp", target)
  summary = records.summarize_rows(rows, scoring.num_bootstrap, scoring.seed)
  print(describe(task, step, scoring.split, rows, task_data.labels,
                 scoring.num_bootstrap, scoring.seed), file=out)
  print(records.format_table(summary), file=out)
  print("wrote %s" % target, file=out)
  return {"path": target, "examples": len(rows), "summary": summary}


def faithfulness(model_dir: str, export_dir: str, split: str = "validation",
                 steps: Optional[Sequence[int]] = None,
                 tasks: Optional[Sequence[str]] = None, batch_size: int = 32,
                 seed: int = 0, num_bootstrap: int = 1000,
                 labels: Optional[Sequence[str]] = None,
                 vocab_model: Optional[str] = None,
                 limit: Optional[int] = None, out=None, progress: bool = True
                 ) -> Dict[str, Dict[int, Dict[str, Any]]]:
  """Scores the chosen checkpoints; writes the JSONL files; prints the tables.

  Returns {task: {step: {"path": ..., "examples": n, "summary":
  `records.summarize_records(...)`}}}.
  """
  import torch

  export = Export(export_dir)
  names = extractive_tasks(export, split, tasks)
  models = ModelDir(model_dir)
  chosen = models.choose_steps(steps, newest_only=True)
  scoring = Scoring(
      export, sentencepiece_processor(export.vocabulary.path, vocab_model),
      torch.device("cuda" if torch.cuda.is_available() else "cpu"),
      models.eval_dir(split), split, batch_size, seed, num_bootstrap,
      progress)
  data, predictions = read_tasks(export, models, split, names, chosen, labels,
                                 limit)
  results: Dict[str, Dict[int, Dict[str, Any]]] = {t: {} for t in names}
  for step in chosen:
    model, _ = model_lib.load_model(models.checkpoint_path(step),
                                    export.vocabulary.size)
    model.to(scoring.device)
    for task in names:
      results[task][step] = score_and_write(
          scoring, model, data[task], predictions[task, step], step,
          out or sys.stdout)
  return results


def describe(task: str, step: int, split: str,
             rows: Sequence[Mapping[str, Any]], labels: Sequence[str],
             num_bootstrap: int, seed: int) -> str:
  """The line above a table: what was scored and how (`rows`: `records.summary_row`s)."""
  count = len(rows)
  greedy = sum(1 for r in rows if r["greedy"])
  truncated = sum(1 for r in rows if r["truncated"])
  differ = sum(1 for r in rows if not r["ids_match"])
  correct = sum(1 for r in rows if r["correct"])
  return ("%s, step %d, %s: %d examples, labels %s; predicted class = greedy "
          "label for %d, most probable label for %d; accuracy %.1f%%; %d "
          "input(s) cut at the sequence limit; %d re-encoded input(s) "
          "differ from the export's ids. Means with bootstrap 95%% "
          "intervals (%d resamples, seed %d):" % (
              task, step, split, count, "/".join(labels), greedy,
              count - greedy, 100.0 * correct / count if count else 0.0,
              truncated, differ, num_bootstrap, seed))
