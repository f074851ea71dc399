"""Packed attention without dense masks: FlexAttention with T5's relative bias.

`transformers` runs T5's attention through SDPA with one additive float
tensor [batch, heads, queries, keys] per layer (the relative position bias
plus our packed 4D mask), and, the bias being learned, its gradient has that
shape too. This module registers an attention function, `wt5_flex`, that
takes the masks of a packed batch as FlexAttention `BlockMask`s built from
the segment ids (blocks that packing leaves empty are skipped, no mask is
materialized) and adds T5's relative position bias (the [1, heads, queries,
keys] tensor T5 computes once per stack) in the score function: no [batch,
heads, queries, keys] tensor is allocated.

Calls with any other mask (unpacked batches, `generate`) go to the SDPA
function of `transformers` unchanged, so a model set to `wt5_flex` serves
every call. FlexAttention has no dropout of the attention probabilities:
the path refuses a training call whose attention dropout is not 0 (Mesh TF
and `transformers` drop attention probabilities at the model's dropout rate;
`wt5 train --attention_dropout 0` turns that off), and has no backward on
the CPU (torch 2.13). `wt5_flex` is chosen explicitly; `auto` is SDPA on a
GPU and, for packed batches on a CPU, `wt5_segments`
(`wt5.pytorch.segment_attention`).

Nothing here imports TensorFlow or t5.
"""

from typing import Any, Callable, Dict, Mapping, Optional

from wt5.pytorch import segment_attention

FLEX = "wt5_flex"
SEGMENTS = "wt5_segments"
SDPA = "sdpa"
AUTO = "auto"
CHOICES = (AUTO, FLEX, SEGMENTS, SDPA, "eager")

_CROSS = "_wt5_cross_attention"  # module attribute set by `mark_layers`


class AttentionError(ValueError):
  """An attention path that cannot run the requested computation."""


def choose(requested: Optional[str], packed: bool, training_on_gpu: bool,
           attention_dropout: float, compiled: bool = False) -> str:
  """The attention implementation a run uses.

  `auto` (or None) is `wt5_segments` for packed batches on a CPU and SDPA
  otherwise, the fastest paths measured (README, "Measured" and "Training
  on a GPU"); an explicit `wt5_flex` is checked: packed batches, no
  attention dropout, and a GPU for training (no backward on a CPU); an
  explicit `wt5_segments` needs packed batches and an uncompiled model (its
  layouts are read on the host; compiled code would run SDPA on the dense
  masks it skips), so `auto` is SDPA for a compiled model.
  choose("auto", True, True, 0.0) -> "sdpa"
  choose("auto", True, False, 0.1) -> "wt5_segments"
  choose("wt5_flex", True, True, 0.0) -> "wt5_flex"
  """
  requested = requested or AUTO
  if requested not in CHOICES:
    raise AttentionError("unknown attention implementation %r; choose one of "
                         "%s" % (requested, ", ".join(CHOICES)))
  if requested == AUTO:
    return SEGMENTS if packed and not training_on_gpu and not compiled else SDPA
  if requested == SEGMENTS and not packed:
    raise AttentionError("--attn_implementation wt5_segments needs packed "
                         "batches (leave out --no-pack)")
  if requested == SEGMENTS and compiled:
    raise AttentionError("--attn_implementation wt5_segments runs "
                         "uncompiled; leave out --torch_compile or choose "
                         "sdpa")
  if requested == FLEX:
    if not training_on_gpu:
      raise AttentionError("--attn_implementation wt5_flex trains on a GPU "
                           "only (FlexAttention has no backward on a CPU)")
    if not packed:
      raise AttentionError("--attn_implementation wt5_flex needs packed "
                           "batches (leave out --no-pack)")
    if attention_dropout:
      raise AttentionError(
          "--attn_implementation wt5_flex cannot drop attention "
          "probabilities (FlexAttention has no dropout); add "
          "--attention_dropout 0 or use sdpa")
  return requested


def bias_score_mod(position_bias: Any) -> Callable[..., Any]:
  """A FlexAttention score_mod adding T5's relative position bias.

  `position_bias` is what T5 passes to each attention layer: [1, heads,
  queries, keys], computed once per stack by its first layer from the
  [buckets, heads] embedding (`T5Attention.compute_bias`), without a batch
  dimension. The kernel reads it at (head, query, key), and the backward
  adds each gradient there: over queries x keys places, where reading the
  embedding at [bucket, head] would add the whole batch's gradients into
  buckets x heads places (measured: 5x slower than SDPA on an H200).
  score_mod(s, b, h, q, k) -> s + position_bias[0, h, q, k]
  """

  def score_mod(score, b, h, q_idx, kv_idx):
    del b
    return score + position_bias[0, h, q_idx, kv_idx]

  return score_mod


def segment_mask_mod(query_segments: Any, key_segments: Any,
                     causal: bool) -> Callable[..., Any]:
  """A mask_mod: a query sees the keys of its segment (not later ones if causal).

  As `packing.segment_mask`: padding (segment 0) sees padding.
  """

  def mask_mod(b, h, q_idx, kv_idx):
    del h
    same = query_segments[b, q_idx] == key_segments[b, kv_idx]
    return (same & (q_idx >= kv_idx)) if causal else same

  return mask_mod


def block_masks(batch: Mapping[str, Any]) -> Dict[str, Any]:
  """The encoder, cross-attention and decoder `BlockMask`s of a packed batch."""
  from torch.nn.attention import flex_attention
  inputs = batch["inputs_segment_ids"]
  targets = batch["targets_segment_ids"]
  rows, li, lt = inputs.shape[0], inputs.shape[1], targets.shape[1]

  def make(mod, q_len, kv_len):
    return flex_attention.create_block_mask(mod, rows, None, q_len, kv_len,
                                            device=inputs.device)

  return {"encoder": make(segment_mask_mod(inputs, inputs, False), li, li),
          "cross": make(segment_mask_mod(targets, inputs, False), lt, li),
          "decoder": make(segment_mask_mod(targets, targets, True), lt, lt)}


def mark_layers(model: Any) -> None:
  """Marks the decoder's cross-attention layers, which have no relative bias.

  T5 passes them a bias of zeros; `flex_forward` adds nothing there.
  """
  for block in model.decoder.block:
    # A plain attribute, not a module or parameter of the layer.
    block.layer[1].EncDecAttention.__dict__[_CROSS] = True


_COMPILED: Dict[str, Any] = {}


def _flex_attention(on_gpu: bool) -> Callable[..., Any]:
  """FlexAttention: compiled once per process on a GPU, as is inside compiled code.

  On a CPU outside compiled code it is FlexAttention's unfused reference
  (the same function; a fused CPU kernel needs the model compiled).
  """
  import torch
  from torch.nn.attention import flex_attention
  if torch.compiler.is_compiling() or not on_gpu:
    return flex_attention.flex_attention
  if "flex" not in _COMPILED:
    _COMPILED["flex"] = torch.compile(flex_attention.flex_attention,
                                      dynamic=False)
  return _COMPILED["flex"]


def flex_forward(module: Any, query: Any, key: Any, value: Any,
                 attention_mask: Any, dropout: float = 0.0,
                 scaling: Optional[float] = None, position_bias: Any = None,
                 **kwargs) -> Any:
  """The `wt5_flex` attention function (the interface of `transformers`).

  Returns (output [batch, queries, heads, d_kv], None) like SDPA's function.
  """
  import torch
  from torch.nn.attention import flex_attention
  from transformers.integrations import sdpa_attention
  if not isinstance(attention_mask, flex_attention.BlockMask):
    return sdpa_attention.sdpa_attention_forward(
        module, query, key, value, attention_mask, dropout=dropout,
        scaling=scaling, position_bias=position_bias, **kwargs)
  if dropout:
    raise AttentionError(
        "wt5_flex attention cannot drop attention probabilities (dropout "
        "%g): set the attention dropout to 0 or use sdpa" % dropout)
  cross = module.__dict__.get(_CROSS, False)
  score_mod = None if cross else bias_score_mod(position_bias)
  if not query.is_cuda:
    # Inductor's CPU FlexAttention wants 4D buffers, not views of the
    # projections' 2D outputs (torch 2.13: "not enough values to unpack").
    query, key, value = query.contiguous(), key.contiguous(), value.contiguous()
  # Outside autocast (q, k and v are already in its dtype): FlexAttention's
  # autocast path breaks its graph and fails in the backward (torch 2.11).
  with torch.autocast(query.device.type, enabled=False):
    output = _flex_attention(query.is_cuda)(
        query, key, value, score_mod=score_mod, block_mask=attention_mask,
        scale=scaling)
  return output.transpose(1, 2).contiguous(), None


def register() -> None:
  """Registers `wt5_flex` and `wt5_segments` with transformers (attention and mask functions)."""
  import transformers
  from transformers import masking_utils
  transformers.AttentionInterface.register(FLEX, flex_forward)
  transformers.AttentionInterface.register(SEGMENTS,
                                           segment_attention.forward)
  # Unpacked calls build SDPA's masks and go to SDPA's function.
  for name in (FLEX, SEGMENTS):
    masking_utils.AttentionMaskInterface.register(
        name, masking_utils.sdpa_mask)


def use(model: Any, implementation: str) -> None:
  """Sets `model`'s attention implementation (registering ours first)."""
  if implementation in (FLEX, SEGMENTS):
    register()
  if implementation == FLEX:
    mark_layers(model)
  model.set_attn_implementation(implementation)


def set_attention_dropout(model: Any, rate: float) -> None:
  """Sets the dropout of every T5Attention's probabilities (T5: the model's rate)."""
  for module in model.modules():
    if hasattr(module, "relative_attention_num_buckets"):
      module.dropout = rate
