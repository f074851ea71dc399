"""Training a Hugging Face T5 on a `wt5 export` with PyTorch (`wt5 train`).

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

import dataclasses
import os
import sys
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from wt5 import cli_options
from wt5.cli_options import option_field
from wt5.formats.export import Export, ExportError
from wt5.formats.model_dir import ModelDir
from wt5.pytorch import adafactor
from wt5.pytorch import attention
from wt5.pytorch import batching
from wt5.pytorch import cpu_memory
from wt5.pytorch import fsdp as fsdp_lib
from wt5.pytorch import memory_plan
from wt5.pytorch import model as model_lib
from wt5.pytorch import packing
from wt5.pytorch import progress as progress_lib

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
  """Everything `train` needs; each field declares its `wt5 train` option."""
  export_dir: str = option_field(option=cli_options.EXPORT, required=False,
                                 help="A `wt5 export` directory (required).")
  model_dir: str = option_field(
      option=cli_options.MODEL_DIR, required=False,
      help="Where checkpoints and TensorBoard logs go (required).")
  model: str = option_field(
      "small", "A size to train from scratch (%s), a checkpoint directory, "
      "or a Hugging Face hub name." % ", ".join(model_lib.PRESETS))
  split: str = option_field("train", "The exported split to train on.",
                            option=cli_options.SPLIT)
  steps: int = option_field(1000)
  batch_size: int = option_field(
      8, "Rows per device and micro-batch (packed rows, or examples with "
      "--no-pack).", option=cli_options.BATCH_SIZE)
  grad_accum: Optional[int] = option_field(
      None, "Gradient accumulation steps (default 1, or what "
      "--tokens_per_batch needs).")
  tokens_per_batch: Optional[int] = option_field(
      None, "Tokens per optimizer step, as Mesh TF's tokens_per_batch: N / "
      "max(sequence lengths) rows over all processes and accumulation steps "
      "(sets --grad_accum). The paper: 65536.")
  pack: bool = option_field(
      True, "Pack several examples into each row, as t5_mesh_transformer "
      "does (default); --no-pack pads one example per row.")
  learning_rate: float = option_field(DEFAULT_LEARNING_RATE)
  dropout_rate: float = option_field(0.1)
  save_steps: int = option_field(500)
  logging_steps: int = option_field(10)
  bf16: Optional[bool] = option_field(None,
                                      "Default: on GPUs that support it.")
  resume: bool = option_field(
      False, "Continue from the newest checkpoint in model_dir.")
  seed: int = option_field(0)
  pad_to_length: bool = option_field(
      False, "With --no-pack: pad every batch to the export's sequence "
      "lengths.")
  num_workers: Optional[int] = option_field(
      None, "DataLoader worker processes that collate batches (default: 2 "
      "on a GPU, 0 on a CPU).")
  save_total_limit: Optional[int] = option_field(
      None, "Keep only this many checkpoints (default all).")
  attn_implementation: Optional[str] = option_field(
      None, "auto (default): wt5_segments (each packed example's attention "
      "alone, gathered out of the rows, which it lays end to end without "
      "their padding) for packed batches on a CPU without --torch_compile, "
      "else sdpa; or force wt5_segments, wt5_flex (FlexAttention with "
      "block masks from the segment ids; GPU training, no attention "
      "dropout), sdpa or eager.",
      choices=attention.CHOICES)
  attention_dropout: Optional[float] = option_field(
      None, "Dropout of the attention probabilities (default: "
      "--dropout_rate, as T5); wt5_flex needs 0.")
  torch_compile: bool = option_field(
      False, "Compile the model with torch.compile.")
  fsdp: bool = option_field(
      False, "Shard parameters, gradients and optimizer state over the "
      "torchrun processes (PyTorch FSDP2, one unit per T5Block); default: "
      "DDP.")
  gradient_checkpointing: bool = option_field(
      False, "Recompute each T5Block's activations in the backward pass "
      "instead of keeping them.")
  gpu_memory_gb: Optional[float] = option_field(
      None, "Memory per device in GB: --plan says whether the run fits; a "
      "run that does not fit is refused (default: the GPU's own memory; no "
      "check on CPUs).")


def training_data(export: Export, options: TrainOptions,
                  compact: bool = False) -> Tuple[Any, Any]:
  """The training rows of the export's split and their collator.

  Packed rows (`wt5.pytorch.packing`) by default, laid end to end without
  their padding if `compact` (`packing.compact_batch`); with `pack=False`
  one example per row, padded per batch (or to the export's lengths).
  """
  lengths = export.sequence_length
  if options.pack and options.pad_to_length:
    raise batching.BatchError("--pad_to_length pads unpacked rows; it needs "
                              "--no-pack (packed rows always have the "
                              "export's lengths)")
  examples = export.examples(options.split)
  if not examples:
    raise ExportError("%s: split %r has no examples" % (
        options.export_dir, options.split))
  if options.pack:
    return (packing.pack_examples(examples, lengths),
            packing.PackedCollator(lengths, compact=compact))
  return examples, batching.Collator(lengths if options.pad_to_length
                                     else None)


def resume_checkpoint(options: TrainOptions) -> Optional[str]:
  """The checkpoint to continue from, or None for a new model directory.

  A model directory that already holds checkpoints needs `resume=True`, and
  `fsdp=True` a torchrun launch that can resume the sharded checkpoint:
  resume_checkpoint(TrainOptions("e", "runs/x", resume=True)) ->
  "runs/x/checkpoint-200".
  """
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
  return resume_from


def training_arguments(options: TrainOptions, grad_accum: int,
                       bf16: bool) -> Any:
  """The Trainer's arguments: T5's fine-tuning recipe at the options' sizes.

  Adafactor at a constant learning rate, no warm-up, no weight decay;
  checkpoints and TensorBoard logs in the model directory.
  """
  import transformers
  workers = (default_workers() if options.num_workers is None
             else options.num_workers)
  return transformers.Seq2SeqTrainingArguments(
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


def train(options: TrainOptions, out=None,
          callbacks: Sequence[Any] = ()) -> Dict[str, Any]:
  """Trains; returns the progress summary and the final step.

  train(TrainOptions("exports/x", "runs/x", model="tiny", steps=100))
  -> {"steps": 99, "tokens_per_second": ..., "global_step": 100, ...}
  """
  import transformers

  export = Export(options.export_dir)
  grad_accum = accumulation_steps(export.sequence_length,
                                  options.tokens_per_batch,
                                  options.batch_size, options.grad_accum,
                                  world_size())
  implementation = attention_implementation(options)
  # wt5_segments attends example by example: its rows need no padding.
  compact = implementation == attention.SEGMENTS
  dataset, collator = training_data(export, options, compact)
  resume_from = resume_checkpoint(options)
  model, note = model_lib.load_model(options.model, export.vocabulary.size,
                                     options.dropout_rate, options.seed)
  if note:
    print("note: %s" % note, file=out or sys.stderr)
  bf16 = default_bf16() if options.bf16 is None else options.bf16
  memory = options.gpu_memory_gb or memory_plan.device_memory_gb()
  if memory is not None and memory_plan.can_plan(options.model):
    memory_plan.check_fits(memory_plan.plan_of_run(options, world_size(), bf16),
                           memory)
  configure_attention(model, options, implementation)
  print("attention: %s%s" % (implementation, ", compact rows" if compact
                             else ""), file=out or sys.stderr)
  if options.pack:
    packing.enable_packed_batches(model)
  if options.torch_compile:
    model_lib.compile_blocks(model)
  if not _cuda():  # the same large tensors every step, without page faults
    cpu_memory.keep_freed_memory()
  count = batching.TokenCount()
  args = training_arguments(options, grad_accum, bf16)
  progress = progress_lib.progress_callback(count, out, options.torch_compile,
                                            world_size())
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
              compact_rows=compact,
              log_history=trainer.state.log_history)


def attention_rate(options: TrainOptions) -> float:
  """The attention dropout: `--attention_dropout`, else the model's dropout.

  As Mesh TF's `SelfAttention.dropout_rate = %dropout_rate`:
  attention_rate(TrainOptions("e", "m", dropout_rate=0.1)) -> 0.1
  """
  if options.attention_dropout is None:
    return options.dropout_rate
  return options.attention_dropout


def attention_implementation(options: TrainOptions) -> str:
  """The attention a run uses (`attention.choose` on its options)."""
  return attention.choose(options.attn_implementation, options.pack, _cuda(),
                          attention_rate(options), options.torch_compile)


def configure_attention(model: Any, options: TrainOptions,
                        implementation: str) -> None:
  """Sets the model's attention implementation and, if given, its dropout."""
  if options.attention_dropout is not None:
    attention.set_attention_dropout(model, options.attention_dropout)
  attention.use(model, implementation)


def default_workers() -> int:
  """DataLoader workers: 2 on a GPU (collation beside the steps), 0 on a CPU."""
  return 2 if _cuda() else 0


def _cuda() -> bool:
  import torch
  return torch.cuda.is_available()
