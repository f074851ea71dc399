"""Running the stock `t5_mesh_transformer` binary on a CPU and following it.

What every route that drives the binary shares (`wt5 demo`, the install
smoke test, caching, benchmarks): the gin bindings of a CPU run, the training
and evaluation commands, finding the console script, running it with its full
output in a log file and a compact progress display, and reading the losses
and metrics it logs.

    settings = RunSettings(data_dir="wt5_demo/data", steps=600)
    command = train_command(find_binary(), "esnli_v010", "/tmp/m", settings)
    run_or_raise(command, {"WT5_VOCAB_MODEL": vocab}, "/tmp/train.log",
                 TrainingProgress(600, sys.stdout), "training esnli_v010")
"""

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, TextIO, Tuple)

from wt5.model_shapes import SHAPES, ModelShape

DEFAULT_SEQUENCE_LENGTH = {"inputs": 128, "targets": 64}
DEFAULT_TOKENS_PER_BATCH = 2048
DEFAULT_LEARNING_RATE = 1e-2
EVAL_SPLIT = "validation"

# Mixture name prefix -> the package's sequence-length gin file.
SEQUENCE_LENGTH_GIN = (
    ("esnli", "esnli_v002.gin"),
    ("mnli", "esnli_v002.gin"),
    ("cos_e", "cos_e_v001.gin"),
    ("movie_rationales", "movie_rationales_v010.gin"),
    ("eraser_multi_rc", "eraser_multi_rc_v011.gin"),
)


class BinaryError(RuntimeError):
  """The binary could not be found or failed; the message says where to look."""


@dataclasses.dataclass(frozen=True)
class RunSettings:
  """Everything a CPU training or evaluation command needs but the mixture.

  `gin_params` are appended to both commands (e.g. `use_cached = True`).
  """
  data_dir: str
  model: ModelShape = SHAPES["cpu_small"]
  steps: int = 600
  checkpoints: int = 3
  sequence_length: Mapping[str, int] = dataclasses.field(
      default_factory=lambda: dict(DEFAULT_SEQUENCE_LENGTH))
  tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH
  learning_rate: float = DEFAULT_LEARNING_RATE
  split: str = EVAL_SPLIT
  gin_params: Tuple[str, ...] = ()


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


# task -> metric -> step -> value, as the binary logged them.
LoggedMetrics = Dict[str, Dict[str, Dict[int, float]]]


def collect_metrics(lines: Iterable[str]) -> LoggedMetrics:
  """Every `eval/<task>/<metric> at step N: V` value of a log, by task.

  collect_metrics(["I... eval/esnli_v010/bleu at step 400: 12.500"])
    -> {"esnli_v010": {"bleu": {400: 12.5}}}
  """
  metrics: LoggedMetrics = {}
  for line in lines:
    parsed = parse_metric(line)
    if parsed:
      task, metric, step, value = parsed
      metrics.setdefault(task, {}).setdefault(metric, {})[step] = value
  return metrics


def read_logged_metrics(log_path: str) -> LoggedMetrics:
  """`collect_metrics` of a log file written by `run_logged`."""
  with open(log_path, encoding="utf-8", errors="replace") as f:
    return collect_metrics(f)


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


def common_gin_params(mixture: str, settings: RunSettings) -> List[str]:
  """The gin bindings shared by training and evaluation on the CPU."""
  return [
      "MIXTURE_NAME = '%s'" % mixture,
      "utils.run.mesh_shape = 'model:1,batch:1'",
      "utils.run.mesh_devices = ['cpu:0']",
      "utils.tpu_mesh_shape.tpu_topology = '1x1'",
      "utils.run.sequence_length = %s" % _python_literal(
          settings.sequence_length),
      "utils.run.batch_size = ('tokens_per_batch', %d)" %
      settings.tokens_per_batch,
      "utils.get_variable_dtype.activation_dtype = 'float32'",
  ]


def train_command(binary: str, mixture: str, model_dir: str,
                  settings: RunSettings) -> List[str]:
  """The `t5_mesh_transformer` command that trains `mixture` from scratch."""
  save_every = max(1, -(-settings.steps // max(1, settings.checkpoints)))
  gin_files = ["dataset.gin", "models/bi_v1.gin"]
  seq_gin = sequence_length_gin_file(mixture)
  if seq_gin:
    gin_files.append(seq_gin)
  params = common_gin_params(mixture, settings) + [
      "utils.run.train_steps = %d" % settings.steps,
      "utils.run.save_checkpoints_steps = %d" % save_every,
      "utils.run.learning_rate_schedule = "
      "@learning_rate_schedules.constant_learning_rate",
      "constant_learning_rate.learning_rate = %g" % settings.learning_rate,
  ] + settings.model.gin_params()
  return _command(binary, model_dir, settings, gin_files, params)


def eval_command(binary: str, mixture: str, model_dir: str,
                 settings: RunSettings) -> List[str]:
  """The command that evaluates every checkpoint of `model_dir`."""
  gin_files = [os.path.join(model_dir, "operative_config.gin"), "eval.gin",
               "greedy_decode.gin"]
  params = common_gin_params(mixture, settings) + [
      # greedy_decode.gin asks for bfloat16, which is slow and lossy on CPUs.
      "utils.get_variable_dtype.slice_dtype = 'float32'",
      "utils.run.dataset_split = '%s'" % settings.split,
      "utils.run.eval_checkpoint_step = 'all'",
  ]
  return _command(binary, model_dir, settings, gin_files, params)


def _command(binary: str, model_dir: str, settings: RunSettings,
             gin_files: Sequence[str], params: Sequence[str]) -> List[str]:
  return ([binary, "--model_dir=%s" % model_dir,
           "--t5_tfds_data_dir=%s" % settings.data_dir,
           "--module_import=wt5.mixtures"] +
          ["--gin_file=%s" % f for f in gin_files] +
          ["--gin_param=%s" % p for p in list(params) + list(settings.gin_params)])


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
    raise BinaryError("Cannot find the %r command: install the t5 package "
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




def run_or_raise(command: Sequence[str], env: Mapping[str, str],
                 log_path: str, on_line: Callable[[str], None],
                 what: str) -> None:
  """`run_logged`, raising BinaryError with the log's tail if it fails.

  what="training esnli_v010" -> "t5_mesh_transformer failed while training
  esnli_v010 (exit code 1).\nFull log: ...\nLast lines:\n..."
  """
  code = run_logged(command, env, log_path, on_line)
  if code != 0:
    raise BinaryError(
        "t5_mesh_transformer failed while %s (exit code %d).\n"
        "Full log: %s\nLast lines:\n%s" % (what, code, log_path,
                                           log_tail(log_path)))
