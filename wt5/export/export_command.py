"""`wt5 export`: writes a registered task or mixture split to JSON Lines files.

The files carry what training and evaluation need where TensorFlow is not
installed (see `wt5.formats.export` for the format, its reader and writer): per example
the token ids exactly as the seqio task produces them (the vocabulary chosen
by `WT5_VOCAB_MODEL`, else T5's default; trimmed to the sequence lengths, EOS
appended), the pretokenized strings and the task's name.

- A training split (`--split train`, or `--mixed`) is written as one file of
  `--num_examples` examples drawn with seqio's own mixture sampling: each
  task's shuffled, repeated dataset, sampled by the mixture's rates
  (`Mixture._sample_fn`, `tf.data.Dataset.sample_from_datasets`) with the seed.
- Any other split is written per task, in the task's dataset order (no
  shuffling), as `t5_mesh_transformer` evaluates it; each example also
  carries `target_line`, the postprocessed target exactly as that binary
  writes it into `<task>_targets`.

    wt5 export esnli_mnli_all_explanations --split train --num_examples 100000 \\
        --output_dir exports/esnli_mnli --data_dir wt5_demo/data
    wt5 export esnli_mnli_all_explanations --split validation \\
        --output_dir exports/esnli_mnli --data_dir wt5_demo/data

Several splits may be exported into one directory; the manifest lists them.
"""

import argparse
import importlib
import json
import os
import sys
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

from wt5 import answers
from wt5 import cli_options
from wt5 import dotted
from wt5.formats import eval_files
from wt5.formats import export as export_format

DEFAULT_SEQUENCE_LENGTH = {"inputs": 512, "targets": 256}


def parse_sequence_length(text: str) -> Dict[str, int]:
  """Parses "INPUTS,TARGETS".

  parse_sequence_length("512,256") -> {"inputs": 512, "targets": 256}
  """
  parts = [p.strip() for p in text.split(",")]
  try:
    values = [int(p) for p in parts]
  except ValueError:
    values = []
  if len(values) != 2 or min(values) < 1:
    raise argparse.ArgumentTypeError(
        "expected INPUTS,TARGETS lengths such as 512,256, got %r" % text)
  return {"inputs": values[0], "targets": values[1]}


def text(value: Any) -> str:
  """A numpy string feature as str: text(b"caf\\xc3\\xa9") -> "café"."""
  return answers.as_text(value, errors="strict")


def example_record(task: str, ex: Mapping[str, Any],
                   postprocess_fn: Optional[Callable[..., Any]] = None
                   ) -> Dict[str, Any]:
  """One exported example from a numpy seqio example.

  example_record("t", {"inputs": np.array([5, 1]), "targets": np.array([1]),
  "inputs_pretokenized": b"a", "targets_pretokenized": b""})
  -> {"task": "t", "inputs": [5, 1], "targets": [1], "inputs_pretokenized": "a", "targets_pretokenized": ""}
  With `postprocess_fn`, also "target_line": the `<task>_targets` line.
  """
  record = {
      "task": task,
      "inputs": [int(i) for i in ex["inputs"]],
      "targets": [int(i) for i in ex["targets"]],
      "inputs_pretokenized": text(ex.get("inputs_pretokenized", b"")),
      "targets_pretokenized": text(ex.get("targets_pretokenized", b"")),
  }
  if postprocess_fn is not None:
    record["target_line"] = eval_files.eval_line(postprocess_fn(
        record["targets_pretokenized"], example=ex, is_target=True))
  return record


def partial_keywords(fn: Any) -> Dict[str, Any]:
  """The JSON-able keyword arguments bound by a functools.partial.

  partial_keywords(functools.partial(f, label_classes=("a", "b"))) -> {"label_classes": ["a", "b"]}
  """
  keywords = dict(getattr(fn, "keywords", None) or {})
  if getattr(fn, "args", None):
    raise ValueError("%r binds positional arguments; cannot record it" % (fn,))
  return json.loads(json.dumps(keywords))


def task_info(task: Any) -> Dict[str, Any]:
  """The manifest entry of one task: postprocessor and metric names.

  A postprocessor bound with functools.partial is recorded as its function
  and keyword arguments ("postprocessor_kwargs").
  """
  info = {
      "postprocessor": dotted.dotted_name(task.postprocessor),
      "metrics": [dotted.dotted_name(fn) for fn in task.metric_fns],
  }
  if task.postprocessor is not None and partial_keywords(task.postprocessor):
    info["postprocessor_kwargs"] = partial_keywords(task.postprocessor)
  return info


def subtasks_with_split(mixture_or_task: Any, split: str) -> List[Any]:
  """The tasks of a task or mixture that have `split`, in seqio's order."""
  import seqio
  return [t for t in seqio.get_subtasks(mixture_or_task) if split in t.splits]


def mixed_dataset(mixture_or_task: Any, split: str,
                  sequence_length: Mapping[str, int], seed: int):
  """The rate-sampled examples of a mixture, each with its task's name.

  Exactly seqio's `Mixture.get_dataset(shuffle=True, seed=seed,
  copy_pretokenized=True)`, plus a "task" feature added to each task's
  dataset before the sampling. A task is its own one-task mixture.
  """
  import seqio
  import tensorflow as tf

  if isinstance(mixture_or_task, seqio.Task):
    ds = mixture_or_task.get_dataset(sequence_length, split=split,
                                     shuffle=True, seed=seed, num_epochs=None)
    name = mixture_or_task.name
    return ds.map(lambda ex: dict(ex, task=tf.constant(name)))
  mixture = mixture_or_task
  tasks = subtasks_with_split(mixture, split)
  if not tasks:
    raise ValueError("%s: no task has a %r split" % (mixture.name, split))
  keys = set(mixture.output_features)
  keys |= {k + "_pretokenized" for k in keys}
  datasets = []
  for task in tasks:
    ds = mixture.get_task_dataset(task, keys, sequence_length, split, False,
                                  True, seed, None, None, True, True)
    datasets.append(ds.map(
        lambda ex, n=task.name: dict(ex, task=tf.constant(n))))
  rates = mixture._get_all_mixing_rates(tasks)
  return mixture._sample_fn(datasets, rates, seed)


def iter_mixed(mixture_or_task: Any, split: str,
               sequence_length: Mapping[str, int], seed: int,
               num_examples: int) -> Iterator[Dict[str, Any]]:
  """The first `num_examples` records of `mixed_dataset`."""
  ds = mixed_dataset(mixture_or_task, split, sequence_length, seed)
  for ex in ds.take(num_examples).as_numpy_iterator():
    yield example_record(text(ex["task"]), ex)


def iter_task(task: Any, split: str, sequence_length: Mapping[str, int]
              ) -> Iterator[Dict[str, Any]]:
  """A task's split in dataset order, with each example's `target_line`."""
  ds = task.get_dataset(sequence_length, split=split, shuffle=False,
                        num_epochs=1)
  postprocess = (task.postprocess_fn if task.postprocessor
                 else answers.identity_postprocessor)
  for ex in ds.as_numpy_iterator():
    yield example_record(task.name, ex, postprocess)


def vocabulary_info(vocabulary: Any) -> Dict[str, Any]:
  """The manifest's vocabulary entry of a seqio SentencePiece vocabulary."""
  return {"path": vocabulary.sentencepiece_model_file,
          "extra_ids": int(vocabulary.extra_ids),
          "size": int(vocabulary.vocab_size),
          "pad_id": int(vocabulary.pad_id), "eos_id": int(vocabulary.eos_id)}


def export(name: str, split: str, output_dir: str,
           sequence_length: Mapping[str, int] = DEFAULT_SEQUENCE_LENGTH,
           num_examples: Optional[int] = None, seed: int = 0,
           mixed: Optional[bool] = None, compress: bool = True,
           data_dir: Optional[str] = None) -> Dict[str, Any]:
  """Exports one split of a task or mixture; returns the updated manifest.

  `mixed` (default: split == "train") writes one rate-sampled file of
  `num_examples` examples; otherwise one file per task with the whole split
  (or its first `num_examples` examples).

  export("esnli_v010", "validation", "/tmp/x")["splits"]["validation"]["counts"] -> {"esnli_v010": 9842}
  """
  import seqio
  import wt5.mixtures

  if data_dir:
    seqio.set_tfds_data_dir_override(data_dir)
  mixture_or_task = seqio.get_mixture_or_task(name)
  mixed = split == "train" if mixed is None else mixed
  tasks = subtasks_with_split(mixture_or_task, split)
  if not tasks:
    raise ValueError("%s has no task with a %r split" % (name, split))
  vocabulary = vocabulary_info(tasks[0].output_features["targets"].vocabulary)
  manifest = export_format.load_or_new_manifest(output_dir, name, vocabulary,
                                                sequence_length)
  suffix = ".jsonl.gz" if compress else ".jsonl"
  is_mixture = isinstance(mixture_or_task, seqio.Mixture)
  for task in seqio.get_subtasks(mixture_or_task):
    manifest["tasks"][task.name] = dict(
        task_info(task),
        rate=float(mixture_or_task.get_rate(task)) if is_mixture else None)
  if mixed:
    if not num_examples:
      raise ValueError("a mixed (training) export needs num_examples: the "
                       "sampled stream repeats without end")
    relative = split + suffix
    counts = export_format.write_examples(
        iter_mixed(mixture_or_task, split, sequence_length, seed, num_examples),
        os.path.join(output_dir, relative))
    entry = export_format.mixture_entry(relative, counts, seed)
  else:
    files, counts = {}, {}
    for task in tasks:
      relative = os.path.join(split, task.name + suffix)
      records = iter_task(task, split, sequence_length)
      if num_examples:
        records = (r for _, r in zip(range(num_examples), records))
      task_counts = export_format.write_examples(
          records, os.path.join(output_dir, relative))
      files[task.name] = relative
      counts[task.name] = task_counts.get(task.name, 0)
    entry = export_format.per_task_entry(files, counts)
  manifest["splits"][split] = entry
  export_format.write_manifest(output_dir, manifest)
  return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 export`."""
  parser.add_argument("name", help="A registered WT5 task or mixture.")
  cli_options.SPLIT.add(parser, default="train")
  parser.add_argument("--output_dir", required=True,
                      help="Directory of the export (manifest.json and files).")
  parser.add_argument("--sequence_length", type=parse_sequence_length,
                      default=dict(DEFAULT_SEQUENCE_LENGTH),
                      help="INPUTS,TARGETS token lengths to trim to "
                      "(default 512,256, the e-SNLI lengths).")
  parser.add_argument("--num_examples", type=int, default=None,
                      help="Examples to draw for a mixed split (required); "
                      "at most this many per task otherwise.")
  cli_options.SEED.add(parser,
                       help="Seed of the shuffling and mixture sampling.")
  parser.add_argument("--mixed", action=argparse.BooleanOptionalAction,
                      default=None, help="One rate-sampled file (default for "
                      "train) or one file per task (default otherwise).")
  parser.add_argument("--no_gzip", action="store_true",
                      help="Write plain .jsonl files.")
  cli_options.DATA_DIR.add(parser)
  parser.add_argument("--module_import", "--task_module", action="append",
                      default=[], metavar="MODULE",
                      help="Import MODULE first, e.g. one that registers tasks "
                      "with wt5.custom (repeatable; as t5_mesh_transformer's "
                      "--module_import).")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 export` and prints what it wrote."""
  for module in args.module_import:
    try:
      importlib.import_module(module)
    except ImportError as e:
      print("wt5 export: cannot import --module_import %s: %s" % (module, e),
            file=sys.stderr)
      return 2
  try:
    manifest = export(args.name, args.split, args.output_dir,
                      args.sequence_length, args.num_examples, args.seed,
                      args.mixed, not args.no_gzip, args.data_dir)
  except ValueError as e:
    print("wt5 export: %s" % e, file=sys.stderr)
    return 2
  entry = manifest["splits"][args.split]
  for task, count in sorted(entry["counts"].items()):
    print("%-48s %d" % (task, count))
  print("Wrote %d %s examples of %s to %s (vocabulary %s, %d ids)" % (
      entry["count"], args.split, args.name, args.output_dir,
      manifest["vocabulary"]["path"], manifest["vocabulary"]["size"]))
  return 0
