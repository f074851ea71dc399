"""`wt5 faithfulness --counterfactual`: do abstractive explanations name what changed the label?

    wt5 faithfulness --counterfactual --model_dir runs/esnli --export exports/esnli [--step 600]

The counterfactual test of Atanasova et al. 2023 ("Faithfulness Tests for
Natural Language Explanations"): for each example of every abstractive task
of the split (postprocessor `wt5.postprocessors.abstractive_explanations`),
`--insertions` words (default 4, seeded by `--seed` and the example's index)
are inserted into the input's text fields (`wt5.faithfulness.insertions`:
adjectives after determiners, adverbs after auxiliaries; the prefix and the
field names stay). The original and every edited input are decoded greedily
(as `wt5 evaluate`); an insertion flips the label when the edited input's
label differs from the original's, and a flip is unfaithful when the edited
input's explanation does not mention the inserted word. Per task and step:

    unfaithfulness = unfaithful flips / flips   (lower: more faithful)

with a bootstrap 95% interval over the examples (each resample the ratio of
the summed counts). One JSON line per example goes to
`<model_dir>/<split>_eval/<task>_<step>_counterfactual.jsonl`:

    {"task": "esnli_v010", "split": "validation", "step": 600, "index": 0,
     "input": "explain nli hypothesis: ...", "label": "entailment",
     "explanations": ["..."], "flips": 1, "unfaithful": 1,
     "insertions": [{"word": "tall", "kind": "adjective",
                     "rule": "after_determiner", "field": "premise",
                     "offset": 55, "input": "...", "label": "neutral",
                     "explanations": ["..."], "flipped": true,
                     "mentioned": false}, ...]}

Decoding goes through a `Decoder` (anything with `decode(texts) -> decoded
texts`); `ModelDecoder` runs a checkpoint, `--batch_size` inputs at a time.
Nothing here imports TensorFlow or t5.
"""

import json
import math
import os
import sys
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from wt5 import postprocessors
from wt5.faithfulness import erase
from wt5.faithfulness import insertions as insertions_lib
from wt5.faithfulness import records as records_lib
from wt5.faithfulness import scores
from wt5.formats import eval_files
from wt5.formats import export as export_format
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir

ABSTRACTIVE = "wt5.postprocessors.abstractive_explanations"
FILE_SUFFIX = "_counterfactual.jsonl"
TABLE_HEADER = ("task", "step", "examples", "insertions", "label flips",
                "unfaithful", "unfaithfulness (down)")


def output_path(eval_dir: str, task: str, step: int) -> str:
  """output_path("m/validation_eval", "esnli_v010", 300) -> "m/validation_eval/esnli_v010_300_counterfactual.jsonl"."""
  return eval_files.step_file(eval_dir, task, step, FILE_SUFFIX)


def find_files(eval_dir: str, task: str) -> Dict[int, str]:
  """The counterfactual files of `task` in `eval_dir` by step, steps sorted.

  find_files("m/validation_eval", "esnli_v010") -> {300: "m/validation_eval/esnli_v010_300_counterfactual.jsonl"}
  """
  return eval_files.find_step_files(eval_dir, task, FILE_SUFFIX)


def abstractive_tasks(manifest: Mapping[str, Any], split: str,
                      wanted: Optional[Sequence[str]]) -> List[str]:
  """The split's abstractive tasks (or those of `wanted`; each must be one)."""
  tasks = export_format.split_tasks(manifest, split)
  postprocessor = {t: manifest["tasks"][t].get("postprocessor") for t in tasks}
  for task in wanted or ():
    if task not in postprocessor:
      raise ExportError(
          "no %s examples of a task named %s; tasks: %s" % (
              split, task, ", ".join(tasks) or "none"))
    if postprocessor[task] != ABSTRACTIVE:
      raise ExportError(
          "%s is not an abstractive task (its postprocessor is %s, not %s): "
          "--counterfactual tests free-text explanations; run `wt5 "
          "faithfulness` without --counterfactual for ERASER's scores of "
          "extractive rationales" % (task, postprocessor[task], ABSTRACTIVE))
  names = [t for t in (wanted or tasks) if postprocessor[t] == ABSTRACTIVE]
  if not names:
    raise ExportError(
        "the export's %s split has no task whose postprocessor is %s "
        "(tasks: %s); --counterfactual tests free-text explanations" % (
            split, ABSTRACTIVE, ", ".join(
                "%s: %s" % (t, postprocessor[t]) for t in tasks) or "none"))
  return names


def parse_output(decoded: str) -> Dict[str, Any]:
  """A decoded text as label and explanations.

  parse_output("neutral explanation: A. explanation: B.")
    -> {"label": "neutral", "explanations": ["A.", "B."]}
  """
  parsed = postprocessors.abstractive_explanations(decoded)
  return {"label": str(parsed["label"]),
          "explanations": [str(e) for e in parsed["explanations"]]}


class ModelDecoder:
  """Greedy decoding of input texts with a checkpoint, as `wt5 evaluate`.

  ModelDecoder(model, sp, 1, {"inputs": 512, "targets": 256}, 32, "cpu")
    .decode(["explain nli hypothesis: ..."]) -> ["neutral explanation: ..."]
  Texts are encoded as seqio encodes them (`erase.encode`) and decoded
  longest first, `batch_size` at a time.
  """

  def __init__(self, model: Any, processor: Any, eos_id: int,
               lengths: Mapping[str, int], batch_size: int, device: Any):
    self.model, self.processor, self.eos_id = model, processor, eos_id
    self.lengths, self.batch_size, self.device = lengths, batch_size, device

  def encode(self, text: str) -> List[int]:
    """The ids the model sees for `text`."""
    return erase.encode(self.processor, text, int(self.lengths["inputs"]),
                        self.eos_id)

  def decode(self, texts: Sequence[str]) -> List[str]:
    """The decoded output of each text."""
    from wt5.pytorch import decoding
    examples = [{"inputs": self.encode(t), "targets": [self.eos_id]}
                for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -len(examples[i]["inputs"]))
    ids = decoding.generate(self.model, [examples[i] for i in order],
                            int(self.lengths["targets"]), self.batch_size,
                            self.device)
    result = [""] * len(texts)
    for i, row in zip(order, ids):
      result[i] = decoding.decode_ids(self.processor, row, self.eos_id)
    return result


def example_record(original: Mapping[str, Any],
                   edits: Sequence[insertions_lib.Insertion],
                   outputs: Sequence[Mapping[str, Any]],
                   info: Mapping[str, Any]) -> Dict[str, Any]:
  """One example's record (the module doc) from the parsed outputs.

  `original` is {"index", "input", "label", "explanations"}; `outputs` holds
  the parsed output of each edited input, in the order of `edits`.
  """
  rows = []
  for edit, output in zip(edits, outputs):
    flipped = output["label"] != original["label"]
    rows.append({"word": edit.word, "kind": edit.kind, "rule": edit.rule,
                 "field": edit.field, "offset": edit.offset,
                 "input": edit.text, "label": output["label"],
                 "explanations": output["explanations"], "flipped": flipped,
                 "mentioned": insertions_lib.mentions(output["explanations"],
                                                      edit.word)})
  flips, unfaithful = insertions_lib.flip_counts(rows)
  return {"task": info["task"], "split": info["split"], "step": info["step"],
          "index": original["index"], "input": original["input"],
          "label": original["label"],
          "explanations": original["explanations"], "flips": flips,
          "unfaithful": unfaithful, "insertions": rows}


def score_task(texts: Sequence[str], decoder: Any, count: int, seed: int,
               info: Mapping[str, Any], block: int = 32,
               fields: Sequence[str] = insertions_lib.DEFAULT_FIELDS,
               progress: Any = None) -> Iterator[Dict[str, Any]]:
  """Yields the record of each input text (see the module doc).

  `block` examples are decoded per `decoder.decode` call (their originals
  and all their edits), which bounds the memory.
  """
  for start in range(0, len(texts), block):
    plans = [(index, insertions_lib.plan(texts[index], count, seed, index,
                                          fields))
             for index in range(start, min(len(texts), start + block))]
    batch = []
    for index, edits in plans:
      batch.append(texts[index])
      batch.extend(e.text for e in edits)
    outputs = [parse_output(d) for d in decoder.decode(batch)]
    position = 0
    for index, edits in plans:
      original = dict(outputs[position], index=index, input=texts[index])
      yield example_record(original, edits,
                           outputs[position + 1:position + 1 + len(edits)],
                           info)
      position += 1 + len(edits)
      if progress is not None:
        progress.update(1)


def unfaithfulness(flips: Sequence[int], unfaithful: Sequence[int]
                   ) -> Optional[float]:
  """Unfaithful flips over all flips, or None without a flip.

  unfaithfulness([2, 0, 1], [1, 0, 1]) -> 0.6666666666666666 (2 of 3 flips)
  """
  total = sum(flips)
  return sum(unfaithful) / total if total else None


def ratio_interval(numerators: Sequence[float], denominators: Sequence[float],
                   num_samples: int = 1000, seed: int = 0,
                   confidence: float = 0.95) -> Optional[Dict[str, float]]:
  """sum(numerators) / sum(denominators) and its percentile bootstrap interval.

  Examples are resampled with replacement (numpy's generator seeded with
  `seed`); resamples whose denominators sum to 0 are left out. None when
  the denominators sum to 0.
  ratio_interval([1, 1], [1, 1]) -> {"mean": 1.0, "low": 1.0, "high": 1.0, "n": 2}
  """
  num = np.asarray(numerators, dtype=np.float64)
  den = np.asarray(denominators, dtype=np.float64)
  if den.sum() <= 0:
    return None
  rng = np.random.default_rng(seed)
  ratios = []
  step = max(1, 2_000_000 // num.size)  # Memory bounded for large splits.
  for begin in range(0, num_samples, step):
    picks = rng.integers(0, num.size, size=(min(step, num_samples - begin),
                                            num.size))
    totals = den[picks].sum(axis=1)
    kept = totals > 0
    ratios.append(num[picks].sum(axis=1)[kept] / totals[kept])
  values = np.concatenate(ratios)
  tail = (1.0 - confidence) / 2.0
  low, high = np.quantile(values, [tail, 1.0 - tail])
  return {"mean": float(num.sum() / den.sum()), "low": float(low),
          "high": float(high), "n": int(num.size)}


def summarize(rows: Sequence[Mapping[str, int]], num_samples: int = 1000,
              seed: int = 0) -> Dict[str, Any]:
  """Counts and the unfaithfulness interval of (insertions, flips, unfaithful) rows.

  summarize([{"insertions": 4, "flips": 2, "unfaithful": 1}])
    -> {"examples": 1, "insertions": 4, "flips": 2, "unfaithful": 1,
        "unfaithfulness": {"mean": 0.5, "low": 0.5, "high": 0.5, "n": 1}}
  """
  flips = [r["flips"] for r in rows]
  unfaithful = [r["unfaithful"] for r in rows]
  return {"examples": len(rows),
          "insertions": sum(r["insertions"] for r in rows),
          "flips": sum(flips), "unfaithful": sum(unfaithful),
          "unfaithfulness": ratio_interval(unfaithful, flips, num_samples,
                                           seed)}


def summary_row(record: Mapping[str, Any]) -> Dict[str, int]:
  """What the summary needs of a record: its three counts."""
  return {"insertions": len(record["insertions"]), "flips": record["flips"],
          "unfaithful": record["unfaithful"]}


def table_row(task: str, step: int, summary: Mapping[str, Any]) -> List[str]:
  """One row of the table, in the order of TABLE_HEADER.

  -> ["esnli_v010", "600", "100", "400", "37", "21", "0.568 [0.400, 0.730]"]
  """
  return [task, str(step)] + [str(summary[k]) for k in (
      "examples", "insertions", "flips", "unfaithful")] + [
          scores.format_interval(summary["unfaithfulness"])]


def format_table(rows: Sequence[Sequence[str]],
                 header: Sequence[str] = TABLE_HEADER) -> str:
  """The header and the rows, columns aligned."""
  rows = [list(header)] + [list(r) for r in rows]
  widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
  return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                   for r in rows)


def read_records(path: str) -> List[Dict[str, Any]]:
  """The records of a `_counterfactual.jsonl` file; ValueError naming a bad line."""
  return records_lib.read_records(path)


def counterfactual(model_dir: str, export_dir: str, split: str = "validation",
                   steps: Optional[Sequence[int]] = None,
                   tasks: Optional[Sequence[str]] = None,
                   batch_size: int = 32, seed: int = 0,
                   num_bootstrap: int = 1000, count: int = 4,
                   fields: Sequence[str] = insertions_lib.DEFAULT_FIELDS,
                   vocab_model: Optional[str] = None,
                   limit: Optional[int] = None, out=None,
                   progress: bool = True) -> Dict[str, Dict[int, Dict[str, Any]]]:
  """Runs the test on the chosen checkpoints; writes the files; prints the table.

  Returns {task: {step: {"path": ..., "summary": `summarize(...)`,
  "seconds": decoding and scoring time}}}.
  """
  import time
  import torch
  import tqdm
  from wt5.pytorch import model as model_lib
  from wt5.pytorch.decoding import sentencepiece_processor

  out = out or sys.stdout
  export = Export(export_dir)
  names = abstractive_tasks(export.manifest, split, tasks)
  models = ModelDir(model_dir)
  chosen = models.choose_steps(steps, newest_only=True)
  processor = sentencepiece_processor(export.vocabulary.path, vocab_model)
  texts = {}
  for task in names:
    examples = export.examples(split, task)
    texts[task] = [e["inputs_pretokenized"] for e in examples][:limit]
    if not any(insertions_lib.field_spans(t, fields) for t in texts[task]):
      raise insertions_lib.FieldError(
          "%s: no input has a text field named %s (first input: %r); name "
          "the task's text fields with --field" % (
              task, "/".join(fields), texts[task][0][:100] if texts[task]
              else ""))
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  eval_dir = models.eval_dir(split)
  os.makedirs(eval_dir, exist_ok=True)
  results: Dict[str, Dict[int, Dict[str, Any]]] = {t: {} for t in names}
  table = []
  for step in chosen:
    model, _ = model_lib.load_model(models.checkpoint_path(step),
                                    export.vocabulary.size)
    model.to(device)
    decoder = ModelDecoder(model, processor, export.vocabulary.eos_id,
                           export.sequence_length, batch_size, device)
    for task in names:
      target = output_path(eval_dir, task, step)
      bar = tqdm.tqdm(total=len(texts[task]), unit="ex", file=sys.stderr,
                      desc="%s@%d counterfactual" % (task, step),
                      disable=not progress, dynamic_ncols=True)
      rows, started = [], time.perf_counter()
      info = {"task": task, "split": split, "step": step}
      with open(target + ".tmp", "w", encoding="utf-8") as f:
        for record in score_task(texts[task], decoder, count, seed, info,
                                 max(1, batch_size // (count + 1)), fields,
                                 bar):
          f.write(json.dumps(record, sort_keys=True) + "\n")
          rows.append(summary_row(record))
      bar.close()
      os.replace(target + ".tmp", target)
      summary = summarize(rows, num_bootstrap, seed)
      results[task][step] = {"path": target, "summary": summary,
                             "seconds": time.perf_counter() - started}
      table.append(table_row(task, step, summary))
      print("wrote %s (%.1f s per 1,000 examples)" % (
          target, seconds_per_thousand(results[task][step]["seconds"],
                                       len(rows))), file=out)
  print("Counterfactual test (%s split, %d insertions an example, seed %d): "
        "unfaithfulness = flips whose explanation does not mention the "
        "inserted word / flips, with bootstrap 95%% intervals (%d resamples "
        "of the examples):" % (split, count, seed, num_bootstrap), file=out)
  print(format_table(table), file=out)
  return results


def seconds_per_thousand(seconds: float, examples: int) -> float:
  """seconds_per_thousand(12.0, 60) -> 200.0"""
  return math.inf if not examples else 1000.0 * seconds / examples
