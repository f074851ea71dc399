"""`wt5 demo`: train and evaluate a small WT5 model end to end on the CPU.

The demo runs the same steps as a full WT5 experiment, at a size that fits a
laptop:

1. writes the embedded demo datasets (`wt5.datasets.demo_data`) in TFDS format;
2. trains a SentencePiece vocabulary that covers their text and selects it
   through the library's vocabulary setting, `WT5_VOCAB_MODEL`;
3. for each mixture, trains a small Transformer from scratch with the stock
   `t5_mesh_transformer --module_import=wt5.mixtures`, then evaluates every
   checkpoint on the validation split of the mixture's eval tasks, with
   their WT5 postprocessors and metrics;
4. prints a results table and a few predictions next to their references.

Everything goes under `--output_dir` (default `./wt5_demo`): `data/`,
`vocab/`, `models/<mixture>/` (checkpoints, `validation_eval/`),
`logs/<mixture>.{train,eval}.log` (the binary's full output) and
`commands.sh` (the exact commands, to rerun or adapt).
"""

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import textwrap
import time
from typing import (Any, Dict, Iterator, List, Mapping, Optional, Sequence,
                    TextIO, Tuple)

from wt5.formats import eval_files
from wt5.formats.model_dir import ModelDir
from wt5.mtf import binary as mtf_binary
from wt5.model_shapes import CPU_SHAPES, SHAPES, ModelShape
from wt5.mtf.binary import EVAL_SPLIT, LoggedMetrics
from wt5.vocab_setting import VOCAB_ENV

DEFAULT_OUTPUT_DIR = "wt5_demo"
# esnli_mnli_all_explanations: every e-SNLI example with its explanation plus
# MNLI labels only, evaluated on e-SNLI and on explaining MNLI (transfer).
# movie_rationales_1000_explanations: the 2020 README's experiment, 1000
# reviews with rationales and 600 with labels only.
DEFAULT_MIXTURES = ("esnli_mnli_all_explanations",
                    "movie_rationales_1000_explanations")
DEFAULT_STEPS = 600
VOCAB_SIZE = 2000

DEFAULT_MODEL_SIZE = "cpu_small"



class DemoError(RuntimeError):
  """A demo step that failed; the message says what and where to look."""


@dataclasses.dataclass(frozen=True)
class DemoOptions:
  """Everything that decides what the demo runs."""
  output_dir: str = DEFAULT_OUTPUT_DIR
  data_dir: Optional[str] = None
  mixtures: Tuple[str, ...] = DEFAULT_MIXTURES
  steps: int = DEFAULT_STEPS
  model: ModelShape = SHAPES[DEFAULT_MODEL_SIZE]
  sequence_length: Mapping[str, int] = dataclasses.field(
      default_factory=lambda: dict(mtf_binary.DEFAULT_SEQUENCE_LENGTH))
  tokens_per_batch: int = mtf_binary.DEFAULT_TOKENS_PER_BATCH
  learning_rate: float = mtf_binary.DEFAULT_LEARNING_RATE
  checkpoints: int = 3
  keep: bool = False
  fresh: bool = False
  num_examples: int = 3

  @property
  def resolved_data_dir(self) -> str:
    return os.path.abspath(self.data_dir or
                           os.path.join(self.output_dir, "data"))

  def run_settings(self) -> mtf_binary.RunSettings:
    """The settings of the binary's training and evaluation commands."""
    return mtf_binary.RunSettings(
        data_dir=self.resolved_data_dir, model=self.model, steps=self.steps,
        checkpoints=self.checkpoints, sequence_length=self.sequence_length,
        tokens_per_batch=self.tokens_per_batch,
        learning_rate=self.learning_rate)


# ---------------------------------------------------------------------------
# Data and vocabulary.
# ---------------------------------------------------------------------------

DATA_STAMP = "wt5_demo_data.json"


@contextlib.contextmanager
def output_to(log_path: str) -> Iterator[None]:
  """Sends Python-level stdout, stderr and absl warnings to `log_path`."""
  from absl import logging as absl_logging

  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  verbosity = absl_logging.get_verbosity()
  with open(log_path, "a", encoding="utf-8") as log:
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
      with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield
    finally:
      absl_logging.set_verbosity(verbosity)


def prepare_data(data_dir: str, fresh: bool, out: TextIO,
                 log_path: str) -> Dict[str, Any]:
  """Writes the embedded datasets unless `data_dir` already holds them."""
  from wt5.datasets import demo_data

  stamp = os.path.join(data_dir, DATA_STAMP)
  if os.path.exists(stamp) and not fresh:
    with open(stamp, encoding="utf-8") as f:
      summary = json.load(f)
    out.write("    reusing the datasets in %s\n" % data_dir)
    return summary
  with output_to(log_path):
    summary = demo_data.write_demo_data(data_dir)
  with open(stamp, "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=1, sort_keys=True)
  for name, splits in summary.items():
    out.write("    %-38s %s\n" % (name, ", ".join(
        "%s=%d" % kv for kv in splits.items())))
  return summary


def prepare_vocabulary(data_dir: str, vocab_dir: str, fresh: bool,
                       out: TextIO, log_path: str) -> str:
  """Trains the demo SentencePiece model unless it exists; returns its path."""
  from wt5.datasets import demo_data

  model = os.path.join(vocab_dir, "wt5_demo.model")
  if os.path.exists(model) and not fresh:
    out.write("    reusing %s\n" % model)
    return model
  with output_to(log_path):
    path = demo_data.train_demo_vocabulary(
        data_dir, os.path.join(vocab_dir, "wt5_demo"), vocab_size=VOCAB_SIZE)
  out.write("    %s\n" % path)
  return path


def task_splits(task: Any, data_dir: str) -> List[str]:
  """The splits of a seqio task; those of its TFDS data in `data_dir` when
  the task takes every split of its dataset."""
  try:
    return list(task.splits)
  except ValueError:  # No explicit splits, and no TFDS data dir set globally.
    import tensorflow_datasets as tfds
    name = task.source.tfds_dataset.name
    return list(tfds.builder(name, data_dir=data_dir).info.splits)


def check_mixtures(names: Sequence[str], data_dir: str
                   ) -> Dict[str, List[str]]:
  """Each mixture's eval tasks (a validation split and metrics), by name.

  Raises DemoError for a name that is neither a WT5 mixture nor a task.
  check_mixtures(["movie_rationales_1000_explanations"], "wt5_demo/data")
    -> {"movie_rationales_1000_explanations": ["movie_rationales_eval_v010"]}
  """
  import seqio
  from wt5 import mixtures

  result = {}
  for name in names:
    try:
      provider = seqio.get_mixture_or_task(name)
    except ValueError:
      known = sorted(seqio.MixtureRegistry.names())
      raise DemoError("Unknown mixture or task %r. WT5 mixtures: %s" %
                      (name, ", ".join(known))) from None
    result[name] = [t.name for t in seqio.get_subtasks(provider)
                    if t.metric_fns and EVAL_SPLIT in task_splits(t, data_dir)]
    if not result[name]:
      raise DemoError("%r has no task with a %r split and metrics to "
                      "evaluate." % (name, EVAL_SPLIT))
  return result


# ---------------------------------------------------------------------------
# Reporting.
# ---------------------------------------------------------------------------

def format_results(metrics: LoggedMetrics, tasks: Sequence[str]) -> str:
  """A table of every metric of `tasks`, one column per evaluated step.

  format_results({"t": {"accuracy": {100: 50.0, 200: 75.0},
                         "bleu": {200: 9.5}}}, ["t"]) ->
    task  metric    step 100  step 200
    t     accuracy     50.00     75.00
          bleu             -      9.50
  """
  steps = sorted({s for t in tasks for m in metrics.get(t, {}).values()
                  for s in m})
  rows = [("task", "metric") + tuple("step %d" % s for s in steps)]
  for task in tasks:
    for i, (metric, values) in enumerate(metrics.get(task, {}).items()):
      rows.append((task if i == 0 else "", metric) + tuple(
          "%.2f" % values[s] if s in values else "-" for s in steps))
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  lines = []
  for row in rows:
    cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
    cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:])]
    lines.append("  ".join(cells).rstrip())
  return "\n".join(lines)


def task_note(task: str) -> Optional[str]:
  """What to keep in mind when reading a task's numbers, if anything.

  task_note("esnli_v010") -> None
  """
  if task.startswith("mnli_explain_eval"):
    return ("mnli_explain_eval_*: MNLI has no reference explanations, so "
            "their bleu is 0 by construction; an expln1_length above 0 shows "
            "that the model explains MNLI examples, which it saw with labels "
            "only (transfer from e-SNLI).")
  return None


def _wrap(label: str, text: str, width: int = 100, max_lines: int = 4
          ) -> List[str]:
  """`text` wrapped under a label column, cut to `max_lines` lines.

  _wrap("input:", "a b c", width=30) -> ["  input:     a b c"]
  """
  indent = "  %-11s" % label
  lines = textwrap.wrap(" ".join(text.split()) or '""', width=width,
                        initial_indent=indent,
                        subsequent_indent=" " * len(indent))
  if len(lines) > max_lines:
    lines = lines[:max_lines]
    lines[-1] = lines[-1][:width - 3] + "..."
  return lines


def format_examples(examples: Sequence[eval_files.EvaluatedExample]) -> str:
  """Inputs, predictions and references of examples, one block each."""
  lines = []
  for example in examples:
    lines += (_wrap("input:", example.inputs) +
              _wrap("predicted:", example.prediction) +
              _wrap("reference:", example.target) + [""])
  return "\n".join(lines).rstrip()


# ---------------------------------------------------------------------------
# The demo.
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class MixtureResult:
  mixture: str
  model_dir: str
  train_log: str
  eval_log: str
  eval_tasks: List[str]
  metrics: LoggedMetrics


def remove_demo_outputs(output_dir: str, data_dir: str) -> None:
  """Deletes what earlier demos wrote: vocab/, models/, logs/, commands.sh
  under `output_dir`, and `data_dir` if the demo wrote it (nothing else)."""
  for name in ("vocab", "models", "logs"):
    shutil.rmtree(os.path.join(output_dir, name), ignore_errors=True)
  commands = os.path.join(output_dir, "commands.sh")
  if os.path.exists(commands):
    os.remove(commands)
  if os.path.exists(os.path.join(data_dir, DATA_STAMP)):
    shutil.rmtree(data_dir)


def _phase(out: TextIO, text: str) -> None:
  out.write("\n== %s\n" % text)
  out.flush()


def run_demo(options: DemoOptions, out: TextIO = sys.stdout
             ) -> List[MixtureResult]:
  """Runs the whole demo; returns what each mixture's run measured."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  start = time.time()
  output_dir = os.path.abspath(options.output_dir)
  data_dir = options.resolved_data_dir
  if options.fresh:
    remove_demo_outputs(output_dir, data_dir)
  os.makedirs(output_dir, exist_ok=True)
  log_dir = os.path.join(output_dir, "logs")
  binary = mtf_binary.find_binary()

  _phase(out, "Writing the demo datasets (TFDS format) to %s" % data_dir)
  data_log = os.path.join(log_dir, "data.log")
  prepare_data(data_dir, options.fresh, out, data_log)
  _phase(out, "SentencePiece vocabulary (used through %s)" % VOCAB_ENV)
  vocab_path = prepare_vocabulary(data_dir, os.path.join(output_dir, "vocab"),
                                  options.fresh, out, data_log)
  env = {VOCAB_ENV: vocab_path}
  eval_tasks = check_mixtures(options.mixtures, data_dir)

  commands_path = os.path.join(output_dir, "commands.sh")
  with open(commands_path, "w", encoding="utf-8") as commands:
    commands.write("#!/bin/sh\n# The commands `wt5 demo` ran.\nset -e\n")

  settings = options.run_settings()
  results = []
  for mixture in options.mixtures:
    model_dir = os.path.join(output_dir, "models", mixture)
    if os.path.isdir(model_dir) and not options.keep:
      shutil.rmtree(model_dir)
    train_log = os.path.join(log_dir, mixture + ".train.log")
    eval_log = os.path.join(log_dir, mixture + ".eval.log")
    train = mtf_binary.train_command(binary, mixture, model_dir, settings)
    evaluate = mtf_binary.eval_command(binary, mixture, model_dir, settings)
    with open(commands_path, "a", encoding="utf-8") as commands:
      commands.write("\n%s\n\n%s\n" % (mtf_binary.format_command(train, env),
                                       mtf_binary.format_command(evaluate, env)))

    _phase(out, "Training %s: %d steps, %s (log: %s)" % (
        mixture, options.steps, _describe(options), train_log))
    out.write("    starting t5_mesh_transformer and building the graph...\n")
    out.flush()
    mtf_binary.run_or_raise(train, env, train_log,
                            mtf_binary.TrainingProgress(options.steps, out),
                            "training " + mixture)

    _phase(out, "Evaluating every checkpoint of %s on %s (log: %s)" % (
        mixture, ", ".join(eval_tasks[mixture]), eval_log))
    mtf_binary.run_or_raise(evaluate, env, eval_log,
                            mtf_binary.EvalProgress(out),
                            "evaluating " + mixture)
    metrics = mtf_binary.read_logged_metrics(eval_log)
    missing = [t for t in eval_tasks[mixture] if t not in metrics]
    if missing:
      raise DemoError("The evaluation logged no metrics for %s; see %s" %
                      (", ".join(missing), eval_log))
    results.append(MixtureResult(mixture, model_dir, train_log, eval_log,
                                 eval_tasks[mixture], metrics))

  _phase(out, "Results (%s split, greedy decoding)" % EVAL_SPLIT)
  for result in results:
    out.write("\n%s\n%s\n" % (result.mixture, format_results(
        result.metrics, result.eval_tasks)))
    notes = []
    for task in result.eval_tasks:
      note = task_note(task)
      if note and note not in notes:
        notes.append(note)
        out.write(textwrap.fill(note, 100, initial_indent="  note: ",
                                subsequent_indent="    ") + "\n")
  for result in results:
    eval_dir = ModelDir(result.model_dir).eval_dir(EVAL_SPLIT)
    for task in result.eval_tasks:
      step = max(s for m in result.metrics[task].values() for s in m)
      _phase(out, "%s at step %d: first %d validation examples" % (
          task, step, options.num_examples))
      out.write(format_examples(eval_files.read_evaluated_examples(
          eval_dir, task, step, options.num_examples)) + "\n")
  out.write("\nAll outputs are in %s (commands: %s, logs: %s).\n"
            "Finished in %.0f s.\n" % (output_dir, commands_path, log_dir,
                                       time.time() - start))
  out.flush()
  return results


def _describe(options: DemoOptions) -> str:
  m = options.model
  return ("d_model %d, d_ff %d, %d layers, %d heads, %d tokens/batch, "
          "lr %g" % (m.d_model, m.d_ff, m.num_layers, m.num_heads,
                     options.tokens_per_batch, options.learning_rate))


# ---------------------------------------------------------------------------
# `wt5 demo`
# ---------------------------------------------------------------------------

def _positive_int(text: str) -> int:
  value = int(text)
  if value <= 0:
    raise argparse.ArgumentTypeError("must be a positive integer, got %s" %
                                     text)
  return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--output_dir", default=DEFAULT_OUTPUT_DIR,
                      help="Where data, vocabulary, models and logs go "
                      "(default: %(default)s).")
  parser.add_argument("--data_dir", default=None,
                      help="TFDS data directory (default: OUTPUT_DIR/data).")
  parser.add_argument("--mixtures", default=",".join(DEFAULT_MIXTURES),
                      help="Comma-separated WT5 mixtures (or tasks) to "
                      "train, one model each (default: %(default)s).")
  parser.add_argument("--steps", type=_positive_int, default=DEFAULT_STEPS,
                      help="Training steps per mixture (default: "
                      "%(default)s).")
  parser.add_argument("--model_size", choices=CPU_SHAPES,
                      default=DEFAULT_MODEL_SIZE,
                      help="Transformer shape, as in wt5.model_shapes "
                      "(default: %(default)s).")
  for name in ("d_model", "d_ff", "d_kv", "num_heads", "num_layers"):
    parser.add_argument("--" + name, type=_positive_int, default=None,
                        help="Override the preset's %s." % name)
  parser.add_argument("--inputs_length", type=_positive_int,
                      default=mtf_binary.DEFAULT_SEQUENCE_LENGTH["inputs"])
  parser.add_argument("--targets_length", type=_positive_int,
                      default=mtf_binary.DEFAULT_SEQUENCE_LENGTH["targets"])
  parser.add_argument("--tokens_per_batch", type=_positive_int,
                      default=mtf_binary.DEFAULT_TOKENS_PER_BATCH)
  parser.add_argument("--learning_rate", type=float,
                      default=mtf_binary.DEFAULT_LEARNING_RATE)
  parser.add_argument("--checkpoints", type=_positive_int, default=3,
                      help="Checkpoints to save and evaluate per mixture.")
  parser.add_argument("--examples", type=int, default=3,
                      help="Validation examples to show per eval task.")
  group = parser.add_mutually_exclusive_group()
  group.add_argument("--keep", action="store_true",
                     help="Keep existing model directories (resume or "
                     "re-evaluate) instead of training from scratch.")
  group.add_argument("--fresh", action="store_true",
                     help="Start over: rewrite the data and vocabulary too "
                     "(by default they are reused).")


def options_from_args(args: argparse.Namespace) -> DemoOptions:
  """The DemoOptions of parsed `wt5 demo` arguments."""
  shape = dataclasses.asdict(SHAPES[args.model_size])
  for name in shape:
    if getattr(args, name) is not None:
      shape[name] = getattr(args, name)
  mixtures = tuple(m.strip() for m in args.mixtures.split(",") if m.strip())
  if not mixtures:
    raise DemoError("--mixtures names no mixture.")
  return DemoOptions(
      output_dir=args.output_dir, data_dir=args.data_dir, mixtures=mixtures,
      steps=args.steps, model=ModelShape(**shape),
      sequence_length={"inputs": args.inputs_length,
                       "targets": args.targets_length},
      tokens_per_batch=args.tokens_per_batch,
      learning_rate=args.learning_rate, checkpoints=args.checkpoints,
      keep=args.keep, fresh=args.fresh, num_examples=args.examples)


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 demo`; prints a clear error and returns 1 when a step fails."""
  try:
    run_demo(options_from_args(args))
  except (DemoError, mtf_binary.BinaryError, eval_files.EvalFileError) as e:
    sys.stdout.flush()
    sys.stderr.write("\nwt5 demo: error: %s\n" % e)
    return 1
  return 0
