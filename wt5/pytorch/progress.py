"""The progress bar of `wt5 train`: step, loss, tokens/s and batch figures.

    callback = progress_callback(batching.TokenCount(), processes=1)
    ... trainer.train() ...
    callback.summary -> {"steps": 99, "tokens_per_second": 4096.0, ...}
"""

import dataclasses
import sys
import time
from typing import Any, Dict

from wt5.pytorch import batching


def progress_callback(count: batching.TokenCount, out=None,
                      compiling: bool = False, processes: int = 1):
  """A `TrainerCallback` drawing a progress bar with loss, tokens/s and batch figures.

  Rates are measured from the end of the first step (start-up and the first
  step's compilation excluded) and multiplied by `processes`;
  they are read at logging steps and at the last step (reading them waits
  for the GPU).
  `callback.summary` holds the last figures:
  {"steps": 100, "seconds": 12.5, "tokens": 51200, "tokens_per_second": 4096.0,
   "examples": 1600, "examples_per_step": 16.0, "real_token_fraction": 0.91,
   "loss": 2.31}
  """
  import tqdm
  import transformers

  class ProgressCallback(transformers.TrainerCallback):
    """Progress bar: step, loss, tokens/s, examples/step, real-token fraction."""

    def __init__(self):
      self.bar = None
      self.loss = None
      self.start = None
      self.start_step = 0
      self.start_count = batching.TokenCount()
      self.begin = time.perf_counter()
      self.first_step_seconds = None
      self.summary: Dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kwargs):
      self.begin = time.perf_counter()
      if state.is_world_process_zero:
        self.bar = tqdm.tqdm(total=state.max_steps, initial=state.global_step,
                             desc="train", unit="step", file=out or sys.stderr,
                             dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
      if self.bar is not None:
        self.bar.update(state.global_step - self.bar.n)
      # Reading the counts waits for the GPU: only at the first step, at
      # logging steps and at the last.
      if not (self.start is None or state.global_step >= state.max_steps or
              state.global_step % max(1, args.logging_steps) == 0):
        return
      now = time.perf_counter()
      count.flush()
      if self.start is None:
        self.start, self.start_step = now, state.global_step
        self.start_count = dataclasses.replace(count)
        self.first_step_seconds = now - self.begin
        if self.bar is not None:
          self.bar.write("train: first step in %.1f s (start-up%s)" % (
              self.first_step_seconds,
              " and compilation" if compiling else ""),
                         file=out or sys.stderr)
      elapsed = now - self.start
      steps = state.global_step - self.start_step
      tokens = (count.tokens - self.start_count.tokens) * processes
      examples = (count.examples - self.start_count.examples) * processes
      positions = (count.positions - self.start_count.positions) * processes
      rate = tokens / elapsed if elapsed > 0 else 0.0
      self.summary = {
          "steps": steps, "seconds": elapsed, "tokens": tokens,
          "tokens_per_second": rate, "examples": examples,
          "examples_per_step": examples / steps if steps else 0.0,
          "real_token_fraction": tokens / positions if positions else 0.0,
          "loss": self.loss, "first_step_seconds": self.first_step_seconds}
      if self.bar is not None:
        postfix = {"tok/s": "%.0f" % rate}
        if steps:
          postfix["ex/step"] = "%.1f" % self.summary["examples_per_step"]
          postfix["real"] = "%.2f" % self.summary["real_token_fraction"]
        if self.loss is not None:
          postfix["loss"] = "%.4f" % self.loss
        self.bar.set_postfix(postfix, refresh=False)

    def on_log(self, args, state, control, logs=None, **kwargs):
      if logs and "loss" in logs:
        self.loss = float(logs["loss"])

    def on_train_end(self, args, state, control, **kwargs):
      if self.bar is not None:
        self.bar.close()

  return ProgressCallback()
