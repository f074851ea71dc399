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
the task are computed in the run as well, by the function `wt5 score` uses
(`wt5.scoring.metric_fns.compute_metrics`), and printed. The inputs and
targets files are written once (and not at all when they already hold the
same lines); each task's postprocessor and metrics are imported once.
Decoding itself is `wt5.pytorch.decoding`.

The WT5 postprocessors and metrics need neither TensorFlow nor t5; they are
imported by the names the export recorded. A task whose postprocessor cannot
be imported here (one of t5's, where TensorFlow is absent) is decoded into
`<task>_<step>_decoded` (one JSON string a line, the raw decoded text);
`wt5 evaluate --from_decoded` on a machine with TensorFlow postprocesses
those files into the usual ones.
"""

import dataclasses
import functools
import json
import os
import sys
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    TextIO)

from wt5 import answers
from wt5 import dotted
from wt5.formats import eval_files
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir
from wt5.pytorch.decoding import decode_examples, sentencepiece_processor
from wt5.scoring import metric_fns as metric_fns_lib

DECODED_SUFFIX = "_decoded"
Results = Dict[str, Dict[int, Dict[str, float]]]  # task -> step -> metrics


# ---------------------------------------------------------------------------
# What to evaluate: the tasks.


def choose_tasks(export: Export, split: str,
                 tasks: Optional[Sequence[str]]) -> List[str]:
  """The split's tasks that have metrics, or those of `tasks` (each must)."""
  names = [t for t in export.tasks(split) if export.task_info(t)["metrics"]]
  if tasks:
    unknown = sorted(set(tasks) - set(names))
    if unknown:
      raise ExportError(
          "%s: no %s examples with metrics for %s; tasks: %s" % (
              export.path, split, ", ".join(unknown), ", ".join(names)))
    names = [t for t in names if t in tasks]
  return names


# ---------------------------------------------------------------------------
# A task's postprocessor and metrics, imported once.


def load_postprocessor(name: Optional[str],
                       kwargs: Optional[Mapping[str, Any]] = None
                       ) -> Callable[..., Any]:
  """The postprocessor recorded in the manifest (identity for None).

  load_postprocessor("wt5.postprocessors.abstractive_explanations") -> the function
  """
  if not name:
    return answers.identity_postprocessor
  fn = dotted.import_object(name)
  return functools.partial(fn, **kwargs) if kwargs else fn


def input_value(example: Mapping[str, Any]) -> bytes:
  """What the binary writes into `<task>_inputs`: the input's UTF-8 bytes.

  input_value({"inputs_pretokenized": "café"}) -> b"caf\\xc3\\xa9"
  """
  return example["inputs_pretokenized"].encode("utf-8")


def mesh_example(example: Mapping[str, Any]) -> Dict[str, Any]:
  """The example as postprocessors see it in t5_mesh_transformer (bytes strings)."""
  import numpy as np
  return {"inputs": np.array(example["inputs"], dtype=np.int32),
          "targets": np.array(example["targets"], dtype=np.int32),
          "inputs_pretokenized": example["inputs_pretokenized"].encode("utf-8"),
          "targets_pretokenized": example["targets_pretokenized"].encode("utf-8")}


def target_values(examples: Sequence[Mapping[str, Any]],
                  postprocess: Callable[..., Any]) -> List[Any]:
  """The postprocessed targets (what `<task>_targets` holds, as values)."""
  return [postprocess(e["targets_pretokenized"], example=mesh_example(e),
                      is_target=True) for e in examples]


@dataclasses.dataclass
class TaskEvaluation:
  """What evaluating one task needs, read and imported once for all steps.

  `postprocess` is None when the postprocessor cannot be imported here
  (`unavailable` says why): the raw decodes are written instead. `metric_fns`
  is None when a metric function cannot be imported (`no_metrics` says why).
  """
  name: str
  examples: List[Mapping[str, Any]]
  postprocess: Optional[Callable[..., Any]]
  unavailable: str = ""
  postprocessor: Optional[str] = None
  metric_fns: Optional[List[metric_fns_lib.MetricFn]] = None
  no_metrics: str = ""
  targets: List[Any] = dataclasses.field(default_factory=list)


def prepare_task(name: str, info: Mapping[str, Any],
                 examples: List[Mapping[str, Any]]) -> TaskEvaluation:
  """Imports the task's postprocessor and metrics; postprocesses its targets."""
  try:
    postprocess = load_postprocessor(info["postprocessor"],
                                     info.get("postprocessor_kwargs"))
  except ImportError as e:
    return TaskEvaluation(name, examples, None, unavailable=str(e),
                          postprocessor=info["postprocessor"])
  task = TaskEvaluation(name, examples, postprocess,
                        postprocessor=info["postprocessor"],
                        targets=target_values(examples, postprocess))
  try:
    task.metric_fns = [dotted.import_object(m) for m in info["metrics"]]
  except ImportError as e:
    task.no_metrics = str(e)
  return task


# ---------------------------------------------------------------------------
# Writing eval files.


def write_reference_files(eval_dir: str, task: str,
                          examples: Sequence[Mapping[str, Any]]) -> None:
  """Writes `<task>_inputs` and `<task>_targets` unless they hold that already."""
  eval_files.write_values_unless_same(
      [input_value(e) for e in examples],
      eval_files.task_file(eval_dir, task, "inputs"))
  eval_files.write_values_unless_same(
      [e["target_line"] for e in examples],
      eval_files.task_file(eval_dir, task, "targets"))


def write_predictions(eval_dir: str, task: str, step: int,
                      examples: Sequence[Mapping[str, Any]],
                      decoded: Sequence[str],
                      postprocess: Callable[..., Any]) -> List[Any]:
  """Writes `<task>_<step>_predictions`; returns the predictions."""
  predictions = [postprocess(d, example=mesh_example(e))
                 for d, e in zip(decoded, examples)]
  eval_files.write_values(predictions,
                          eval_files.task_file(eval_dir, task, step))
  return predictions


def decoded_file(eval_dir: str, task: str, step: int) -> str:
  """decoded_file("e", "mnli_v002", 100) -> "e/mnli_v002_100_decoded"."""
  return eval_files.step_file(eval_dir, task, step, DECODED_SUFFIX)


def write_decoded(eval_dir: str, task: str, step: int,
                  decoded: Sequence[str]) -> str:
  """Writes the raw decodes, one JSON string a line; returns the path."""
  path = decoded_file(eval_dir, task, step)
  eval_files.write_values([json.dumps(d, ensure_ascii=False) for d in decoded],
                          path)
  return path


# ---------------------------------------------------------------------------
# Evaluating.


def print_metrics(task: str, step: int, values: Mapping[str, float],
                  out: TextIO) -> None:
  """One line per metric, as t5_mesh_transformer logs them.

  print_metrics("t", 100, {"accuracy": 50.0}, out) writes
  "eval/t/accuracy at step 100: 50.000".
  """
  for metric, value in sorted(values.items()):
    print("eval/%s/%s at step %d: %.3f" % (task, metric, step, value), file=out)


def evaluate_step(task: TaskEvaluation, step: int, decoded: Sequence[str],
                  eval_dir: str, out: TextIO) -> Optional[Dict[str, float]]:
  """Writes one checkpoint's files for `task`; returns its metrics, if computed."""
  if task.postprocess is None:
    write_decoded(eval_dir, task.name, step, decoded)
    print("%s: step %d: postprocessor %s not importable here (%s); wrote "
          "the raw decodes to %s: run `wt5 evaluate --from_decoded` where "
          "TensorFlow is installed" % (
              task.name, step, task.postprocessor, task.unavailable,
              os.path.basename(decoded_file(eval_dir, task.name, step))),
          file=out)
    return None
  predictions = write_predictions(eval_dir, task.name, step, task.examples,
                                  decoded, task.postprocess)
  values, why = None, task.no_metrics
  if task.metric_fns is not None:
    try:
      values = metric_fns_lib.compute_metrics(task.targets, predictions,
                                              task.metric_fns)
    except metric_fns_lib.ScoringError as e:
      if not isinstance(e.__cause__, ImportError):
        raise
      why = str(e)
  if values is None:
    print("%s: step %d: metrics not computed here (%s); run `wt5 score "
          "%s`" % (task.name, step, why, eval_dir), file=out)
    return None
  print_metrics(task.name, step, values, out)
  return values


def evaluate(model_dir: str, export_dir: str, split: str = "validation",
             steps: Optional[Sequence[int]] = None,
             tasks: Optional[Sequence[str]] = None, batch_size: int = 32,
             vocab_model: Optional[str] = None, out=None) -> Results:
  """Decodes checkpoints; writes eval files; returns {task: {step: metrics}}.

  evaluate("runs/x", "exports/x") -> {"esnli_v010": {200: {"accuracy": 91.0, "bleu": ...}}}
  """
  import torch
  import transformers

  out = out or sys.stdout
  export = Export(export_dir)
  export.check_per_task(split)
  models = ModelDir(model_dir)
  chosen = models.choose_steps(steps)
  names = choose_tasks(export, split, tasks)
  processor = sentencepiece_processor(export.vocabulary.path, vocab_model)
  eos_id = export.vocabulary.eos_id
  max_length = export.sequence_length["targets"]
  eval_dir = models.eval_dir(split)
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  prepared = [prepare_task(t, export.task_info(t), export.examples(split, t))
              for t in names]
  for task in prepared:
    if task.postprocess is not None:
      write_reference_files(eval_dir, task.name, task.examples)
  results: Results = {t: {} for t in names}
  for step in chosen:
    path = models.checkpoint_path(step)
    model = transformers.T5ForConditionalGeneration.from_pretrained(path)
    export.check_embedding(model.config.vocab_size, path)
    model.to(device)
    for task in prepared:
      decoded = decode_examples(model, task.examples, processor, eos_id,
                                max_length, batch_size, device)
      values = evaluate_step(task, step, decoded, eval_dir, out)
      if values is not None:
        results[task.name][step] = values
  return results


def postprocess_decoded(model_dir: str, export_dir: str,
                        split: str = "validation") -> List[str]:
  """Turns `<task>_<step>_decoded` files into eval files (needs wt5.tasks).

  Uses the registered task's postprocessor; returns the files written.
  """
  import seqio
  import wt5.tasks

  eval_dir = ModelDir(model_dir).eval_dir(split)
  export = Export(export_dir)
  written = []
  for name in sorted(os.listdir(eval_dir)):
    if not name.endswith(DECODED_SUFFIX):
      continue
    task, _, step = name[:-len(DECODED_SUFFIX)].rpartition("_")
    with open(os.path.join(eval_dir, name), encoding="utf-8") as f:
      decoded = [json.loads(line) for line in f]
    examples = export.examples(split, task)
    if len(decoded) != len(examples):
      raise ExportError("%s has %d lines for %d examples" % (
          name, len(decoded), len(examples)))
    postprocess = seqio.get_mixture_or_task(task).postprocess_fn
    write_reference_files(eval_dir, task, examples)
    write_predictions(eval_dir, task, int(step), examples, decoded, postprocess)
    written.append("%s_%s_predictions" % (task, step))
  return written
