"""`wt5 train --plan`: the memory per device of a training run, before it starts.

The parts of the peak of one device:

  weights      float32 master weights: all of them, or 1/N with --fsdp
  gradients    float32: the same share
  optimizer    Adafactor's state: for each matrix its row and column
               statistics (rows + columns values), for each vector one value
               per entry; held whole by every process (they are small)
  units        --fsdp only: the gathered weights (compute dtype) of the root
               unit (the shared embedding) and of two T5Blocks (the running
               one and the next), and one block's unreduced gradients
  activations  what one micro-batch of --batch_size rows at the export's
               lengths keeps for the backward pass, plus the backward's
               temporaries (logits, their gradient)
  step         --fsdp only: the optimizer step gathers one parameter's full
               weight and gradient and makes two temporaries of its size
               (largest parameter, float32), after the activations are gone

Sizes come from the model's shapes (a model built on the meta device: no
memory). Activations are measured by running one training micro-batch on
fake tensors (`torch._subclasses.FakeTensorMode`, no memory) under torch's
`MemTracker`, for 1 and 2 layers; they grow linearly with depth, so the
model's depth is extrapolated from the two. peak = weights + gradients +
optimizer + max(units + activations, step).
"""

import dataclasses
from typing import Any, Dict, List, Mapping, Optional

GIB = 2.0 ** 30


@dataclasses.dataclass(frozen=True)
class Plan:
  """The memory of one device in bytes; `peak` is the sum the device must hold."""
  processes: int
  fsdp: bool
  parameters: int
  weights: float
  gradients: float
  optimizer: float
  units: float
  activations: float
  step: float

  @property
  def peak(self) -> float:
    return (self.weights + self.gradients + self.optimizer +
            max(self.units + self.activations, self.step))


class PlanError(ValueError):
  """A run that does not fit the device memory it was given."""


def parameter_shapes(config: Any) -> Dict[str, tuple]:
  """Every distinct parameter of the model of `config` and its shape (meta device).

  Tied parameters (the shared embedding and the output layer) count once:
  parameter_shapes(preset_config("tiny", 100))["shared.weight"] -> (100, 64)
  """
  import torch
  import transformers
  with torch.device("meta"):
    model = transformers.T5ForConditionalGeneration(config)
  return {name: tuple(p.shape) for name, p in model.named_parameters()}


def optimizer_values(shape: tuple) -> int:
  """Adafactor's (factored) second-moment values for a parameter of `shape`.

  optimizer_values((1024, 65536)) -> 66560; optimizer_values((1024,)) -> 1024
  """
  if len(shape) >= 2:
    lead = 1
    for n in shape[:-2]:
      lead *= n
    return lead * (shape[-2] + shape[-1])
  return shape[0] if shape else 1


def block_parameters(shapes: Mapping[str, tuple]) -> Dict[str, int]:
  """Parameters of each T5Block ("encoder.block.0", ...) and of the root unit ("")."""
  units: Dict[str, int] = {}
  for name, shape in shapes.items():
    parts = name.split(".")
    unit = ".".join(parts[:3]) if len(parts) > 3 and parts[1] == "block" else ""
    count = 1
    for n in shape:
      count *= n
    units[unit] = units.get(unit, 0) + count
  return units


def activation_bytes(config: Any, batch_size: int, lengths: Mapping[str, int],
                     dtype_name: str, gradient_checkpointing: bool,
                     packed: bool = True) -> float:
  """Activation and temporary bytes of one training micro-batch (fake tensors).

  Measured for 1 and 2 encoder and decoder layers and extrapolated linearly
  to the config's depth (remembered per arguments in this process).
  """
  key = (config.to_json_string(), batch_size, lengths["inputs"],
         lengths["targets"], dtype_name, gradient_checkpointing, packed)
  if key not in _ACTIVATIONS:
    _ACTIVATIONS[key] = _extrapolated_activations(
        config, batch_size, lengths, dtype_name, gradient_checkpointing, packed)
  return _ACTIVATIONS[key]


_ACTIVATIONS: Dict[tuple, float] = {}


def _extrapolated_activations(config: Any, batch_size: int,
                              lengths: Mapping[str, int], dtype_name: str,
                              gradient_checkpointing: bool,
                              packed: bool) -> float:
  """activation_bytes without the memo."""
  one = _traced_activations(config, 1, batch_size, lengths, dtype_name,
                            gradient_checkpointing, packed)
  two = _traced_activations(config, 2, batch_size, lengths, dtype_name,
                            gradient_checkpointing, packed)
  return one + (two - one) * (config.num_layers - 1)


def _traced_activations(config: Any, layers: int, batch_size: int,
                        lengths: Mapping[str, int], dtype_name: str,
                        gradient_checkpointing: bool, packed: bool) -> float:
  """Peak activation + temporary bytes of one micro-batch of a `layers`-deep copy."""
  import torch
  import transformers
  from torch._subclasses import fake_tensor
  from torch.distributed._tools import mem_tracker
  from wt5.pytorch import batching
  from wt5.pytorch import packing

  shallow = transformers.T5Config.from_dict(dict(
      config.to_dict(), num_layers=layers, num_decoder_layers=layers))
  li, lt = int(lengths["inputs"]), int(lengths["targets"])
  vocab = shallow.vocab_size
  default = torch.get_default_dtype()
  with fake_tensor.FakeTensorMode():
    torch.set_default_dtype(getattr(torch, dtype_name))
    try:
      model = transformers.T5ForConditionalGeneration(shallow)
    finally:
      torch.set_default_dtype(default)
    model.train()
    if gradient_checkpointing:
      model.gradient_checkpointing_enable(
          gradient_checkpointing_kwargs={"use_reentrant": False})
    batch = {"input_ids": torch.randint(2, vocab, (batch_size, li)),
             "labels": torch.randint(2, vocab, (batch_size, lt))}
    if packed:
      packing.enable_packed_batches(model)
      batch.update(
          decoder_input_ids=torch.randint(2, vocab, (batch_size, lt)),
          inputs_segment_ids=torch.ones(batch_size, li, dtype=torch.long),
          targets_segment_ids=torch.ones(batch_size, lt, dtype=torch.long))
    else:
      batch["attention_mask"] = torch.ones(batch_size, li, dtype=torch.long)
    tracker = mem_tracker.MemTracker()
    tracker.track_external(model)
    with tracker:
      # Logits at every position, as on a GPU.
      batching.target_loss_sum(model, batch, target_positions_only=False
                               ).backward()
    peak = tracker.get_tracker_snapshot("peak")
  kinds = (mem_tracker._MemRefType.ACT, mem_tracker._MemRefType.TEMP)
  return float(sum(snap.get(k, 0) for snap in peak.values() for k in kinds))


def plan(config: Any, processes: int, fsdp: bool, batch_size: int,
         lengths: Mapping[str, int], bf16: bool,
         gradient_checkpointing: bool, packed: bool = True) -> Plan:
  """The memory of one device of a run (bytes).

  plan(preset_config("11B", 32128), 8, True, 1, {"inputs": 512,
  "targets": 256}, True, True).peak / 2**30 -> about 16 GiB (see README)
  """
  shapes = parameter_shapes(config)
  counts = {n: _numel(s) for n, s in shapes.items()}
  total = sum(counts.values())
  share = processes if fsdp else 1
  compute_bytes = 2 if bf16 else 4
  units = step = 0.0
  if fsdp:
    per_unit = block_parameters(shapes)
    largest_block = max(v for k, v in per_unit.items() if k)
    units = compute_bytes * (per_unit[""] + 3 * largest_block)
    step = 4.0 * 4 * max(counts.values())
  activations = activation_bytes(
      config, batch_size, lengths, "bfloat16" if bf16 else "float32",
      gradient_checkpointing, packed)
  return Plan(processes=processes, fsdp=fsdp, parameters=total,
              weights=4.0 * total / share, gradients=4.0 * total / share,
              optimizer=4.0 * sum(optimizer_values(s) for s in shapes.values()),
              units=units, activations=activations, step=step)


def _numel(shape: tuple) -> int:
  count = 1
  for n in shape:
    count *= n
  return count


def describe(p: Plan, gpu_memory_gb: Optional[float] = None) -> List[str]:
  """The plan as lines of text, in GiB (and whether it fits `gpu_memory_gb`)."""
  rows = [("weights (float32%s)" % (", 1/%d" % p.processes if p.fsdp else ""),
           p.weights),
          ("gradients (float32%s)" % (", 1/%d" % p.processes if p.fsdp else ""),
           p.gradients),
          ("optimizer (Adafactor, factored)", p.optimizer)]
  if p.fsdp:
    rows.append(("gathered units (root + blocks)", p.units))
  rows.append(("activations (one micro-batch)", p.activations))
  if p.fsdp:
    rows.append(("optimizer step (largest parameter)", p.step))
  lines = ["%d parameters; per device with %d process(es)%s:" % (
      p.parameters, p.processes, ", --fsdp" if p.fsdp else "")]
  lines += ["  %-38s %9.3f GiB" % (label, value / GIB) for label, value in rows]
  lines.append("  %-38s %9.3f GiB" % ("peak", p.peak / GIB))
  if gpu_memory_gb is not None:
    lines.append("%s %g GB per device" % (
        "fits" if fits(p, gpu_memory_gb) else "does NOT fit", gpu_memory_gb))
  return lines


def fits(p: Plan, gpu_memory_gb: float) -> bool:
  """Whether the peak fits `gpu_memory_gb` (GB of 10**9 bytes) per device."""
  return p.peak <= gpu_memory_gb * 1e9


def can_plan(model: str) -> bool:
  """Whether `--model` names a size or a checkpoint directory (a hub name: no)."""
  from wt5.formats import model_dir
  from wt5.pytorch import model as model_lib
  return model in model_lib.PRESETS or model_dir.is_checkpoint_dir(model)


def model_config(model: str, vocab_size: int) -> Any:
  """The T5Config of `wt5 train --model` (a size or a checkpoint directory), without weights."""
  import transformers
  from wt5.formats import model_dir
  from wt5.pytorch import model as model_lib
  if model in model_lib.PRESETS:
    return model_lib.preset_config(model, vocab_size)
  if not model_dir.is_checkpoint_dir(model):
    raise model_lib.ModelError(
        "--plan needs a size (%s) or a checkpoint directory, not %r" % (
            ", ".join(model_lib.PRESETS), model))
  return transformers.T5Config.from_pretrained(model)


def plan_of_run(options: Any, processes: int, bf16: bool) -> Plan:
  """The plan of `wt5 train` with `options` (a TrainOptions) on `processes` devices."""
  from wt5.formats import export
  run_export = export.Export(options.export_dir)
  config = model_config(options.model, run_export.vocabulary.size)
  return plan(config, processes, options.fsdp, options.batch_size,
              run_export.sequence_length, bf16,
              options.gradient_checkpointing, options.pack)


def device_memory_gb() -> Optional[float]:
  """This process's GPU memory in GB (10**9 bytes), or None without a GPU."""
  import torch
  if not torch.cuda.is_available():
    return None
  return torch.cuda.get_device_properties(
      torch.cuda.current_device()).total_memory / 1e9


def check_fits(p: Plan, gpu_memory_gb: float) -> None:
  """Raises PlanError, with the plan, when `p` does not fit `gpu_memory_gb`."""
  if not fits(p, gpu_memory_gb):
    raise PlanError("the run needs %.1f GiB per device and the device has "
                    "%g GB:\n%s\n(more processes with --fsdp, "
                    "--gradient_checkpointing or a smaller --batch_size "
                    "lower it)" % (p.peak / GIB, gpu_memory_gb,
                                   "\n".join(describe(p))))


def add_arguments(parser: Any) -> None:
  """The options of `wt5 train --plan`."""
  parser.add_argument("--plan", action="store_true",
                      help="Print the memory per device of the run (weights, "
                      "gradients, optimizer state, activations) and exit.")
  parser.add_argument("--processes", type=int, default=None,
                      help="With --plan: the number of processes (GPUs) to "
                      "plan for (default: torchrun's, or 1).")
