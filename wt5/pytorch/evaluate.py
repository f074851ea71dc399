"""`wt5 evaluate`: decodes checkpoints on an exported split into t5 eval files.

For every checkpoint (`<model_dir>/checkpoint-<step>`, or the ones chosen
with `--step`) and every task of the export's evaluation split that has
metrics, greedy decoding (as `greedy_decode.gin`) of the task's examples
writes, in `<model_dir>/<split>_eval/`, the files `t5_mesh_transformer`
writes, byte for byte in its format:

    <task>_inputs               str() of each input's UTF-8 bytes ("b'...'")
    <task>_targets              the export's `target_line` of each example
    <task>_<step>_predictions   str() of the task's postprocessor output

so that `wt5 score <model_dir>/<split>_eval` re-scores them. The metrics of
the task (`wt5.metrics`) are computed in the run as well, and printed.

The WT5 postprocessors and metrics need neither TensorFlow nor t5; they are
imported by the names the export recorded. A task whose postprocessor cannot
be imported here (one of t5's, where TensorFlow is absent) is decoded into
`<task>_<step>_decoded` (one JSON string a line, the raw decoded text);
`wt5 evaluate --from_decoded` on a machine with TensorFlow postprocesses
those files into the usual ones.
"""

import argparse
import functools
import importlib
import json
import os
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from wt5.scoring import eval_files
from wt5.export import files as export_data
from wt5.pytorch import batching
from wt5.pytorch import model as model_lib
from wt5.pytorch import train as train_lib

DECODED_SUFFIX = "_decoded"


def import_object(dotted: str) -> Any:
  """Imports `module.attr`: import_object("wt5.metrics.esnli_metric") -> the function."""
  module_name, _, attr = dotted.rpartition(".")
  obj = importlib.import_module(module_name)
  return getattr(obj, attr)


def identity_postprocessor(value, example=None, is_target=False):  # pylint: disable=unused-argument
  """A task without a postprocessor keeps the decoded text."""
  return value


def load_postprocessor(name: Optional[str],
                       kwargs: Optional[Mapping[str, Any]] = None
                       ) -> Callable[..., Any]:
  """The postprocessor recorded in the manifest (identity for None).

  load_postprocessor("wt5.postprocessors.abstractive_explanations") -> the function
  """
  if not name:
    return identity_postprocessor
  fn = import_object(name)
  return functools.partial(fn, **kwargs) if kwargs else fn


def decode_ids(processor: Any, ids: Sequence[int], eos_id: int = 1) -> str:
  """Decodes like `seqio.SentencePieceVocabulary.decode`, without TensorFlow.

  Ids past the SentencePiece model (extra ids) become unk, everything after
  the first EOS is dropped, and SentencePiece ignores pad and EOS.

  decode_ids(sp, [0, 37, 5, 1, 0, 0]) -> "entailment"
  """
  size = processor.GetPieceSize()
  unk = processor.unk_id()
  clean = [unk if i >= size else int(i) for i in ids]
  if eos_id in clean:
    clean = clean[:clean.index(eos_id) + 1]
  return processor.DecodeIds(clean)


def sentencepiece_processor(manifest: Mapping[str, Any],
                            vocab_model: Optional[str] = None) -> Any:
  """The export's SentencePiece model (or `vocab_model`) as a processor."""
  import sentencepiece as spm  # pylint: disable=g-import-not-at-top
  path = vocab_model or manifest["vocabulary"]["path"]
  if path.startswith("gs://"):
    raise export_data.ExportError(
        "The export's vocabulary %s is on Google Cloud Storage; pass a local "
        "copy with --vocab_model (Hugging Face T5 checkpoints ship it as "
        "spiece.model)" % path)
  processor = spm.SentencePieceProcessor()
  try:
    processor.Load(path)
  except (OSError, RuntimeError) as e:
    raise export_data.ExportError("cannot read the vocabulary %s: %s (pass "
                                  "--vocab_model)" % (path, e)) from None
  return processor


def input_value(example: Mapping[str, Any]) -> bytes:
  """What the binary writes into `<task>_inputs`: the input's UTF-8 bytes.

  input_value({"inputs_pretokenized": "café"}) -> b"caf\\xc3\\xa9"
  """
  return example["inputs_pretokenized"].encode("utf-8")


def mesh_example(example: Mapping[str, Any]) -> Dict[str, Any]:
  """The example as postprocessors see it in t5_mesh_transformer (bytes strings)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  return {"inputs": np.array(example["inputs"], dtype=np.int32),
          "targets": np.array(example["targets"], dtype=np.int32),
          "inputs_pretokenized": example["inputs_pretokenized"].encode("utf-8"),
          "targets_pretokenized": example["targets_pretokenized"].encode("utf-8")}


def generate(model: Any, examples: Sequence[Mapping[str, Any]],
             max_length: int, batch_size: int, device: Any) -> List[List[int]]:
  """Greedy decodes; returns the generated ids of each example (no start id)."""
  import torch  # pylint: disable=g-import-not-at-top
  collator = batching.Collator()
  outputs: List[List[int]] = []
  model.eval()
  with torch.no_grad():
    for start in range(0, len(examples), batch_size):
      batch = collator(examples[start:start + batch_size])
      ids = model.generate(
          input_ids=batch["input_ids"].to(device),
          attention_mask=batch["attention_mask"].to(device),
          max_new_tokens=max_length, do_sample=False, num_beams=1)
      outputs.extend(row[1:] for row in ids.tolist())
  return outputs


def compute_metrics(metric_names: Sequence[str], targets: Sequence[Any],
                    predictions: Sequence[Any]) -> Dict[str, float]:
  """Applies each named metric function; merges their dicts."""
  values: Dict[str, float] = {}
  for name in metric_names:
    values.update(import_object(name)(list(targets), list(predictions)))
  return {k: float(v) for k, v in values.items()}


def write_task_files(eval_dir: str, task: str, step: int,
                     examples: Sequence[Mapping[str, Any]],
                     decoded: Sequence[str],
                     postprocess: Callable[..., Any]) -> List[Any]:
  """Writes a task's inputs, targets and step predictions; returns the predictions."""
  eval_files.write_values([input_value(e) for e in examples],
                          eval_files.task_file(eval_dir, task, "inputs"))
  eval_files.write_values([e["target_line"] for e in examples],
                          eval_files.task_file(eval_dir, task, "targets"))
  predictions = [postprocess(d, example=mesh_example(e))
                 for d, e in zip(decoded, examples)]
  eval_files.write_values(predictions,
                          eval_files.task_file(eval_dir, task, step))
  return predictions


def target_values(examples: Sequence[Mapping[str, Any]],
                  postprocess: Callable[..., Any]) -> List[Any]:
  """The postprocessed targets (what `<task>_targets` holds, as values)."""
  return [postprocess(e["targets_pretokenized"], example=mesh_example(e),
                      is_target=True) for e in examples]


def evaluate(model_dir: str, export_dir: str, split: str = "validation",
             steps: Optional[Sequence[int]] = None,
             tasks: Optional[Sequence[str]] = None, batch_size: int = 32,
             vocab_model: Optional[str] = None, out=None
             ) -> Dict[str, Dict[int, Dict[str, float]]]:
  """Decodes checkpoints; writes eval files; returns {task: {step: metrics}}.

  evaluate("runs/x", "exports/x") -> {"esnli_v010": {200: {"accuracy": 91.0, "bleu": ...}}}
  """
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  out = out or sys.stdout
  manifest = export_data.read_manifest(export_dir)
  entry = export_data.split_entry(manifest, split, export_dir)
  if entry["kind"] != "per_task":
    raise export_data.ExportError(
        "%s: split %r was exported as a sampled mixture; export evaluation "
        "splits per task (`wt5 export NAME --split %s`)" % (export_dir, split,
                                                             split))
  available = checkpoint_steps_or_error(model_dir)
  chosen = sorted(steps) if steps else available
  missing = [s for s in chosen if s not in available]
  if missing:
    raise model_lib.ModelError("%s has no checkpoint-%d; it has steps %s" % (
        model_dir, missing[0], available))
  names = [t for t in export_data.split_tasks(manifest, split)
           if manifest["tasks"][t]["metrics"]]
  if tasks:
    unknown = sorted(set(tasks) - set(names))
    if unknown:
      raise export_data.ExportError(
          "%s: no %s examples with metrics for %s; tasks: %s" % (
              export_dir, split, ", ".join(unknown), ", ".join(names)))
    names = [t for t in names if t in tasks]
  processor = sentencepiece_processor(manifest, vocab_model)
  eos_id = int(manifest["vocabulary"]["eos_id"])
  max_length = int(manifest["sequence_length"]["targets"])
  eval_dir = os.path.join(model_dir, "%s_eval" % split)
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  examples = {t: export_data.read_split(export_dir, split, t) for t in names}
  results: Dict[str, Dict[int, Dict[str, float]]] = {t: {} for t in names}
  for step in chosen:
    path = os.path.join(model_dir, "checkpoint-%d" % step)
    model = transformers.T5ForConditionalGeneration.from_pretrained(path)
    export_data.check_vocabulary(manifest, model.config.vocab_size, path)
    model.to(device)
    for task in names:
      info = manifest["tasks"][task]
      ids = generate(model, examples[task], max_length, batch_size, device)
      decoded = [decode_ids(processor, row, eos_id) for row in ids]
      try:
        postprocess = load_postprocessor(info["postprocessor"],
                                         info.get("postprocessor_kwargs"))
      except ImportError as e:
        eval_files.write_values(
            [json.dumps(d, ensure_ascii=False) for d in decoded],
            os.path.join(eval_dir, "%s_%d%s" % (task, step, DECODED_SUFFIX)))
        print("%s: step %d: postprocessor %s not importable here (%s); wrote "
              "the raw decodes to %s_%d%s: run `wt5 evaluate --from_decoded` "
              "where TensorFlow is installed" % (
                  task, step, info["postprocessor"], e, task, step,
                  DECODED_SUFFIX), file=out)
        continue
      predictions = write_task_files(eval_dir, task, step, examples[task],
                                     decoded, postprocess)
      targets = target_values(examples[task], postprocess)
      try:
        values = compute_metrics(info["metrics"], targets, predictions)
      except ImportError as e:
        print("%s: step %d: metrics not computed here (%s); run `wt5 score "
              "%s`" % (task, step, e, eval_dir), file=out)
        continue
      results[task][step] = values
      for metric, value in sorted(values.items()):
        print("eval/%s/%s at step %d: %.3f" % (task, metric, step, value),
              file=out)
  return results


def checkpoint_steps_or_error(model_dir: str) -> List[int]:
  """The checkpoint steps of `model_dir`, or an error when there is none."""
  steps = train_lib.checkpoint_steps(model_dir)
  if not steps:
    raise model_lib.ModelError("%s: no checkpoint-<step> directories; train "
                               "with `wt5 train --model_dir %s`" % (
                                   model_dir, model_dir))
  return steps


def postprocess_decoded(model_dir: str, export_dir: str,
                        split: str = "validation") -> List[str]:
  """Turns `<task>_<step>_decoded` files into eval files (needs wt5.tasks).

  Uses the registered task's postprocessor; returns the files written.
  """
  import seqio  # pylint: disable=g-import-not-at-top
  import wt5.tasks  # pylint: disable=g-import-not-at-top,unused-import

  eval_dir = os.path.join(model_dir, "%s_eval" % split)
  written = []
  for name in sorted(os.listdir(eval_dir)):
    if not name.endswith(DECODED_SUFFIX):
      continue
    task, _, step = name[:-len(DECODED_SUFFIX)].rpartition("_")
    with open(os.path.join(eval_dir, name), encoding="utf-8") as f:
      decoded = [json.loads(line) for line in f]
    examples = export_data.read_split(export_dir, split, task)
    if len(decoded) != len(examples):
      raise export_data.ExportError("%s has %d lines for %d examples" % (
          name, len(decoded), len(examples)))
    postprocess = seqio.get_mixture_or_task(task).postprocess_fn
    write_task_files(eval_dir, task, int(step), examples, decoded, postprocess)
    written.append("%s_%s_predictions" % (task, step))
  return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 evaluate`."""
  parser.add_argument("--model_dir", required=True,
                      help="A `wt5 train` model directory.")
  parser.add_argument("--export", dest="export_dir", required=True,
                      help="A `wt5 export` directory holding the split.")
  parser.add_argument("--split", default="validation")
  parser.add_argument("--step", type=int, action="append", default=None,
                      help="Checkpoint step to decode (repeatable; default all).")
  parser.add_argument("--task", action="append", default=None,
                      help="Task to evaluate (repeatable; default all with "
                      "metrics).")
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--vocab_model", default=None,
                      help="Local SentencePiece model, if the export's is not "
                      "readable here.")
  parser.add_argument("--from_decoded", action="store_true",
                      help="Postprocess `<task>_<step>_decoded` files written "
                      "where a postprocessor was not importable.")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 evaluate`."""
  os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `wt5 train`
  try:
    if args.from_decoded:
      for name in postprocess_decoded(args.model_dir, args.export_dir,
                                      args.split):
        print("wrote %s" % name)
      return 0
    evaluate(args.model_dir, args.export_dir, args.split, args.step,
             args.task, args.batch_size, args.vocab_model)
  except (export_data.ExportError, model_lib.ModelError) as e:
    print("wt5 evaluate: %s" % e, file=sys.stderr)
    return 2
  print("Wrote %s; re-score with `wt5 score %s`" % (
      os.path.join(args.model_dir, "%s_eval" % args.split),
      os.path.join(args.model_dir, "%s_eval" % args.split)))
  return 0
