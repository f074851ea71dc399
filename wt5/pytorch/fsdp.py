"""`wt5 train --fsdp`: fully sharded training with PyTorch FSDP2.

The Trainer shards the model through accelerate's FSDP2 plugin
(`torch.distributed.fsdp.fully_shard`): one unit per `T5Block`, and the root
unit (the shared embedding, which the output layer reuses, and the final
layer norms). Parameters, gradients and the optimizer's factored statistics
are spread over the processes; with bf16, the units compute in bfloat16 from
float32 master weights.

Adafactor stays the paper's optimizer. transformers' `Adafactor` cannot step
FSDP2's DTensor parameters, and applied to flat shards it would factor the
second moments over the shards' rows instead of the matrix's.
`FullRowsAdafactor` gathers each parameter's full gradient and weight
(one parameter at a time, so the transient memory is that of the largest
matrix), runs transformers' own `Adafactor` step on them, and keeps its local
shard of the result. The row and column statistics are those of the full
matrix (sizes rows + columns, held whole by every process, which is what
makes them small), so the update is the single-process one.

Nothing here imports TensorFlow or t5.
"""

import os
from typing import Any, Dict, List, Mapping, Tuple

from wt5.formats.model_dir import ModelDir


class FsdpError(ValueError):
  """A run that --fsdp cannot shard as asked."""


def check_launch(environ: Mapping[str, str]) -> None:
  """Raises FsdpError unless the process was started by torchrun.

  check_launch({"LOCAL_RANK": "0", "WORLD_SIZE": "1"}) -> None
  """
  if "LOCAL_RANK" not in environ or "WORLD_SIZE" not in environ:
    raise FsdpError("--fsdp runs under torchrun, one process per GPU: "
                    "torchrun --nproc_per_node=N -m wt5.cli train ... --fsdp "
                    "(N=1 on one GPU)")


def fsdp_config() -> Dict[str, Any]:
  """The Trainer's `fsdp_config` of `wt5 train --fsdp` (the model comes sharded).

  fsdp_config()["state_dict_type"] -> "SHARDED_STATE_DICT"
  """
  return {"version": 2, "reshard_after_forward": True,
          "auto_wrap_policy": "NO_WRAP",
          "state_dict_type": "SHARDED_STATE_DICT",
          "activation_checkpointing": False}


def shard_model(model: Any, bf16: bool, device_type: str) -> Any:
  """Shards `model` in place with `fully_shard`: each T5Block, then the rest.

  The root unit holds the shared embedding (also the encoder's and decoder's
  `embed_tokens` and the tied output layer: one parameter, one unit), the
  final layer norms and nothing else. With `bf16` the units compute in
  bfloat16 from the float32 sharded weights, and reduce gradients in float32.
  The default process group must be initialised.
  """
  import torch
  from torch.distributed import device_mesh
  from torch.distributed import fsdp

  mesh = device_mesh.init_device_mesh(device_type,
                                      (torch.distributed.get_world_size(),))
  policy = fsdp.MixedPrecisionPolicy(
      param_dtype=torch.bfloat16 if bf16 else None,
      reduce_dtype=torch.float32 if bf16 else None)
  for stack in (model.encoder, model.decoder):
    for block in stack.block:
      fsdp.fully_shard(block, mesh=mesh, mp_policy=policy,
                       reshard_after_forward=True)
  fsdp.fully_shard(model, mesh=mesh, mp_policy=policy)
  return model


def sharded_trainer_class(base: Any) -> Any:
  """`base` (a `Trainer` class) training a model that `shard_model` sharded.

  accelerate's FSDP plugin leaves an already sharded model as it is and
  takes over what DDP did: no DDP wrapper, gradient accumulation without
  reduction (`set_requires_gradient_sync`), sharded checkpoints through
  `torch.distributed.checkpoint`. accelerate switches the plugin on only on
  accelerators; on CPUs (gloo) the same plugin is switched on here. The
  optimizer is `FullRowsAdafactor` with the settings of `optim="adafactor"`.
  """
  from accelerate import state as accelerate_state
  from accelerate import utils as accelerate_utils

  class ShardedTrainer(base):
    """The Trainer of `wt5 train --fsdp`."""

    def create_accelerator_and_postprocess(self):
      super().create_accelerator_and_postprocess()
      if self.is_fsdp_enabled:
        return
      st = self.accelerator.state
      if st.distributed_type != accelerate_utils.DistributedType.MULTI_CPU:
        raise RuntimeError("--fsdp needs torchrun (got %s)" % st.distributed_type)
      st.distributed_type = accelerate_utils.DistributedType.FSDP
      accelerate_state.PartialState._shared_state["distributed_type"] = (
          st.distributed_type)
      st.fsdp_plugin = accelerate_utils.FullyShardedDataParallelPlugin(
          **self.args.fsdp_plugin_args)
      self.is_fsdp_enabled = True

    def create_optimizer(self, model=None):
      if self.optimizer is None:
        self.optimizer_cls_and_kwargs = optimizer_cls_and_kwargs(self.args)
      return super().create_optimizer(model)

  return ShardedTrainer


def optimizer_cls_and_kwargs(args: Any) -> Tuple[Any, Dict[str, Any]]:
  """The optimizer the Trainer would build for `args`, made FSDP-safe.

  For `optim="adafactor"`: (FullRowsAdafactor, {"lr": 1e-3,
  "scale_parameter": False, "relative_step": False}).
  """
  import transformers
  cls, kwargs = transformers.Trainer.get_optimizer_cls_and_kwargs(args)
  if cls is not transformers.optimization.Adafactor:
    raise ValueError("--fsdp supports Adafactor only, not %s" % cls.__name__)
  return full_rows_adafactor_class(), kwargs


def full_rows_adafactor_class():
  """transformers' `Adafactor`, stepping FSDP2 (DTensor) parameters whole."""
  import torch
  import transformers
  from torch.distributed import tensor as dtensor

  class FullRowsAdafactor(transformers.optimization.Adafactor):
    """Adafactor over each parameter's full rows and columns under FSDP2."""

    @torch.no_grad()
    def step(self, closure=None):
      loss = closure() if closure is not None else None
      groups = self.param_groups
      try:
        for group in groups:
          for p in group["params"]:
            if p.grad is None:
              continue
            if not isinstance(p, dtensor.DTensor):
              self.param_groups = [dict(group, params=[p])]
              super().step()
              continue
            whole = torch.nn.Parameter(p.full_tensor(), requires_grad=False)
            whole.grad = p.grad.full_tensor()
            self.state[whole] = self.state[p]
            self.param_groups = [dict(group, params=[whole])]
            super().step()
            del self.state[whole]
            shard = dtensor.distribute_tensor(
                whole.detach(), p.device_mesh, p.placements,
                src_data_rank=None)
            p.to_local().copy_(shard.to_local())
      finally:
        self.param_groups = groups
      return loss

  return FullRowsAdafactor


def training_arguments(fsdp: bool, gradient_checkpointing: bool
                       ) -> Dict[str, Any]:
  """The `Seq2SeqTrainingArguments` fields of --fsdp and --gradient_checkpointing.

  training_arguments(True, True) -> {"activation_checkpointing": True,
  "fsdp": True, "fsdp_config": {...}}

  Checkpointing is transformers' own (each T5Block, a
  `GradientCheckpointingLayer`, recomputes its forward in the backward
  pass, inside its FSDP unit).
  """
  fields = {"activation_checkpointing": gradient_checkpointing}
  if fsdp:
    fields.update(fsdp=True, fsdp_config=fsdp_config())
  return fields


def add_arguments(parser: Any) -> None:
  """`wt5 train --consolidate` (`--fsdp` itself is a `TrainOptions` field)."""
  parser.add_argument("--consolidate", metavar="MODEL_DIR", default=None,
                      help="Write the Hugging Face model of every sharded "
                      "checkpoint-<step> of MODEL_DIR (from --fsdp) and "
                      "exit.")


# ---------------------------------------------------------------------------
# Checkpoints: sharded (to resume) and consolidated (for every other command).
# ---------------------------------------------------------------------------

# accelerate's names: the sharded model and optimizer of a checkpoint.
SHARDED_MODEL = "pytorch_model_fsdp_0"
SHARDED_OPTIMIZER = "optimizer_0"
# What a sharded save records beside the shards: the model's config and the
# number of processes.
RECORD = "wt5_fsdp.json"


class CheckpointError(FsdpError):
  """A sharded checkpoint that cannot be consolidated or resumed."""


def write_record(checkpoint_dir: str, config: Any, processes: int) -> str:
  """Writes `checkpoint_dir/wt5_fsdp.json`: {"processes": 2, "config": {...}}."""
  import json
  path = os.path.join(checkpoint_dir, RECORD)
  with open(path, "w", encoding="utf-8") as f:
    json.dump({"processes": processes, "config": config.to_dict()}, f,
              indent=1, sort_keys=True)
  return path


def read_record(checkpoint_dir: str) -> Dict[str, Any]:
  """The record of a sharded checkpoint; CheckpointError if it is none."""
  import json
  path = os.path.join(checkpoint_dir, RECORD)
  if not os.path.isfile(path) or not os.path.isdir(
      os.path.join(checkpoint_dir, SHARDED_MODEL)):
    raise CheckpointError("%s is not a sharded checkpoint of `wt5 train "
                          "--fsdp` (no %s and %s/)" % (
                              checkpoint_dir, RECORD, SHARDED_MODEL))
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def consolidate(checkpoint_dir: str) -> str:
  """Writes the Hugging Face model of a sharded checkpoint into the same directory.

  Reads the shards in this one process (no process group needed) into a
  model built from the recorded config, then `save_pretrained` writes
  `model.safetensors`, `generation_config.json` and, last, `config.json`
  (a directory with `config.json` is a complete model for every command).
  consolidate("runs/x/checkpoint-4") -> "runs/x/checkpoint-4"
  """
  import torch
  import transformers
  from torch.distributed import checkpoint as dcp
  record = read_record(checkpoint_dir)
  config = transformers.T5Config.from_dict(record["config"])
  with torch.device("meta"):
    model = transformers.T5ForConditionalGeneration(config)
  model = model.to_empty(device="cpu")
  state = {"model": model.state_dict()}
  dcp.load(state, checkpoint_id=os.path.join(checkpoint_dir, SHARDED_MODEL),
           no_dist=True)
  model.load_state_dict(state["model"])
  model.tie_weights()
  config_path = os.path.join(checkpoint_dir, "config.json")
  if os.path.exists(config_path):
    os.remove(config_path)
  model.save_pretrained(checkpoint_dir)
  return checkpoint_dir


def consolidate_model_dir(model_dir: str) -> List[str]:
  """Consolidates every sharded `checkpoint-<step>` of `model_dir`; returns them."""
  done = []
  for name in sorted(os.listdir(model_dir) if os.path.isdir(model_dir) else []):
    path = os.path.join(model_dir, name)
    if name.startswith("checkpoint-") and os.path.isfile(
        os.path.join(path, RECORD)):
      done.append(consolidate(path))
  if not done:
    raise CheckpointError("%s holds no sharded checkpoint of `wt5 train "
                          "--fsdp` (checkpoint-<step>/%s)" % (model_dir, RECORD))
  return done


def check_resume(checkpoint_dir: str, processes: int) -> None:
  """Raises CheckpointError unless `processes` can resume `checkpoint_dir`.

  The shards, the data order and each process's random state belong to the
  number of processes that wrote them; another number starts a new run from
  the consolidated weights instead (`--model <checkpoint>`).
  """
  written = read_record(checkpoint_dir)["processes"]
  if written != processes:
    raise CheckpointError(
        "%s was written by %d processes; --resume needs the same number, not "
        "%d (or start a new run from its consolidated weights with --model "
        "%s)" % (checkpoint_dir, written, processes, checkpoint_dir))


def consolidating_callback():
  """A `TrainerCallback` that consolidates each sharded save (on the first process)."""
  import torch
  import transformers

  class Consolidate(transformers.TrainerCallback):
    """After each save: the record, then the Hugging Face model, by process 0."""

    def on_save(self, args, state, control, model=None, **kwargs):
      path = ModelDir(args.output_dir).checkpoint_path(state.global_step)
      if state.is_world_process_zero:
        write_record(path, model.config, torch.distributed.get_world_size())
        consolidate(path)
      torch.distributed.barrier()

  return Consolidate()


def callbacks(fsdp: bool) -> List[Any]:
  """The Trainer callbacks of --fsdp (none without it)."""
  return [consolidating_callback()] if fsdp else []
