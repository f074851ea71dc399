"""`wt5 train`: trains a Hugging Face T5 on a `wt5 export` with PyTorch.

The engine is `transformers.Seq2SeqTrainer`: one process on a CPU or GPU, or
torch DDP over N GPUs when started by `torchrun`:

    wt5 train --export exports/esnli_mnli --model_dir runs/base --model base
    torchrun --nproc_per_node=8 -m wt5.cli train --export ... --model_dir ...

Defaults follow the T5 fine-tuning recipe: Adafactor at a constant learning
rate of 1e-3, no warm-up, no weight decay, dropout 0.1. bf16 is used on GPUs
that support it. Checkpoints (`<model_dir>/checkpoint-<step>`, each a
loadable model directory) are saved every `--save_steps`; `--resume`
continues from the newest one. TensorBoard logs go to `<model_dir>/runs`, and
a progress bar shows the step, the loss and tokens/s (input and target tokens
that are not padding, over all processes).

Nothing here imports TensorFlow or t5.
"""

import argparse
import dataclasses
import os
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from wt5.export import files as export_data
from wt5.pytorch import model as model_lib
from wt5.pytorch import batching

DEFAULT_LEARNING_RATE = 1e-3


def world_size() -> int:
  """Processes in the torchrun job (1 without torchrun)."""
  return int(os.environ.get("WORLD_SIZE", "1"))


def progress_callback(count: batching.TokenCount, out=None):
  """A `TrainerCallback` drawing a progress bar with loss and tokens/s.

  tokens/s is measured from the end of the first step (start-up and the
  first step's compilation excluded) and multiplied by the number of
  processes. `callback.summary` holds the last figures:
  {"steps": 100, "seconds": 12.5, "tokens": 51200, "tokens_per_second": 4096.0, "loss": 2.31}
  """
  import tqdm  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top

  class ProgressCallback(transformers.TrainerCallback):
    """Progress bar: step, loss, tokens/s."""

    def __init__(self):
      self.bar = None
      self.loss = None
      self.start = None
      self.start_step = 0
      self.start_tokens = 0
      self.summary: Dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kwargs):
      if state.is_world_process_zero:
        self.bar = tqdm.tqdm(total=state.max_steps, initial=state.global_step,
                             desc="train", unit="step", file=out or sys.stderr,
                             dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
      now = time.perf_counter()
      if self.start is None:
        self.start, self.start_step = now, state.global_step
        self.start_tokens = count.tokens
      elapsed = now - self.start
      tokens = (count.tokens - self.start_tokens) * world_size()
      rate = tokens / elapsed if elapsed > 0 else 0.0
      self.summary = {"steps": state.global_step - self.start_step,
                      "seconds": elapsed, "tokens": tokens,
                      "tokens_per_second": rate, "loss": self.loss}
      if self.bar is not None:
        self.bar.update(state.global_step - self.bar.n)
        postfix = {"tok/s": "%.0f" % rate}
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


def default_bf16() -> bool:
  """bf16 where the GPU supports it (Ampere and newer), else float32."""
  import torch  # pylint: disable=g-import-not-at-top
  return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def latest_checkpoint(model_dir: str) -> Optional[str]:
  """The newest `checkpoint-<step>` directory of `model_dir`, or None."""
  steps = checkpoint_steps(model_dir)
  return os.path.join(model_dir, "checkpoint-%d" % steps[-1]) if steps else None


def checkpoint_steps(model_dir: str) -> List[int]:
  """The steps of `model_dir`'s checkpoints: checkpoint_steps("m") -> [100, 200]."""
  if not os.path.isdir(model_dir):
    return []
  steps = []
  for name in os.listdir(model_dir):
    head, _, step = name.partition("-")
    if head == "checkpoint" and step.isdigit() and model_lib.is_checkpoint_dir(
        os.path.join(model_dir, name)):
      steps.append(int(step))
  return sorted(steps)


@dataclasses.dataclass
class TrainOptions:
  """Everything `train` needs; the fields mirror `wt5 train`'s flags."""
  export_dir: str
  model_dir: str
  model: str = "small"
  split: str = "train"
  steps: int = 1000
  batch_size: int = 8
  grad_accum: int = 1
  learning_rate: float = DEFAULT_LEARNING_RATE
  dropout_rate: float = 0.1
  save_steps: int = 500
  logging_steps: int = 10
  bf16: Optional[bool] = None
  resume: bool = False
  seed: int = 0
  pad_to_length: bool = False
  num_workers: int = 0
  save_total_limit: Optional[int] = None


def train(options: TrainOptions, out=None) -> Dict[str, Any]:
  """Trains; returns the progress summary and the final step.

  train(TrainOptions("exports/x", "runs/x", model="tiny", steps=100))
  -> {"steps": 99, "tokens_per_second": ..., "global_step": 100, ...}
  """
  import transformers  # pylint: disable=g-import-not-at-top

  manifest = export_data.read_manifest(options.export_dir)
  examples = export_data.read_split(options.export_dir, options.split)
  if not examples:
    raise export_data.ExportError("%s: split %r has no examples" % (
        options.export_dir, options.split))
  vocab_size = int(manifest["vocabulary"]["size"])
  resume_from = latest_checkpoint(options.model_dir)
  if resume_from and not options.resume:
    raise model_lib.ModelError(
        "%s already holds checkpoints (the newest %s); pass --resume to "
        "continue from it, or choose another model_dir" % (
            options.model_dir, os.path.basename(resume_from)))
  model, note = model_lib.load_model(options.model, vocab_size,
                                     options.dropout_rate, options.seed)
  if note:
    print("note: %s" % note, file=out or sys.stderr)
  bf16 = default_bf16() if options.bf16 is None else options.bf16
  count = batching.TokenCount()
  collator = batching.Collator(
      manifest["sequence_length"] if options.pad_to_length else None, count)
  args = transformers.Seq2SeqTrainingArguments(
      output_dir=options.model_dir,
      max_steps=options.steps,
      per_device_train_batch_size=options.batch_size,
      gradient_accumulation_steps=options.grad_accum,
      learning_rate=options.learning_rate,
      optim="adafactor",
      lr_scheduler_type="constant",
      warmup_steps=0,
      weight_decay=0.0,
      save_strategy="steps",
      save_steps=options.save_steps,
      save_total_limit=options.save_total_limit,
      logging_strategy="steps",
      logging_steps=options.logging_steps,
      report_to=["tensorboard"],
      bf16=bf16,
      seed=options.seed,
      dataloader_num_workers=options.num_workers,
      remove_unused_columns=False,
      disable_tqdm=True,
      use_cpu=not _cuda(),
      ddp_find_unused_parameters=False,
  )
  progress = progress_callback(count, out)
  trainer = transformers.Seq2SeqTrainer(
      model=model, args=args, train_dataset=examples, data_collator=collator,
      callbacks=[progress])
  trainer.remove_callback(transformers.PrinterCallback)
  # The Trainer also saves the last step's checkpoint (model and optimizer).
  result = trainer.train(resume_from_checkpoint=resume_from)
  return dict(progress.summary, global_step=trainer.state.global_step,
              train_loss=result.training_loss, bf16=bf16,
              resumed_from=resume_from)


def _cuda() -> bool:
  import torch  # pylint: disable=g-import-not-at-top
  return torch.cuda.is_available()


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 train`."""
  d = TrainOptions("", "")
  parser.add_argument("--export", dest="export_dir", required=True,
                      help="A `wt5 export` directory.")
  parser.add_argument("--model_dir", required=True,
                      help="Where checkpoints and TensorBoard logs go.")
  parser.add_argument("--model", default=d.model,
                      help="A size to train from scratch (%s), a checkpoint "
                      "directory, or a Hugging Face hub name." %
                      ", ".join(model_lib.PRESETS))
  parser.add_argument("--split", default=d.split,
                      help="The exported split to train on.")
  parser.add_argument("--steps", type=int, default=d.steps)
  parser.add_argument("--batch_size", type=int, default=d.batch_size,
                      help="Examples per device and step.")
  parser.add_argument("--grad_accum", type=int, default=d.grad_accum,
                      help="Gradient accumulation steps.")
  parser.add_argument("--learning_rate", type=float, default=d.learning_rate)
  parser.add_argument("--dropout_rate", type=float, default=d.dropout_rate)
  parser.add_argument("--save_steps", type=int, default=d.save_steps)
  parser.add_argument("--save_total_limit", type=int, default=None,
                      help="Keep only this many checkpoints (default all).")
  parser.add_argument("--logging_steps", type=int, default=d.logging_steps)
  parser.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                      default=None, help="Default: on GPUs that support it.")
  parser.add_argument("--resume", action="store_true",
                      help="Continue from the newest checkpoint in model_dir.")
  parser.add_argument("--pad_to_length", action="store_true",
                      help="Pad every batch to the export's sequence lengths.")
  parser.add_argument("--num_workers", type=int, default=d.num_workers,
                      help="DataLoader worker processes.")
  parser.add_argument("--seed", type=int, default=d.seed)


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 train`."""
  # OpenMP threads that spin while waiting collapse on a shared, loaded CPU
  # (each step several times slower); read when torch loads.
  os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
  fields = {f.name for f in dataclasses.fields(TrainOptions)}
  options = TrainOptions(**{k: v for k, v in vars(args).items() if k in fields})
  try:
    summary = train(options)
  except (export_data.ExportError, model_lib.ModelError) as e:
    print("wt5 train: %s" % e, file=sys.stderr)
    return 2
  if int(os.environ.get("RANK", "0")) == 0:
    print("Trained to step %d (loss %.4f), %.0f tokens/s; checkpoints in %s" % (
        summary["global_step"], summary["train_loss"],
        summary.get("tokens_per_second", 0.0), options.model_dir))
  return 0
