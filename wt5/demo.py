"""`wt5 demo`: train and evaluate a small WT5 model end to end on the CPU.

The demo runs the same steps as a full WT5 experiment, at a size that fits a
laptop:

1. writes the embedded demo datasets (`wt5.demo_data`) in TFDS format;
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
import ast
import contextlib
import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Sequence, TextIO, Tuple)

DEFAULT_OUTPUT_DIR = "wt5_demo"
# esnli_mnli_all_explanations: every e-SNLI example with its explanation plus
# MNLI labels only, evaluated on e-SNLI and on explaining MNLI (transfer).
# movie_rationales_1000_explanations: the 2020 README's experiment, 1000
# reviews with rationales and 600 with labels only.
DEFAULT_MIXTURES = ("esnli_mnli_all_explanations",
                    "movie_rationales_1000_explanations")
DEFAULT_STEPS = 600
DEFAULT_SEQUENCE_LENGTH = {"inputs": 128, "targets": 64}
DEFAULT_TOKENS_PER_BATCH = 2048
DEFAULT_LEARNING_RATE = 1e-2
VOCAB_SIZE = 2000
EVAL_SPLIT = "validation"

# name -> (d_model, d_ff, d_kv, num_heads, num_layers)
MODEL_SIZES = {
    "tiny": (64, 256, 16, 4, 1),
    "small": (128, 512, 32, 4, 2),
    "base": (256, 1024, 64, 4, 3),
}
DEFAULT_MODEL_SIZE = "small"

# Mixture name prefix -> the package's sequence-length gin file.
SEQUENCE_LENGTH_GIN = (
    ("esnli", "esnli_v002.gin"),
    ("mnli", "esnli_v002.gin"),
    ("cos_e", "cos_e_v001.gin"),
    ("movie_rationales", "movie_rationales_v010.gin"),
    ("eraser_multi_rc", "eraser_multi_rc_v011.gin"),
)

VOCAB_ENV = "WT5_VOCAB_MODEL"  # Read by wt5.vocab when wt5.tasks is imported.


class DemoError(RuntimeError):
  """A demo step that failed; the message says what and where to look."""


@dataclasses.dataclass(frozen=True)
class ModelShape:
  """The Transformer hyperparameters passed to `models/bi_v1.gin`."""
  d_model: int
  d_ff: int
  d_kv: int
  num_heads: int
  num_layers: int

  def gin_params(self) -> List[str]:
    """ModelShape(64, 256, 16, 4, 1).gin_params()[0] -> "d_model = 64"."""
    return ["%s = %d" % (f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)]


@dataclasses.dataclass(frozen=True)
class DemoOptions:
  """Everything that decides what the demo runs."""
  output_dir: str = DEFAULT_OUTPUT_DIR
  data_dir: Optional[str] = None
  mixtures: Tuple[str, ...] = DEFAULT_MIXTURES
  steps: int = DEFAULT_STEPS
  model: ModelShape = ModelShape(*MODEL_SIZES[DEFAULT_MODEL_SIZE])
  sequence_length: Mapping[str, int] = dataclasses.field(
      default_factory=lambda: dict(DEFAULT_SEQUENCE_LENGTH))
  tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH
  learning_rate: float = DEFAULT_LEARNING_RATE
  checkpoints: int = 3
  keep: bool = False
  fresh: bool = False
  num_examples: int = 3

  @property
  def resolved_data_dir(self) -> str:
    return os.path.abspath(self.data_dir or
                           os.path.join(self.output_dir, "data"))


# ---------------------------------------------------------------------------
# Parsing the binary's log.
# ---------------------------------------------------------------------------

_LOSS_RE = re.compile(r"step, tf_loss\[([-+0-9.eE]+|nan|inf)\]\[(\d+)\]")
_METRIC_RE = re.compile(
    r"eval/(?P<task>[^/\s]+)/(?P<metric>.+?) at step (?P<step>\d+): "
    r"(?P<value>[-+]?(?:[0-9.]+(?:[eE][-+]?\d+)?|nan|inf))\s*$")
_RESTORE_RE = re.compile(r"Restoring parameters from \S*model\.ckpt-(\d+)")


def parse_loss(line: str) -> Optional[Tuple[int, float]]:
  """The (step, loss) of a training log line, else None.

  parse_loss("step, tf_loss[0.831345081][12]") -> (12, 0.831345081)
  """
  match = _LOSS_RE.search(line)
  if not match:
    return None
  return int(match.group(2)), float(match.group(1))


def parse_metric(line: str) -> Optional[Tuple[str, str, int, float]]:
  """(task, metric, step, value) of a logged eval metric line, else None.

  parse_metric("INFO:tensorflow:eval/movie_rationales_eval_v010/partial match f1 at step 300: 61.250")
    -> ("movie_rationales_eval_v010", "partial match f1", 300, 61.25)
  """
  match = _METRIC_RE.search(line.rstrip("\n"))
  if not match:
    return None
  return (match.group("task"), match.group("metric"), int(match.group("step")),
          float(match.group("value")))


Metrics = Dict[str, Dict[str, Dict[int, float]]]  # task -> metric -> step -> v


def collect_metrics(lines: Iterable[str]) -> Metrics:
  """Every `eval/<task>/<metric> at step N: V` value of a log, by task.

  collect_metrics(["I... eval/esnli_v010/bleu at step 400: 12.500"])
    -> {"esnli_v010": {"bleu": {400: 12.5}}}
  """
  metrics: Metrics = {}
  for line in lines:
    parsed = parse_metric(line)
    if parsed:
      task, metric, step, value = parsed
      metrics.setdefault(task, {}).setdefault(metric, {})[step] = value
  return metrics


def read_logged_metrics(log_path: str) -> Metrics:
  """`collect_metrics` of a log file written by `run_logged`."""
  with open(log_path, encoding="utf-8", errors="replace") as f:
    return collect_metrics(f)


# ---------------------------------------------------------------------------
# Reading the eval directory.
# ---------------------------------------------------------------------------

def read_literals(path: str) -> List[Any]:
  """The Python literals of a t5 eval file, one per line (never `eval`).

  A file with the lines `b'explain nli'` and `{'label': 'neutral'}` ->
  [b"explain nli", {"label": "neutral"}]
  """
  values = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        values.append(ast.literal_eval(line))
      except (ValueError, SyntaxError) as e:
        raise DemoError("%s line %d is not a Python literal (%s): %.80r" %
                        (path, number, e, line)) from None
  return values


def format_output(value: Any) -> str:
  """A decoded, postprocessed output as one line of text.

  format_output({"label": "neutral", "explanations": ["Not every man is tall."]})
    -> "neutral | explanation: Not every man is tall."
  format_output({"label": "True", "explanations": []}) -> "True"
  """
  if isinstance(value, bytes):
    return value.decode("utf-8", errors="replace")
  if isinstance(value, Mapping) and "label" in value:
    text = format_output(value["label"])
    for explanation in value.get("explanations") or []:
      text += " | explanation: " + format_output(explanation)
    return text
  return str(value)


@dataclasses.dataclass(frozen=True)
class Example:
  inputs: str
  prediction: str
  target: str


def read_examples(eval_dir: str, task: str, step: int,
                  limit: int) -> List[Example]:
  """The first `limit` eval examples of `task` with the predictions at `step`."""
  def path(suffix):
    return os.path.join(eval_dir, "%s_%s" % (task, suffix))

  inputs = read_literals(path("inputs"))
  predictions = read_literals(path("%d_predictions" % step))
  targets = read_literals(path("targets"))
  return [Example(format_output(i), format_output(p), format_output(t))
          for i, p, t in zip(inputs[:limit], predictions, targets)]


# ---------------------------------------------------------------------------
# Commands.
# ---------------------------------------------------------------------------

def sequence_length_gin_file(mixture: str) -> Optional[str]:
  """The package's sequence-length gin file for a mixture, if one fits.

  sequence_length_gin_file("esnli_100_explanations")
    -> "wt5/gin/sequence_lengths/esnli_v002.gin"
  """
  for prefix, name in SEQUENCE_LENGTH_GIN:
    if mixture.startswith(prefix):
      return "wt5/gin/sequence_lengths/" + name
  return None


def _python_literal(value: Any) -> str:
  """A gin literal: _python_literal({"inputs": 128}) -> "{'inputs': 128}"."""
  return repr(dict(value) if isinstance(value, Mapping) else value)


def common_gin_params(mixture: str, options: DemoOptions) -> List[str]:
  """The gin bindings shared by training and evaluation on the CPU."""
  return [
      "MIXTURE_NAME = '%s'" % mixture,
      "utils.run.mesh_shape = 'model:1,batch:1'",
      "utils.run.mesh_devices = ['cpu:0']",
      "utils.tpu_mesh_shape.tpu_topology = '1x1'",
      "utils.run.sequence_length = %s" % _python_literal(
          options.sequence_length),
      "utils.run.batch_size = ('tokens_per_batch', %d)" %
      options.tokens_per_batch,
      "utils.get_variable_dtype.activation_dtype = 'float32'",
  ]


def train_command(binary: str, mixture: str, model_dir: str,
                  options: DemoOptions) -> List[str]:
  """The `t5_mesh_transformer` command that trains `mixture` from scratch."""
  save_every = max(1, -(-options.steps // max(1, options.checkpoints)))
  gin_files = ["dataset.gin", "models/bi_v1.gin"]
  seq_gin = sequence_length_gin_file(mixture)
  if seq_gin:
    gin_files.append(seq_gin)
  params = common_gin_params(mixture, options) + [
      "utils.run.train_steps = %d" % options.steps,
      "utils.run.save_checkpoints_steps = %d" % save_every,
      "utils.run.learning_rate_schedule = "
      "@learning_rate_schedules.constant_learning_rate",
      "constant_learning_rate.learning_rate = %g" % options.learning_rate,
  ] + options.model.gin_params()
  return _command(binary, model_dir, options, gin_files, params)


def eval_command(binary: str, mixture: str, model_dir: str,
                 options: DemoOptions) -> List[str]:
  """The command that evaluates every checkpoint of `model_dir`."""
  gin_files = [os.path.join(model_dir, "operative_config.gin"), "eval.gin",
               "greedy_decode.gin"]
  params = common_gin_params(mixture, options) + [
      # greedy_decode.gin asks for bfloat16, which is slow and lossy on CPUs.
      "utils.get_variable_dtype.slice_dtype = 'float32'",
      "utils.run.dataset_split = '%s'" % EVAL_SPLIT,
      "utils.run.eval_checkpoint_step = 'all'",
  ]
  return _command(binary, model_dir, options, gin_files, params)


def _command(binary: str, model_dir: str, options: DemoOptions,
             gin_files: Sequence[str], params: Sequence[str]) -> List[str]:
  return ([binary, "--model_dir=%s" % model_dir,
           "--t5_tfds_data_dir=%s" % options.resolved_data_dir,
           "--module_import=wt5.mixtures"] +
          ["--gin_file=%s" % f for f in gin_files] +
          ["--gin_param=%s" % p for p in params])


def shell_arg(arg: str) -> str:
  """Quotes one argument for a POSIX shell, readably.

  shell_arg("--gin_param=d_model = 64") -> '--gin_param="d_model = 64"'
  shell_arg("--model_dir=/tmp/m") -> "--model_dir=/tmp/m"
  """
  if shlex.quote(arg) == arg:
    return arg
  flag, sep, value = arg.partition("=")
  if (sep and flag.startswith("--") and shlex.quote(flag) == flag and
      not any(c in value for c in '"$`\\!')):
    return '%s="%s"' % (flag, value)
  return shlex.quote(arg)


def format_command(command: Sequence[str], env: Mapping[str, str]) -> str:
  """A shell-ready multi-line rendering of `command` with its env settings."""
  head = " ".join("%s=%s" % (k, shell_arg(v)) for k, v in env.items())
  parts = [shell_arg(c) for c in command]
  return (head + " " if head else "") + " \\\n    ".join(parts)


def find_binary(name: str = "t5_mesh_transformer") -> str:
  """The console script installed beside this Python, else the one on PATH."""
  beside = os.path.join(os.path.dirname(sys.executable), name)
  if os.access(beside, os.X_OK):
    return beside
  found = shutil.which(name)
  if not found:
    raise DemoError("Cannot find the %r command: install the t5 package "
                    "(`make venv`)." % name)
  return found


# ---------------------------------------------------------------------------
# Running the binary with a compact progress display.
# ---------------------------------------------------------------------------

class TrainingProgress:
  """Turns training log lines into a few compact progress lines."""

  def __init__(self, total_steps: int, out: TextIO, every: int = 0):
    self.total_steps = total_steps
    self.every = every or max(1, total_steps // 10)
    self.out = out
    self.started: Optional[float] = None
    self.last_step = -1

  def __call__(self, line: str) -> None:
    parsed = parse_loss(line)
    if parsed is None:
      return
    step, loss = parsed
    now = time.time()
    if self.started is None:
      self.started = now
      self.out.write("    graph built; training started\n")
    done = min(step + 1, self.total_steps)
    if step <= self.last_step:  # The step counter is read unsynchronized.
      return
    if (done // self.every > (self.last_step + 1) // self.every or
        done == self.total_steps or self.last_step < 0):
      rate = ""
      if step > 0 and now > self.started:
        rate = "  %5.1f steps/s" % (step / (now - self.started))
      self.out.write("    step %5d/%d  loss %8.4f%s\n" %
                     (done, self.total_steps, loss, rate))
      self.out.flush()
    self.last_step = step


class EvalProgress:
  """Reports each checkpoint being decoded and the metrics it gets."""

  def __init__(self, out: TextIO):
    self.out = out
    self.seen = set()

  def __call__(self, line: str) -> None:
    match = _RESTORE_RE.search(line)
    if match and ("restore", match.group(1)) not in self.seen:
      self.seen.add(("restore", match.group(1)))
      self.out.write("    decoding with the checkpoint of step %s\n" %
                     match.group(1))
      self.out.flush()
      return
    parsed = parse_metric(line)
    if parsed and parsed[:3] not in self.seen:
      self.seen.add(parsed[:3])
      task, metric, step, value = parsed
      self.out.write("      %s %s = %.3f (step %d)\n" %
                     (task, metric, value, step))
      self.out.flush()


def run_logged(command: Sequence[str], env: Mapping[str, str], log_path: str,
               on_line: Callable[[str], None]) -> int:
  """Runs `command`, writing its output to `log_path`; returns its exit code.

  Each output line (stdout and stderr together) is also passed to `on_line`.
  """
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  full_env = dict(os.environ)
  full_env.update(env)
  full_env["PYTHONUNBUFFERED"] = "1"
  with open(log_path, "w", encoding="utf-8") as log:
    log.write("$ %s\n\n" % format_command(command, env))
    log.flush()
    process = subprocess.Popen(
        list(command), env=full_env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        encoding="utf-8", errors="replace", bufsize=1)
    try:
      for line in process.stdout:
        log.write(line)
        on_line(line)
    except BaseException:
      process.kill()
      process.wait()
      raise
    return process.wait()


def log_tail(log_path: str, lines: int = 25) -> str:
  """The last `lines` lines of a log file."""
  with open(log_path, encoding="utf-8", errors="replace") as f:
    return "".join(f.readlines()[-lines:])


# ---------------------------------------------------------------------------
# Data and vocabulary.
# ---------------------------------------------------------------------------

DATA_STAMP = "wt5_demo_data.json"


@contextlib.contextmanager
def output_to(log_path: str) -> Iterator[None]:
  """Sends Python-level stdout, stderr and absl warnings to `log_path`."""
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top

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
  from wt5 import demo_data  # pylint: disable=g-import-not-at-top

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
  from wt5 import demo_data  # pylint: disable=g-import-not-at-top

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
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    name = task.source.tfds_dataset.name
    return list(tfds.builder(name, data_dir=data_dir).info.splits)


def check_mixtures(names: Sequence[str], data_dir: str
                   ) -> Dict[str, List[str]]:
  """Each mixture's eval tasks (a validation split and metrics), by name.

  Raises DemoError for a name that is neither a WT5 mixture nor a task.
  check_mixtures(["movie_rationales_1000_explanations"], "wt5_demo/data")
    -> {"movie_rationales_1000_explanations": ["movie_rationales_eval_v010"]}
  """
  import seqio  # pylint: disable=g-import-not-at-top
  from wt5 import mixtures  # pylint: disable=g-import-not-at-top,unused-import

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

def format_results(metrics: Metrics, tasks: Sequence[str]) -> str:
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


def format_examples(examples: Sequence[Example]) -> str:
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
  metrics: Metrics


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
  binary = find_binary()

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

  results = []
  for mixture in options.mixtures:
    model_dir = os.path.join(output_dir, "models", mixture)
    if os.path.isdir(model_dir) and not options.keep:
      shutil.rmtree(model_dir)
    train_log = os.path.join(log_dir, mixture + ".train.log")
    eval_log = os.path.join(log_dir, mixture + ".eval.log")
    train = train_command(binary, mixture, model_dir, options)
    evaluate = eval_command(binary, mixture, model_dir, options)
    with open(commands_path, "a", encoding="utf-8") as commands:
      commands.write("\n%s\n\n%s\n" % (format_command(train, env),
                                       format_command(evaluate, env)))

    _phase(out, "Training %s: %d steps, %s (log: %s)" % (
        mixture, options.steps, _describe(options), train_log))
    out.write("    starting t5_mesh_transformer and building the graph...\n")
    out.flush()
    _run_or_raise(train, env, train_log,
                  TrainingProgress(options.steps, out), "training " + mixture)

    _phase(out, "Evaluating every checkpoint of %s on %s (log: %s)" % (
        mixture, ", ".join(eval_tasks[mixture]), eval_log))
    _run_or_raise(evaluate, env, eval_log, EvalProgress(out),
                  "evaluating " + mixture)
    metrics = read_logged_metrics(eval_log)
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
    eval_dir = os.path.join(result.model_dir, "%s_eval" % EVAL_SPLIT)
    for task in result.eval_tasks:
      step = max(s for m in result.metrics[task].values() for s in m)
      _phase(out, "%s at step %d: first %d validation examples" % (
          task, step, options.num_examples))
      out.write(format_examples(read_examples(
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


def _run_or_raise(command: Sequence[str], env: Mapping[str, str],
                  log_path: str, on_line: Callable[[str], None],
                  what: str) -> None:
  code = run_logged(command, env, log_path, on_line)
  if code != 0:
    raise DemoError(
        "t5_mesh_transformer failed while %s (exit code %d).\n"
        "Full log: %s\nLast lines:\n%s" % (what, code, log_path,
                                           log_tail(log_path)))


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
  parser.add_argument("--model_size", choices=sorted(MODEL_SIZES),
                      default=DEFAULT_MODEL_SIZE,
                      help="Preset Transformer size (default: %(default)s).")
  for name in ("d_model", "d_ff", "d_kv", "num_heads", "num_layers"):
    parser.add_argument("--" + name, type=_positive_int, default=None,
                        help="Override the preset's %s." % name)
  parser.add_argument("--inputs_length", type=_positive_int,
                      default=DEFAULT_SEQUENCE_LENGTH["inputs"])
  parser.add_argument("--targets_length", type=_positive_int,
                      default=DEFAULT_SEQUENCE_LENGTH["targets"])
  parser.add_argument("--tokens_per_batch", type=_positive_int,
                      default=DEFAULT_TOKENS_PER_BATCH)
  parser.add_argument("--learning_rate", type=float,
                      default=DEFAULT_LEARNING_RATE)
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
  shape = dict(zip(("d_model", "d_ff", "d_kv", "num_heads", "num_layers"),
                   MODEL_SIZES[args.model_size]))
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
  except DemoError as e:
    sys.stdout.flush()
    sys.stderr.write("\nwt5 demo: error: %s\n" % e)
    return 1
  return 0
