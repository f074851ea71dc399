"""`wt5 simulatability`: leakage-adjusted simulatability (LAS) of abstractive explanations.

    wt5 export esnli_v010 --split train --no-mixed --output_dir exports/esnli ...
    wt5 evaluate --model_dir runs/esnli --export exports/esnli --split train
    wt5 evaluate --model_dir runs/esnli --export exports/esnli
    wt5 simulatability --model_dir runs/esnli --export exports/esnli \\
        --simulator tiny --steps 500 [--step 600]

Hase et al. 2020: simulators learn to predict the task model's *predicted*
label. From the task model's predictions at `--step` (default: the newest
step with predictions of the evaluation split), read from
`<model_dir>/<split>_eval/<task>_<step>_predictions` for the training split
(`--train_split`, decoded by `wt5 evaluate --split train` on a per-task
export) and the evaluation split (`--split`), three simulator exports are
written (the `wt5 export` format, the task's vocabulary) under
`<output_dir>/<task>_<step>/<X|XE|E>/export`:

    X   the task input                       "explain nli hypothesis: ..."
    XE  the input and the explanation        "explain nli hypothesis: ... explanation: ..."
    E   the explanation alone                "explanation: ..."

with the predicted label as the target (an empty explanation leaves XE
equal to X). Each simulator (`--simulator`: a size of `wt5 train` or a
checkpoint directory) is trained by `wt5 train` (run in this process,
packed) for `--steps` steps, and predicts the label of each evaluation example as the
most probable of the label set (the predicted and gold labels of both
splits; `wt5.faithfulness.label_scorer`). The table gives acc(X), acc(XE),
acc(E), the leaked and non-leaked groups and LAS with a bootstrap 95%
interval (`wt5.faithfulness.las`); one JSON line per example goes to
`<model_dir>/<split>_eval/<task>_<step>_simulatability.jsonl`:

    {"task": "esnli_v010", "split": "validation", "step": 600, "index": 0,
     "label": "neutral", "gold_label": "neutral", "explanation": "...",
     "simulated": {"X": "neutral", "XE": "neutral", "E": "entailment"},
     "correct": {"X": true, "XE": true, "E": false}, "leaked": false}

Nothing here imports TensorFlow or t5.
"""

import contextlib
import io
import json
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from wt5.faithfulness import counterfactual
from wt5.faithfulness import erase
from wt5.faithfulness import simulation
from wt5.formats import eval_files
from wt5.formats import export as export_format
from wt5.formats import model_dir as model_dir_format
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir
from wt5.pytorch import model as model_lib

KINDS = simulation.KINDS


def load_predictions(model_dir: str, split: str, task: str, step: int,
                     count: int) -> List[Dict[str, Any]]:
  """The task model's abstractive predictions of `split` at `step`, one per example."""
  path = eval_files.task_file(ModelDir(model_dir).eval_dir(split), task, step)
  if not os.path.exists(path):
    raise ExportError(
        "the %s split has no predictions of %s at step %d (%s is missing): "
        "decode it with `wt5 evaluate --model_dir %s --export EXPORT --split "
        "%s --step %d`, on an export of that split per task (`wt5 export %s "
        "--split %s --no-mixed`)" % (split, task, step, path, model_dir,
                                     split, step, task, split))
  values = eval_files.read_values(path, "literal")
  if len(values) != count:
    raise ExportError("%s has %d predictions for %d examples of "
                                  "the export" % (path, len(values), count))
  for lineno, value in enumerate(values, 1):
    if not isinstance(value, dict) or "label" not in value:
      raise ExportError(
          "%s:%d: not an abstractive postprocessor output" % (path, lineno))
  return values


def gold_label(example: Mapping[str, Any]) -> Optional[str]:
  """The gold label of an exported example (from its `target_line`), if any."""
  line = example.get("target_line")
  if line is None:
    return None
  value = eval_files.parse_literal(line, "target_line", 1)
  return str(value["label"]) if isinstance(value, dict) else None


def simulator_examples(kind: str, examples: Sequence[Mapping[str, Any]],
                       predictions: Sequence[Mapping[str, Any]],
                       processor: Any, lengths: Mapping[str, int],
                       eos_id: int, name: str) -> List[Dict[str, Any]]:
  """The export records of one simulator kind (`wt5.formats.export` format)."""
  records = []
  for example, prediction in zip(examples, predictions):
    text = simulation.simulator_input(kind, example["inputs_pretokenized"],
                                      simulation.explanation_text(prediction))
    label = str(prediction["label"])
    records.append({
        "task": name, "inputs_pretokenized": text,
        "targets_pretokenized": label,
        "inputs": erase.encode(processor, text, lengths["inputs"], eos_id),
        "targets": erase.encode(processor, label, lengths["targets"], eos_id)})
  return records


def write_export(export_dir: str, vocabulary: Mapping[str, Any], name: str,
                 lengths: Mapping[str, int],
                 splits: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
  """Writes a simulator export: "train" as a mixture file, the others per task."""
  manifest = export_format.new_manifest(name, vocabulary, lengths)
  manifest["tasks"][name] = {"rate": 1.0, "postprocessor": None,
                             "metrics": []}
  for split, records in splits.items():
    relative = ("train.jsonl" if split == "train" else
                os.path.join(split, name + ".jsonl"))
    counts = export_format.write_examples(iter(records),
                                          os.path.join(export_dir, relative))
    manifest["splits"][split] = (
        export_format.mixture_entry(relative, counts, 0) if split == "train"
        else export_format.per_task_entry({name: relative}, counts))
  export_format.write_manifest(export_dir, manifest)


def label_set(labels: Sequence[str], processor: Any
              ) -> Tuple[List[str], List[str]]:
  """The distinct labels, sorted: those with tokens, and those without.

  label_set(["neutral", "", "entailment", "neutral"], sp)
    -> (["entailment", "neutral"], [""])
  """
  distinct = sorted(set(labels))
  empty = [l for l in distinct if not list(processor.EncodeAsIds(l))]
  return [l for l in distinct if l not in empty], empty


def check_simulator(simulator: str) -> None:
  """Raises ModelError unless `simulator` is a size of `wt5 train` or a model directory."""
  if (simulator in model_lib.PRESETS or
      model_dir_format.is_checkpoint_dir(simulator)):
    return
  raise model_lib.ModelError(
      "--simulator %r is neither a model size (%s) nor a model directory "
      "(a checkpoint with config.json)" % (simulator,
                                           ", ".join(model_lib.PRESETS)))


def train_simulator(export_dir: str, model_dir: str, simulator: str,
                    steps: int, batch_size: int, learning_rate: float,
                    seed: int, progress: bool) -> None:
  """Trains one simulator by running `wt5 train` (packed) in this process."""
  from wt5 import cli
  argv = ["train", "--export", export_dir, "--model_dir", model_dir,
          "--model", simulator, "--steps", str(steps), "--batch_size",
          str(batch_size), "--learning_rate", repr(learning_rate),
          "--save_steps", str(steps), "--save_total_limit", "1",
          "--logging_steps", str(max(1, steps // 10)), "--seed", str(seed)]
  log = io.StringIO()
  with contextlib.redirect_stdout(log), contextlib.redirect_stderr(
      sys.stderr if progress else log):
    code = cli.main(argv)
  if code:
    raise model_lib.ModelError("training the simulator %s failed: %s" % (
        model_dir, log.getvalue().strip()[-2000:]))


def newest_step(model_dir: str, split: str, task: str) -> int:
  """The newest step with `task`'s predictions of `split`."""
  eval_dir = ModelDir(model_dir).eval_dir(split)
  files = (eval_files.find_eval_files(eval_dir).get(task)
           if os.path.isdir(eval_dir) else None)
  if not files or not files.predictions:
    raise ExportError(
        "the %s split has no predictions of %s in %s: decode it first with "
        "`wt5 evaluate --model_dir %s --export EXPORT --split %s`" % (
            split, task, eval_dir, model_dir, split))
  return max(files.predictions)


def simulatability(model_dir: str, export_dir: str, simulator: str,
                   steps: int, step: Optional[int] = None,
                   split: str = "validation", train_split: str = "train",
                   tasks: Optional[Sequence[str]] = None,
                   batch_size: int = 16, learning_rate: float = 1e-3,
                   seed: int = 0, num_bootstrap: int = 1000,
                   output_dir: Optional[str] = None,
                   vocab_model: Optional[str] = None, out=None,
                   progress: bool = True) -> Dict[str, Dict[int, Dict[str, Any]]]:
  """Builds the exports, trains the simulators, writes the records, prints the table.

  Returns {task: {step: {"path": ..., "summary": `simulation.summarize(...)`}}}.
  """
  import torch
  from wt5.faithfulness import label_scorer
  from wt5.pytorch.decoding import sentencepiece_processor

  out = out or sys.stdout
  check_simulator(simulator)
  export = Export(export_dir)
  names = counterfactual.abstractive_tasks(export.manifest, split, tasks)
  processor = sentencepiece_processor(export.vocabulary.path, vocab_model)
  eos_id = export.vocabulary.eos_id
  lengths = export.sequence_length
  output_dir = output_dir or os.path.join(model_dir, "simulators")
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  results: Dict[str, Dict[int, Dict[str, Any]]] = {}
  table = []
  for task in names:
    chosen = step if step is not None else newest_step(model_dir, split, task)
    data = {s: export.examples(s, task) for s in (train_split, split)}
    predictions = {s: load_predictions(model_dir, s, task, chosen,
                                       len(data[s])) for s in data}
    labels, unscorable = label_set(
        [str(p["label"]) for s in data for p in predictions[s]] +
        [g for s in data for g in map(gold_label, data[s]) if g is not None],
        processor)
    if unscorable:
      print("%s: the labels %s encode to no token; no simulator can give "
            "them, so examples with them count as not simulated" % (
                task, unscorable), file=out)
    if len(labels) < 2:
      raise ExportError(
          "%s: the predictions and targets hold the labels %s only; a "
          "simulator needs two labels or more" % (task, labels))
    label_ids = label_scorer.label_token_ids(processor, labels)
    sim_lengths = {"inputs": int(lengths["inputs"]) + int(lengths["targets"]),
                   "targets": max(map(len, label_ids)) + 1}
    root = os.path.join(output_dir, "%s_%d" % (task, chosen))
    simulated = {}
    for kind in KINDS:
      name = "%s_simulator_%s" % (task, kind)
      sim_export = os.path.join(root, kind, "export")
      sim_model = os.path.join(root, kind, "model")
      if ModelDir(sim_model).steps():
        raise model_lib.ModelError(
            "%s already holds a trained simulator; remove it or choose "
            "another --output_dir" % sim_model)
      records = {s: simulator_examples(kind, data[s], predictions[s],
                                       processor, sim_lengths, eos_id, name)
                 for s in data}
      write_export(sim_export, export.manifest["vocabulary"], name,
                   sim_lengths,
                   {"train": records[train_split], split: records[split]})
      train_simulator(sim_export, sim_model, simulator, steps, batch_size,
                      learning_rate, seed, progress)
      model, _ = model_lib.load_model(ModelDir(sim_model).latest,
                                      export.vocabulary.size)
      model.to(device)
      scorer = label_scorer.LabelScorer(model, labels, label_ids, device,
                                        batch_size, export.vocabulary.pad_id)
      probabilities = scorer.probabilities([r["inputs"] for r in
                                            records[split]])
      simulated[kind] = [labels[int(i)] for i in probabilities.argmax(axis=1)]
    rows = []
    eval_dir = ModelDir(model_dir).eval_dir(split)
    os.makedirs(eval_dir, exist_ok=True)
    target = simulation.output_path(eval_dir, task, chosen)
    with open(target + ".tmp", "w", encoding="utf-8") as f:
      for index, (example, prediction) in enumerate(zip(data[split],
                                                        predictions[split])):
        label = str(prediction["label"])
        record = {"task": task, "split": split, "step": chosen,
                  "index": index, "label": label,
                  "gold_label": gold_label(example),
                  "explanation": simulation.explanation_text(prediction),
                  "simulated": {k: simulated[k][index] for k in KINDS},
                  "correct": {k: simulated[k][index] == label for k in KINDS}}
        record["leaked"] = record["correct"]["E"]
        f.write(json.dumps(record, sort_keys=True) + "\n")
        rows.append(record)
    os.replace(target + ".tmp", target)
    summary = simulation.summarize(rows, num_bootstrap, seed)
    results[task] = {chosen: {"path": target, "summary": summary}}
    table.append(simulation.table_row(task, chosen, summary))
    print("wrote %s" % target, file=out)
  print("Simulatability (%s split; simulators %s, %d steps, trained on the "
        "%s split): accuracy of each simulator at the task model's predicted "
        "label; LAS with a bootstrap 95%% interval (%d resamples of the "
        "examples, seed %d):" % (split, simulator, steps, train_split,
                                 num_bootstrap, seed), file=out)
  print(simulation.format_table(table), file=out)
  return results
