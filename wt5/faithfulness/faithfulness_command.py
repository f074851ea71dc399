"""`wt5 faithfulness`: ERASER comprehensiveness, sufficiency and AOPC of rationales.

    wt5 faithfulness --model_dir runs/movies --export exports/movies [--step 600]

With `--counterfactual`, the counterfactual test of abstractive
explanations instead (`wt5.faithfulness.counterfactual`).

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

import argparse
import json
import os
import sys
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from wt5 import cli_options
from wt5.faithfulness import counterfactual
from wt5.faithfulness import erase
from wt5.faithfulness import insertions
from wt5.faithfulness import label_scorer
from wt5.faithfulness import records
from wt5.faithfulness import scores
from wt5.formats import eval_files
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir, ModelDirError
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


def variants(passage: erase.Passage, membership: Sequence[int], seed: int,
             index: int, stream: int,
             thresholds: Sequence[float] = scores.THRESHOLDS
             ) -> Dict[Key, str]:
  """The edited input texts one rationale needs.

  Keys: ("comprehensiveness",) and ("sufficiency",) (the rationale removed,
  kept alone), and ("comprehensiveness", k), ("sufficiency", k) for each
  threshold k (the top k% of the passage tokens removed, kept alone; tokens
  ranked by `scores.rank_tokens`, ties broken with the seed, the example
  index and `stream`).
  """
  keep_all = [not m for m in membership]
  result = {("comprehensiveness",): erase.edited_text(passage, keep_all),
            ("sufficiency",): erase.edited_text(passage, list(map(bool,
                                                                  membership)))}
  order = scores.rank_tokens(membership,
                             np.random.default_rng([seed, index, stream]))
  for threshold in thresholds:
    top = set(order[:scores.top_count(passage.size, threshold)])
    in_top = [i in top for i in range(passage.size)]
    result["comprehensiveness", threshold] = erase.edited_text(
        passage, [not t for t in in_top])
    result["sufficiency", threshold] = erase.edited_text(passage, in_top)
  return result


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
        for key, text in variants(passage, memberships[source], seed, index,
                                  stream, thresholds).items():
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
  import tqdm

  out = out or sys.stdout
  export = Export(export_dir)
  names = extractive_tasks(export, split, tasks)
  models = ModelDir(model_dir)
  chosen = models.choose_steps(steps, newest_only=True)
  processor = sentencepiece_processor(export.vocabulary.path, vocab_model)
  eos_id = export.vocabulary.eos_id
  eval_dir = models.eval_dir(split)
  data, predictions = {}, {}
  for task in names:
    examples = export.examples(split, task)
    data[task] = TaskData(task, examples[:limit] if limit else examples,
                          labels)
    for step in chosen:
      predictions[task, step] = load_predictions(
          eval_dir, task, step, len(examples), model_dir)[:len(
              data[task].examples)]
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  results: Dict[str, Dict[int, Dict[str, Any]]] = {t: {} for t in names}
  for step in chosen:
    model, _ = model_lib.load_model(models.checkpoint_path(step),
                                    export.vocabulary.size)
    model.to(device)
    for task in names:
      task_data = data[task]
      scorer = label_scorer.LabelScorer(
          model, task_data.labels,
          label_scorer.label_token_ids(processor, task_data.labels), device,
          batch_size, export.vocabulary.pad_id)
      target = records.output_path(eval_dir, task, step)
      bar = tqdm.tqdm(total=len(task_data.examples), unit="ex",
                      desc="%s@%d" % (task, step), file=sys.stderr,
                      disable=not progress, dynamic_ncols=True)
      rows = []  # Only a few numbers per example stay in memory.
      os.makedirs(eval_dir, exist_ok=True)
      with open(target + ".tmp", "w", encoding="utf-8") as f:
        for record in score_task(task_data, predictions[task, step], scorer,
                                 processor, export.sequence_length,
                                 eos_id, seed, {"split": split, "step": step},
                                 bar):
          f.write(json.dumps(record, sort_keys=True) + "\n")
          rows.append(records.summary_row(record))
      bar.close()
      os.replace(target + ".tmp", target)
      summary = records.summarize_rows(rows, num_bootstrap, seed)
      results[task][step] = {"path": target, "examples": len(rows),
                             "summary": summary}
      print(describe(task, step, split, rows, task_data.labels,
                     num_bootstrap, seed), file=out)
      print(records.format_table(summary), file=out)
      print("wrote %s" % target, file=out)
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 faithfulness`."""
  for option in (cli_options.MODEL_DIR, cli_options.EXPORT, cli_options.SPLIT):
    option.add(parser)
  cli_options.STEP.add(parser, help="Checkpoint step (repeatable; default "
                       "the newest).")
  cli_options.TASK.add(parser, help="Task (repeatable; default every "
                       "extractive task, or with --counterfactual every "
                       "abstractive one).")
  cli_options.BATCH_SIZE.add(parser, help="Inputs per forward pass (memory "
                             "is bounded by this times the number of "
                             "labels).")
  parser.add_argument("--seed", type=int, default=0,
                      help="Seed of the random rationales, the tie-breaking "
                      "and the bootstrap.")
  parser.add_argument("--bootstrap", type=int, default=1000,
                      help="Bootstrap resamples for the 95%% intervals.")
  parser.add_argument("--labels", default=None,
                      help="Comma-separated label set (default: the labels "
                      "of the split's targets).")
  parser.add_argument("--limit", type=int, default=None,
                      help="Score only the first N examples of each task.")
  cli_options.VOCAB_MODEL.add(parser)
  parser.add_argument("--no_progress", action="store_true",
                      help="Do not draw the progress bar.")
  parser.add_argument("--counterfactual", action="store_true",
                      help="The counterfactual test of abstractive "
                      "explanations (wt5.faithfulness.counterfactual) "
                      "instead of ERASER's scores.")
  parser.add_argument("--insertions", type=int, default=4,
                      help="With --counterfactual: words inserted per example.")
  parser.add_argument("--field", action="append", default=None,
                      help="With --counterfactual: a text field to insert "
                      "into (repeatable; default hypothesis, premise, "
                      "question).")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 faithfulness`."""
  os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `wt5 train`
  labels = [l.strip() for l in args.labels.split(",")] if args.labels else None
  try:
    if args.counterfactual:
      counterfactual.counterfactual(
          args.model_dir, args.export_dir, args.split, args.step, args.task,
          args.batch_size, args.seed, args.bootstrap, args.insertions,
          args.field or insertions.DEFAULT_FIELDS, args.vocab_model,
          args.limit, progress=not args.no_progress)
      return 0
    faithfulness(args.model_dir, args.export_dir, args.split, args.step,
                 args.task, args.batch_size, args.seed, args.bootstrap,
                 labels, args.vocab_model, args.limit,
                 progress=not args.no_progress)
  except (ExportError, ModelDirError, model_lib.ModelError,
          erase.PassageError, eval_files.EvalFileError,
          insertions.FieldError) as e:
    print("wt5 faithfulness: %s" % e, file=sys.stderr)
    return 2
  return 0
