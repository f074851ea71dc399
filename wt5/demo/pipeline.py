"""The `wt5 demo` pipeline: a small WT5 model trained and evaluated end to end on the CPU.

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

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
from typing import (Any, Dict, Iterator, List, Mapping, Optional, Sequence,
                    TextIO, Tuple)

from wt5.demo.results import MixtureResult, print_phase, print_results
from wt5.model_shapes import SHAPES, ModelShape
from wt5.mtf import binary as mtf_binary
from wt5.mtf.binary import EVAL_SPLIT
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
# The demo.
# ---------------------------------------------------------------------------

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


@dataclasses.dataclass
class DemoSetup:
  """What the runs of all mixtures share."""
  output_dir: str
  log_dir: str
  binary: str
  env: Dict[str, str]
  eval_tasks: Dict[str, List[str]]
  commands_path: str


def prepare(options: DemoOptions, out: TextIO) -> DemoSetup:
  """Writes the data and the vocabulary, checks the mixtures, starts commands.sh."""
  output_dir = os.path.abspath(options.output_dir)
  data_dir = options.resolved_data_dir
  if options.fresh:
    remove_demo_outputs(output_dir, data_dir)
  os.makedirs(output_dir, exist_ok=True)
  log_dir = os.path.join(output_dir, "logs")
  binary = mtf_binary.find_binary()

  print_phase(out, "Writing the demo datasets (TFDS format) to %s" % data_dir)
  data_log = os.path.join(log_dir, "data.log")
  prepare_data(data_dir, options.fresh, out, data_log)
  print_phase(out, "SentencePiece vocabulary (used through %s)" % VOCAB_ENV)
  vocab_path = prepare_vocabulary(data_dir, os.path.join(output_dir, "vocab"),
                                  options.fresh, out, data_log)
  eval_tasks = check_mixtures(options.mixtures, data_dir)

  commands_path = os.path.join(output_dir, "commands.sh")
  with open(commands_path, "w", encoding="utf-8") as commands:
    commands.write("#!/bin/sh\n# The commands `wt5 demo` ran.\nset -e\n")
  return DemoSetup(output_dir, log_dir, binary, {VOCAB_ENV: vocab_path},
                   eval_tasks, commands_path)


def run_mixture(mixture: str, options: DemoOptions, setup: DemoSetup,
                out: TextIO) -> MixtureResult:
  """Trains one mixture and evaluates every checkpoint with the binary."""
  settings = options.run_settings()
  model_dir = os.path.join(setup.output_dir, "models", mixture)
  if os.path.isdir(model_dir) and not options.keep:
    shutil.rmtree(model_dir)
  train_log = os.path.join(setup.log_dir, mixture + ".train.log")
  eval_log = os.path.join(setup.log_dir, mixture + ".eval.log")
  train = mtf_binary.train_command(setup.binary, mixture, model_dir, settings)
  evaluate = mtf_binary.eval_command(setup.binary, mixture, model_dir,
                                     settings)
  with open(setup.commands_path, "a", encoding="utf-8") as commands:
    commands.write("\n%s\n\n%s\n" % (
        mtf_binary.format_command(train, setup.env),
        mtf_binary.format_command(evaluate, setup.env)))

  print_phase(out, "Training %s: %d steps, %s (log: %s)" % (
      mixture, options.steps, _describe(options), train_log))
  out.write("    starting t5_mesh_transformer and building the graph...\n")
  out.flush()
  mtf_binary.run_or_raise(train, setup.env, train_log,
                          mtf_binary.TrainingProgress(options.steps, out),
                          "training " + mixture)

  eval_tasks = setup.eval_tasks[mixture]
  print_phase(out, "Evaluating every checkpoint of %s on %s (log: %s)" % (
      mixture, ", ".join(eval_tasks), eval_log))
  mtf_binary.run_or_raise(evaluate, setup.env, eval_log,
                          mtf_binary.EvalProgress(out),
                          "evaluating " + mixture)
  metrics = mtf_binary.read_logged_metrics(eval_log)
  missing = [t for t in eval_tasks if t not in metrics]
  if missing:
    raise DemoError("The evaluation logged no metrics for %s; see %s" %
                    (", ".join(missing), eval_log))
  return MixtureResult(mixture, model_dir, train_log, eval_log, eval_tasks,
                       metrics)


def run_demo(options: DemoOptions, out: TextIO = sys.stdout
             ) -> List[MixtureResult]:
  """Runs the whole demo; returns what each mixture's run measured."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  start = time.time()
  setup = prepare(options, out)
  results = [run_mixture(mixture, options, setup, out)
             for mixture in options.mixtures]
  print_results(results, options.num_examples, out)
  out.write("\nAll outputs are in %s (commands: %s, logs: %s).\n"
            "Finished in %.0f s.\n" % (setup.output_dir, setup.commands_path,
                                       setup.log_dir, time.time() - start))
  out.flush()
  return results


def _describe(options: DemoOptions) -> str:
  m = options.model
  return ("d_model %d, d_ff %d, %d layers, %d heads, %d tokens/batch, "
          "lr %g" % (m.d_model, m.d_ff, m.num_layers, m.num_heads,
                     options.tokens_per_batch, options.learning_rate))
