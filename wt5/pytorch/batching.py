"""Batches of export examples for `T5ForConditionalGeneration`, and their loss.

Shared by `wt5 train` and `wt5 evaluate`: `Collator` pads examples one per
row (evaluation always, training with `--no-pack`); `wt5.pytorch.packing`
packs several examples into each row. Nothing here imports TensorFlow or t5.
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence

from wt5.pytorch import segment_attention

IGNORE_INDEX = -100


class BatchError(ValueError):
  """Examples or batch settings that cannot make the requested batches."""


class Collator:
  """Pads a batch of export examples for `T5ForConditionalGeneration`.

  Inputs are padded with 0 (T5's pad id) and masked; labels are padded with
  -100 (ignored by the loss). With `pad_to` the batch is padded to fixed
  lengths (static shapes), else to its longest example.

  Collator()([{"inputs": [5, 1], "targets": [7, 8, 1]}, {"inputs": [1], "targets": [1]}])
  -> {"input_ids": [[5, 1], [1, 0]], "attention_mask": [[1, 1], [1, 0]],
      "labels": [[7, 8, 1], [1, -100, -100]]} (as torch tensors)
  """

  def __init__(self, pad_to: Optional[Mapping[str, int]] = None):
    self.pad_to = dict(pad_to) if pad_to else None

  def __call__(self, examples: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    import torch
    inputs = [list(e["inputs"]) for e in examples]
    targets = [list(e["targets"]) for e in examples]
    li = max(len(x) for x in inputs)
    lt = max(len(x) for x in targets)
    if self.pad_to:
      li, lt = max(li, self.pad_to["inputs"]), max(lt, self.pad_to["targets"])
    input_ids = [x + [0] * (li - len(x)) for x in inputs]
    mask = [[1] * len(x) + [0] * (li - len(x)) for x in inputs]
    labels = [x + [IGNORE_INDEX] * (lt - len(x)) for x in targets]
    return {"input_ids": torch.tensor(input_ids, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long)}


def batch_counts(batch: Mapping[str, Any]) -> Any:
  """[real tokens, examples, positions] of a batch, as one torch tensor.

  Real tokens are the input and target tokens that are not padding;
  positions count every place of the batch's input and label tensors.
  batch_counts(Collator()([{"inputs": [5, 1], "targets": [1]},
                           {"inputs": [1], "targets": [7, 1]}])) -> tensor([6, 2, 8])
  """
  import torch
  labels = batch["labels"]
  targets = (labels != IGNORE_INDEX).sum()
  if "inputs_segment_ids" in batch:  # packed rows
    segments = batch["inputs_segment_ids"]
    inputs = (segments > 0).sum()
    examples = segments.max(dim=1).values.sum()
  elif segment_attention.COMPACT_KEYS[0] in batch:  # ids through the batch
    ids = batch[segment_attention.COMPACT_KEYS[0]]
    inputs = (ids > 0).sum()
    examples = ids.max()
  else:
    inputs = batch["attention_mask"].sum()
    examples = torch.tensor(labels.shape[0], device=labels.device)
  positions = torch.tensor(batch["input_ids"].numel() + labels.numel(),
                           device=labels.device)
  return torch.stack([inputs + targets, examples, positions])


@dataclasses.dataclass
class TokenCount:
  """Real tokens, examples and positions of the batches one process trained on.

  `add` keeps the counts on the batches' device (no synchronisation per
  batch); `flush` moves them into the integer fields.
  """
  tokens: int = 0
  examples: int = 0
  positions: int = 0
  pending: Any = None

  def add(self, batch: Mapping[str, Any]) -> None:
    counts = batch_counts(batch)
    self.pending = counts if self.pending is None else self.pending + counts

  def flush(self) -> "TokenCount":
    if self.pending is not None:
      tokens, examples, positions = (int(x) for x in self.pending.tolist())
      self.tokens += tokens
      self.examples += examples
      self.positions += positions
      self.pending = None
    return self


def target_loss_sum(model: Any, batch: Mapping[str, Any],
                    target_positions_only: Optional[bool] = None) -> Any:
  """The sum over every target token (labels not -100) of its cross-entropy.

  Takes an unpacked (`Collator`) or packed (`packing.PackedCollator`) batch;
  dividing by the number of target tokens gives the token-weighted mean of
  the examples' losses, the loss T5 computes for a padded batch.
  With `target_positions_only` (default: when the labels are on the CPU,
  where selecting the positions waits for no device) the output layer
  computes the logits of the target tokens only, not of the padding (a
  quarter of the target positions of the demo's packed rows at 128/64): the
  same sum, fewer operations.
  """
  import torch
  labels = batch["labels"]
  kwargs = {k: v for k, v in batch.items() if k != "labels"}
  if "decoder_input_ids" not in kwargs:
    kwargs["decoder_input_ids"] = _unwrap(model)._shift_right(labels)
  if target_positions_only is None:
    target_positions_only = labels.device.type == "cpu"
  hook = None
  if target_positions_only:
    real = labels != IGNORE_INDEX
    labels = labels[real]
    hook = _unwrap(model).get_output_embeddings().register_forward_pre_hook(
        lambda module, args: (args[0][real],) + tuple(args[1:]))
  try:
    # No decoder cache in training: it only costs memory, and under
    # torch.compile its per-layer flags recompile every decoder block.
    logits = model(**kwargs, use_cache=False).logits
  finally:
    if hook is not None:
      hook.remove()
  # bf16/fp16 logits in float32; float64 stays float64.
  logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
  return torch.nn.functional.cross_entropy(
      logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
      ignore_index=IGNORE_INDEX, reduction="sum")


def _unwrap(model: Any) -> Any:
  """The model inside a DDP wrapper (or the model itself)."""
  return getattr(model, "module", model)
