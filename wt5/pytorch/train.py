"""`wt5 train`: trains a Hugging Face T5 on a `wt5 export` with PyTorch.

The engine is `transformers.Seq2SeqTrainer`: one process on a CPU or GPU, or
torch DDP over N GPUs when started by `torchrun`:

    wt5 train --export exports/esnli_mnli --model_dir runs/base --model base
    torchrun --nproc_per_node=8 -m wt5.cli train --export ... --model_dir ...

Examples are packed into rows of the export's sequence lengths as
`t5_mesh_transformer` packs them (`wt5.pytorch.packing`; `--no-pack` pads one
example per row instead). `--tokens_per_batch N` sets the batch as the
binary's `utils.run.batch_size = ("tokens_per_batch", N)` does: N / max(lengths)
rows per optimizer step over all processes and gradient accumulation steps,
with `--batch_size` rows per device and micro-batch. The loss of a step is the
mean over every target token of the step (all micro-batches, all processes).

Defaults follow the T5 fine-tuning recipe: Adafactor at a constant learning
rate of 1e-3, no warm-up, no weight decay, dropout 0.1. bf16 is used on GPUs
that support it. Checkpoints (`<model_dir>/checkpoint-<step>`, each a
loadable model directory) are saved every `--save_steps`; `--resume`
continues from the newest one. TensorBoard logs go to `<model_dir>/runs`, and
a progress bar shows the step, the loss, tokens/s (input and target tokens
that are not padding, over all processes), examples per step and the
fraction of positions that are real tokens.

`--fsdp` shards the model, its gradients and the optimizer over the torchrun
processes instead of DDP (`wt5.pytorch.fsdp`); `--plan` prints the memory
per device of the run and exits (`wt5.pytorch.memory_plan`), and a run that
does not fit the GPU is refused before the model is loaded.

Nothing here imports TensorFlow or t5.
"""

import argparse
import dataclasses
import os
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir
from wt5.pytorch import adafactor
from wt5.pytorch import attention
from wt5.pytorch import batching
from wt5.pytorch import fsdp as fsdp_lib
from wt5.pytorch import memory_plan
from wt5.pytorch import model as model_lib
from wt5.pytorch import packing

DEFAULT_LEARNING_RATE = 1e-3


def world_size() -> int:
  """Processes in the torchrun job (1 without torchrun)."""
  return int(os.environ.get("WORLD_SIZE", "1"))


def accumulation_steps(lengths: Mapping[str, int],
                       tokens_per_batch: Optional[int], batch_size: int,
                       grad_accum: Optional[int], processes: int) -> int:
  """Gradient accumulation steps giving `tokens_per_batch` tokens a step.

  As Mesh TF's `tokens_per_batch`, a step holds tokens_per_batch / max(lengths)
  rows, shared by `processes` processes of `batch_size` rows per micro-batch:
  accumulation_steps({"inputs": 512, "targets": 256}, 65536, 16, None, 2) -> 4
  Without `tokens_per_batch`: `grad_accum`, or 1.
  """
  if batch_size < 1:
    raise batching.BatchError("--batch_size must be at least 1, not %d" % batch_size)
  if tokens_per_batch is None:
    return 1 if grad_accum is None else grad_accum
  longest = max(lengths["inputs"], lengths["targets"])
  if tokens_per_batch < longest or tokens_per_batch % longest:
    raise batching.BatchError(
        "--tokens_per_batch %d is not a multiple of the export's longest "
        "sequence length %d (rows of %s)" % (tokens_per_batch, longest,
                                             dict(lengths)))
  rows = tokens_per_batch // longest
  per_micro_step = batch_size * processes
  if rows % per_micro_step:
    raise batching.BatchError(
        "--tokens_per_batch %d is %d rows of %d positions a step, which %d "
        "process(es) of --batch_size %d rows cannot share evenly" % (
            tokens_per_batch, rows, longest, processes, batch_size))
  steps = rows // per_micro_step
  if grad_accum is not None and grad_accum != steps:
    raise batching.BatchError(
        "--grad_accum %d contradicts --tokens_per_batch %d (%d rows a step = "
        "%d process(es) x --batch_size %d x %d accumulation steps); leave "
        "--grad_accum out" % (grad_accum, tokens_per_batch, rows, processes,
                              batch_size, steps))
  return steps


def progress_callback(count: batching.TokenCount, out=None,
                      compiling: bool = False):
  """A `TrainerCallback` drawing a progress bar with loss, tokens/s and batch figures.

  Rates are measured from the end of the first step (start-up and the first
  step's compilation excluded) and multiplied by the number of processes;
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
      world = world_size()
      tokens = (count.tokens - self.start_count.tokens) * world
      examples = (count.examples - self.start_count.examples) * world
      positions = (count.positions - self.start_count.positions) * world
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


def trainer_class():
  """`Seq2SeqTrainer` with the loss of `wt5 train` and batch figures in its logs.

  The loss of a micro-batch is its summed target-token loss divided by the
  target tokens of the whole step (the Trainer's `num_items_in_batch`, over
  all micro-batches and processes), times the number of processes (DDP
  averages gradients): a step's gradient is that of the token-weighted mean
  loss of all its examples, however they are split across devices and
  micro-batches. Each logged loss carries `examples_per_step` and
  `real_token_fraction` (real tokens / positions) since the previous log,
  summed over all processes.
  """
  import torch
  import transformers

  class Trainer(transformers.Seq2SeqTrainer):
    """The trainer of `wt5 train`."""

    loss_is_scaled_for_ga = True

    def __init__(self, *args, count: batching.TokenCount, **kwargs):
      super().__init__(*args, **kwargs)
      self.count = count
      self.logged = (0, 0, 0, 0)  # step, tokens, examples, positions
      # Let the Trainer count each step's target tokens (num_items_in_batch).
      self.model_accepts_loss_kwargs = True
      # transformers' Adafactor update, stacked by shape (wt5.pytorch.adafactor).
      self.optimizer_cls_and_kwargs = (adafactor.GroupedAdafactor,
                                       {"lr": self.args.learning_rate})

    def compute_loss(self, model, inputs, return_outputs=False,
                     num_items_in_batch=None):
      self.count.add(inputs)
      total = batching.target_loss_sum(model, inputs)
      if num_items_in_batch is None:  # outside training steps
        num_items_in_batch = (inputs["labels"] != batching.IGNORE_INDEX).sum()
        scale = 1
      else:
        scale = self.accelerator.num_processes
      loss = total / num_items_in_batch * scale
      return (loss, None) if return_outputs else loss

    def log(self, logs, start_time=None):
      if "loss" in logs:
        self.count.flush()
        now = (self.state.global_step, self.count.tokens, self.count.examples,
               self.count.positions)
        delta = torch.tensor([b - a for a, b in zip(self.logged, now)],
                             dtype=torch.float64)
        self.logged = now
        if torch.distributed.is_available() and torch.distributed.is_initialized():
          delta = delta.to(self.args.device)
          torch.distributed.all_reduce(delta)
          delta = delta.cpu()
          delta[0] /= torch.distributed.get_world_size()
        steps, tokens, examples, positions = delta.tolist()
        if steps > 0 and positions > 0:
          logs["examples_per_step"] = examples / steps
          logs["real_token_fraction"] = tokens / positions
      super().log(logs, start_time)

  return Trainer


def default_bf16() -> bool:
  """bf16 where the GPU supports it (Ampere and newer), else float32."""
  import torch
  return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


@dataclasses.dataclass
class TrainOptions:
  """Everything `train` needs; the fields mirror `wt5 train`'s flags."""
  export_dir: str
  model_dir: str
  model: str = "small"
  split: str = "train"
  steps: int = 1000
  batch_size: int = 8
  grad_accum: Optional[int] = None
  tokens_per_batch: Optional[int] = None
  pack: bool = True
  learning_rate: float = DEFAULT_LEARNING_RATE
  dropout_rate: float = 0.1
  save_steps: int = 500
  logging_steps: int = 10
  bf16: Optional[bool] = None
  resume: bool = False
  seed: int = 0
  pad_to_length: bool = False
  num_workers: Optional[int] = None
  save_total_limit: Optional[int] = None
  attn_implementation: Optional[str] = None
  attention_dropout: Optional[float] = None
  torch_compile: bool = False
  fsdp: bool = False
  gradient_checkpointing: bool = False
  gpu_memory_gb: Optional[float] = None


def train(options: TrainOptions, out=None,
          callbacks: Sequence[Any] = ()) -> Dict[str, Any]:
  """Trains; returns the progress summary and the final step.

  train(TrainOptions("exports/x", "runs/x", model="tiny", steps=100))
  -> {"steps": 99, "tokens_per_second": ..., "global_step": 100, ...}
  """
  import transformers

  export = Export(options.export_dir)
  lengths = export.sequence_length
  grad_accum = accumulation_steps(lengths, options.tokens_per_batch,
                                  options.batch_size, options.grad_accum,
                                  world_size())
  if options.pack and options.pad_to_length:
    raise batching.BatchError("--pad_to_length pads unpacked rows; it needs --no-pack "
                     "(packed rows always have the export's lengths)")
  examples = export.examples(options.split)
  if not examples:
    raise ExportError("%s: split %r has no examples" % (
        options.export_dir, options.split))
  if options.pack:
    dataset = packing.pack_examples(examples, lengths)
    collator = packing.PackedCollator(lengths)
  else:
    dataset = examples
    collator = batching.Collator(lengths if options.pad_to_length else None)
  vocab_size = export.vocabulary.size
  resume_from = ModelDir(options.model_dir).latest
  if resume_from and not options.resume:
    raise model_lib.ModelError(
        "%s already holds checkpoints (the newest %s); pass --resume to "
        "continue from it, or choose another model_dir" % (
            options.model_dir, os.path.basename(resume_from)))
  if options.fsdp:
    fsdp_lib.check_launch(os.environ)
  if resume_from and options.fsdp:
    fsdp_lib.check_resume(resume_from, world_size())
  model, note = model_lib.load_model(options.model, vocab_size,
                                     options.dropout_rate, options.seed)
  if note:
    print("note: %s" % note, file=out or sys.stderr)
  bf16 = default_bf16() if options.bf16 is None else options.bf16
  memory = options.gpu_memory_gb or memory_plan.device_memory_gb()
  if memory is not None and memory_plan.can_plan(options.model):
    memory_plan.check_fits(memory_plan.plan_of_run(options, world_size(), bf16),
                           memory)
  implementation = configure_attention(model, options)
  print("attention: %s" % implementation, file=out or sys.stderr)
  if options.pack:
    packing.enable_packed_batches(model)
  workers = default_workers() if options.num_workers is None else options.num_workers
  if options.torch_compile:
    model_lib.compile_blocks(model)
  count = batching.TokenCount()
  args = transformers.Seq2SeqTrainingArguments(
      output_dir=options.model_dir,
      max_steps=options.steps,
      per_device_train_batch_size=options.batch_size,
      gradient_accumulation_steps=grad_accum,
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
      dataloader_num_workers=workers,
      dataloader_pin_memory=_cuda(),
      dataloader_persistent_workers=workers > 0,
      dataloader_prefetch_factor=2 if workers else None,
      remove_unused_columns=False,
      disable_tqdm=True,
      use_cpu=not _cuda(),
      ddp_find_unused_parameters=False,
      **fsdp_lib.training_arguments(options.fsdp,
                                    options.gradient_checkpointing),
  )
  progress = progress_callback(count, out, options.torch_compile)
  if options.fsdp:
    model = fsdp_lib.shard_model(model, bf16, args.device.type)
  trainer = (fsdp_lib.sharded_trainer_class(trainer_class()) if options.fsdp
             else trainer_class())(
      model=model, args=args, train_dataset=dataset, data_collator=collator,
      callbacks=[progress, *callbacks] + fsdp_lib.callbacks(options.fsdp),
      count=count)
  trainer.remove_callback(transformers.PrinterCallback)
  # The Trainer also saves the last step's checkpoint (model and optimizer).
  result = trainer.train(resume_from_checkpoint=resume_from)
  return dict(progress.summary, global_step=trainer.state.global_step,
              train_loss=result.training_loss, bf16=bf16,
              resumed_from=resume_from, grad_accum=grad_accum,
              rows_per_step=options.batch_size * grad_accum * world_size(),
              packed=options.pack, attention=implementation,
              log_history=trainer.state.log_history)


def configure_attention(model: Any, options: TrainOptions) -> str:
  """Sets the model's attention dropout and implementation; returns the implementation.

  The attention dropout is the model's dropout rate unless
  `--attention_dropout` says otherwise (as Mesh TF's
  `SelfAttention.dropout_rate = %dropout_rate`); `attention.choose` picks
  the implementation.
  """
  rate = options.attention_dropout
  if rate is None:
    rate = options.dropout_rate
  else:
    attention.set_attention_dropout(model, rate)
  implementation = attention.choose(options.attn_implementation, options.pack,
                                    _cuda(), rate)
  attention.use(model, implementation)
  return implementation


def default_workers() -> int:
  """DataLoader workers: 2 on a GPU (collation beside the steps), 0 on a CPU."""
  return 2 if _cuda() else 0


def _cuda() -> bool:
  import torch
  return torch.cuda.is_available()


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 train`."""
  d = TrainOptions("", "")
  parser.add_argument("--export", dest="export_dir",
                      help="A `wt5 export` directory (required).")
  parser.add_argument("--model_dir",
                      help="Where checkpoints and TensorBoard logs go "
                      "(required).")
  parser.add_argument("--model", default=d.model,
                      help="A size to train from scratch (%s), a checkpoint "
                      "directory, or a Hugging Face hub name." %
                      ", ".join(model_lib.PRESETS))
  parser.add_argument("--split", default=d.split,
                      help="The exported split to train on.")
  parser.add_argument("--steps", type=int, default=d.steps)
  parser.add_argument("--batch_size", type=int, default=d.batch_size,
                      help="Rows per device and micro-batch (packed rows, "
                      "or examples with --no-pack).")
  parser.add_argument("--tokens_per_batch", type=int, default=None,
                      help="Tokens per optimizer step, as Mesh TF's "
                      "tokens_per_batch: N / max(sequence lengths) rows over "
                      "all processes and accumulation steps (sets "
                      "--grad_accum). The paper: 65536.")
  parser.add_argument("--grad_accum", type=int, default=None,
                      help="Gradient accumulation steps (default 1, or what "
                      "--tokens_per_batch needs).")
  parser.add_argument("--pack", action=argparse.BooleanOptionalAction,
                      default=d.pack,
                      help="Pack several examples into each row, as "
                      "t5_mesh_transformer does (default); --no-pack pads "
                      "one example per row.")
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
                      help="With --no-pack: pad every batch to the export's "
                      "sequence lengths.")
  parser.add_argument("--num_workers", type=int, default=None,
                      help="DataLoader worker processes that collate "
                      "batches (default: 2 on a GPU, 0 on a CPU).")
  parser.add_argument("--attn_implementation", default=None,
                      choices=attention.CHOICES,
                      help="auto (default): wt5_flex (FlexAttention with "
                      "block masks from the segment ids) for packed "
                      "batches on a GPU without attention dropout, else "
                      "sdpa; or force wt5_flex, sdpa or eager.")
  parser.add_argument("--attention_dropout", type=float, default=None,
                      help="Dropout of the attention probabilities (default: "
                      "--dropout_rate, as T5); wt5_flex needs 0.")
  parser.add_argument("--torch_compile", action="store_true",
                      help="Compile the model with torch.compile.")
  parser.add_argument("--seed", type=int, default=d.seed)
  fsdp_lib.add_arguments(parser)
  memory_plan.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 train`."""
  # OpenMP threads that spin while waiting collapse on a shared, loaded CPU
  # (each step several times slower); read when torch loads.
  os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
  fields = {f.name for f in dataclasses.fields(TrainOptions)}
  options = TrainOptions(**{k: v for k, v in vars(args).items() if k in fields})
  try:
    if args.consolidate:
      for path in fsdp_lib.consolidate_model_dir(args.consolidate):
        print("Consolidated %s" % path)
      return 0
    if not (options.export_dir and options.model_dir):
      raise batching.BatchError("--export and --model_dir are required (or "
                                "--consolidate MODEL_DIR alone)")
    if args.plan:
      bf16 = True if options.bf16 is None else options.bf16
      p = memory_plan.plan_of_run(options, args.processes or world_size(), bf16)
      memory = options.gpu_memory_gb or memory_plan.device_memory_gb()
      print("\n".join(memory_plan.describe(p, memory)))
      return 0 if memory is None or memory_plan.fits(p, memory) else 1
    summary = train(options)
  except (ExportError, model_lib.ModelError,
          batching.BatchError, fsdp_lib.FsdpError,
          memory_plan.PlanError, attention.AttentionError) as e:
    print("wt5 train: %s" % e, file=sys.stderr)
    return 2
  if int(os.environ.get("RANK", "0")) == 0:
    print("Trained to step %d (loss %.4f), %.0f tokens/s, %.1f examples a "
          "step, %.0f%% of positions real tokens; checkpoints in %s" % (
              summary["global_step"], summary["train_loss"],
              summary.get("tokens_per_second", 0.0),
              summary.get("examples_per_step", 0.0),
              100 * summary.get("real_token_fraction", 0.0),
              options.model_dir))
  return 0
