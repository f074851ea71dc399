"""Packing export examples into rows, as `t5_mesh_transformer` packs them.

Mesh TF (`mesh_tensorflow.transformer.dataset.pack_dataset`, which
`t5_mesh_transformer` runs on every training mixture) and seqio
(`seqio.utils.trim_and_pack_dataset`) pack the same way, without their custom
ops: the example stream is cut into chunks of `max(lengths)` examples; within
a chunk each example is appended to the open row when both its inputs and its
targets still fit, else the row is closed and a new one started; the open row
is closed at the end of every chunk. `pack_examples` does exactly that, so a
row holds the same examples as in the binary.

A packed row feeds `T5ForConditionalGeneration` unchanged, with 4D attention
masks (`transformers` passes a prepared 4D mask through as-is) built from the
segment ids: block-diagonal in the encoder, causal and same-segment in the
decoder, and cross-attention only to the same example's inputs. Each
example's decoder inputs are its own targets shifted right after the start id
0. T5's relative position bias depends only on the offset between two
positions of a row, and within one segment that offset is the same as in the
example alone, so it needs no change; pairs across segments are masked.

Nothing here imports TensorFlow or t5.
"""

from typing import Any, Dict, List, Mapping, Sequence, Tuple

from wt5.pytorch import attention
from wt5.pytorch import batching
from wt5.pytorch import segment_attention

DECODER_START_ID = 0
PACKED_KEYS = ("inputs_segment_ids", "targets_segment_ids")
# The example ids of `compact_batch`'s batches, in place of PACKED_KEYS.
COMPACT_KEYS = segment_attention.COMPACT_KEYS


def pack_examples(examples: Sequence[Mapping[str, Any]],
                  lengths: Mapping[str, int]) -> List[List[Mapping[str, Any]]]:
  """Greedy packing in chunks of `max(lengths)` examples, as Mesh TF and seqio.

  pack_examples([{"inputs": [5, 1], "targets": [1]}] * 3, {"inputs": 4, "targets": 4})
  -> [[ex, ex], [ex]] (each ex the same dict; 2 + 2 input tokens fill the first row)
  """
  for key in ("inputs", "targets"):
    if key not in lengths:
      raise batching.BatchError("sequence lengths %r lack %r" % (dict(lengths), key))
  chunk = max(lengths["inputs"], lengths["targets"])
  rows: List[List[Mapping[str, Any]]] = []
  for start in range(0, len(examples), chunk):
    row: List[Mapping[str, Any]] = []
    used = {"inputs": 0, "targets": 0}
    for index in range(start, min(start + chunk, len(examples))):
      example = examples[index]
      sizes = {k: len(example[k]) for k in used}
      for k, size in sizes.items():
        if size > lengths[k] or size == 0:
          raise batching.BatchError(
              "example %d has %d %s tokens; a packed row holds 1 to %d (the "
              "export's sequence length)" % (index, size, k, lengths[k]))
      if row and any(used[k] + sizes[k] > lengths[k] for k in used):
        rows.append(row)
        row, used = [], {"inputs": 0, "targets": 0}
      row.append(example)
      for k in used:
        used[k] += sizes[k]
    if row:
      rows.append(row)
  return rows


def packed_row(examples: Sequence[Mapping[str, Any]],
               lengths: Mapping[str, int]) -> Dict[str, List[int]]:
  """The features of one packed row (lists of ints, padded to `lengths`).

  packed_row([{"inputs": [5, 1], "targets": [7, 1]}, {"inputs": [6, 1], "targets": [1]}],
             {"inputs": 5, "targets": 4})
  -> {"input_ids": [5, 1, 6, 1, 0], "inputs_segment_ids": [1, 1, 2, 2, 0],
      "labels": [7, 1, 1, -100], "decoder_input_ids": [0, 7, 0, 0],
      "targets_segment_ids": [1, 1, 2, 0]}
  """
  row: Dict[str, List[int]] = {k: [] for k in (
      "input_ids", "inputs_segment_ids", "labels", "decoder_input_ids",
      "targets_segment_ids")}
  for segment, example in enumerate(examples, start=1):
    inputs, targets = list(example["inputs"]), list(example["targets"])
    row["input_ids"] += inputs
    row["inputs_segment_ids"] += [segment] * len(inputs)
    row["labels"] += targets
    row["decoder_input_ids"] += [DECODER_START_ID] + targets[:-1]
    row["targets_segment_ids"] += [segment] * len(targets)
  li, lt = lengths["inputs"], lengths["targets"]
  if len(row["input_ids"]) > li or len(row["labels"]) > lt:
    raise batching.BatchError("%d examples hold %d input and %d target tokens; a row "
                     "holds %d and %d" % (len(examples), len(row["input_ids"]),
                                          len(row["labels"]), li, lt))
  for key, length, pad in (("input_ids", li, 0), ("inputs_segment_ids", li, 0),
                           ("labels", lt, batching.IGNORE_INDEX),
                           ("decoder_input_ids", lt, 0),
                           ("targets_segment_ids", lt, 0)):
    row[key] += [pad] * (length - len(row[key]))
  return row


class PackedCollator:
  """Stacks packed rows (lists of examples) into a batch of torch tensors.

  The batch has the keys of `packed_row`; `attention_masks` turns its
  segment ids into the model's masks.
  """

  def __init__(self, lengths: Mapping[str, int], compact: bool = False):
    self.lengths = {"inputs": int(lengths["inputs"]),
                    "targets": int(lengths["targets"])}
    self.compact = compact

  def __call__(self, rows: Sequence[Sequence[Mapping[str, Any]]]
               ) -> Dict[str, Any]:
    import torch
    features = [packed_row(r, self.lengths) for r in rows]
    batch = {k: torch.tensor([f[k] for f in features], dtype=torch.long)
             for k in features[0]}
    return compact_batch(batch) if self.compact else batch


def end_to_end(segments: Any, values: Sequence[Tuple[Any, int]]
               ) -> Tuple[Any, List[Any]]:
  """Packed rows' real places laid end to end in rows of the same length.

  Returns the example ids (segment ids numbered through the batch, 0 for
  the last row's padding) and each of `values` laid out the same way,
  padded with its pad value:
  end_to_end(tensor([[1, 2, 0], [1, 0, 0]]), [(tensor([[5, 6, 0], [7, 0, 0]]), 0)])
  -> (tensor([[1, 2, 3]]), [tensor([[5, 6, 7]])])
  """
  import torch
  real = segments > 0
  examples = segments.max(dim=1).values  # packed_row numbers them 1, 2, ...
  before = torch.cumsum(examples, 0) - examples
  ids = (segments + before[:, None])[real]
  length, count = segments.shape[1], ids.numel()
  rows = max(1, -(-count // length))

  def lay(flat, pad):
    out = flat.new_full((rows * length,), pad)
    out[:count] = flat
    return out.view(rows, length)

  return lay(ids, 0), [lay(v[real], pad) for v, pad in values]


def compact_batch(batch: Mapping[str, Any]) -> Dict[str, Any]:
  """A packed batch without the padding of its rows (`wt5_segments` only).

  The examples of the batch's rows, in row order, are laid end to end and
  cut into rows of the same lengths: only the last input row and the last
  target row have padding, and an example may go on in the next row. The
  segment ids become example ids numbered through the batch
  (`COMPACT_KEYS`). The examples, their tokens and so every loss and
  gradient are those of the packed rows, on fewer positions (the demo's
  rows at 128/64: 12% fewer). Attention that runs example by example
  (`wt5_segments`) reads the ids; the masks of other paths are per row and
  cannot hold an example split across rows, so the model refuses them.
  compact_batch(PackedCollator({"inputs": 4, "targets": 2})(
      [[{"inputs": [5, 1], "targets": [1]}], [{"inputs": [6, 1], "targets": [7, 1]}]]))
  -> {"input_ids": [[5, 1, 6, 1]], "inputs_example_ids": [[1, 1, 2, 2]],
      "labels": [[1, 7], [1, -100]], "decoder_input_ids": [[0, 0], [7, 0]],
      "targets_example_ids": [[1, 2], [2, 0]]}
  """
  inputs_ids, (input_ids,) = end_to_end(batch["inputs_segment_ids"],
                                        [(batch["input_ids"], 0)])
  targets_ids, (labels, decoder_input_ids) = end_to_end(
      batch["targets_segment_ids"],
      [(batch["labels"], batching.IGNORE_INDEX),
       (batch["decoder_input_ids"], 0)])
  return {"input_ids": input_ids, COMPACT_KEYS[0]: inputs_ids,
          "labels": labels, "decoder_input_ids": decoder_input_ids,
          COMPACT_KEYS[1]: targets_ids}


def segment_mask(query_segments: Any, key_segments: Any, causal: bool,
                 dtype: Any) -> Any:
  """An additive 4D mask [batch, 1, queries, keys]: 0 where a query may attend.

  A query attends to keys of its own segment (and, if `causal`, not after
  it); padding (segment 0) attends to padding, so that no row is empty where
  there is padding to attend to. Masked places hold the dtype's minimum, as
  `transformers` builds its own masks.

  segment_mask(tensor([[1, 1, 2]]), tensor([[1, 1, 2]]), False, float32)[0, 0] == 0 at
  [[T, T, F], [T, T, F], [F, F, T]] and min elsewhere
  """
  import torch
  allowed = query_segments[:, :, None] == key_segments[:, None, :]
  if causal:
    q, k = query_segments.shape[1], key_segments.shape[1]
    allowed = allowed & torch.ones(q, k, dtype=torch.bool,
                                   device=allowed.device).tril()
  mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
  return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def packed_masks(batch: Mapping[str, Any], dtype: Any) -> Dict[str, Any]:
  """The encoder, cross-attention and decoder masks of a packed batch."""
  inputs_segments = batch["inputs_segment_ids"]
  targets_segments = batch["targets_segment_ids"]
  return {
      "encoder": segment_mask(inputs_segments, inputs_segments, False, dtype),
      "cross": segment_mask(targets_segments, inputs_segments, False, dtype),
      "decoder": segment_mask(targets_segments, targets_segments, True,
                              dtype)}


def enable_packed_batches(model: Any) -> List[Any]:
  """Lets `model(...)` take packed batches; returns the hooks' handles.

  A call with `inputs_segment_ids` and `targets_segment_ids` (the keys of
  `PackedCollator`'s batches) gets the masks of `packed_masks`; any other
  call (unpacked batches, `generate`) is unchanged.
  `T5ForConditionalGeneration` passes one `attention_mask` to both the
  encoder and the cross-attention, whose masks differ when rows are packed:
  the model's hook gives it the cross-attention mask, and a hook on the
  encoder swaps in the encoder's own. Both hooks run inside the model's
  call, so torch DDP sees one forward pass, and the encoder runs inside the
  forward (under the autocast of mixed precision, which wraps `forward`).
  With the `wt5_flex` attention the masks are FlexAttention block masks
  (`attention.block_masks`) instead of dense 4D tensors; with
  `wt5_segments` the dense masks carry the batch's layouts
  (`segment_attention.batch_layouts`). A compact batch (`compact_batch`)
  runs on `wt5_segments` only.
  """
  pending: List[Any] = []

  def model_hook(module, args, kwargs):
    compact = all(k in kwargs for k in COMPACT_KEYS)
    if not compact and not all(k in kwargs for k in PACKED_KEYS):
      return None
    implementation = module.config._attn_implementation
    dtype = module.get_input_embeddings().weight.dtype
    if compact and implementation != attention.SEGMENTS:
      raise attention.AttentionError(
          "a compact batch (packing.compact_batch) needs the wt5_segments "
          "attention, whose layouts follow examples across rows; this model "
          "runs %s" % implementation)
    if compact:
      masks = segment_attention.carrier_masks(kwargs, dtype)
    elif implementation == attention.FLEX:
      masks = attention.block_masks(kwargs)
    else:
      masks = packed_masks(kwargs, dtype)
    if implementation == attention.SEGMENTS:
      segment_attention.attach(masks, segment_attention.batch_layouts(
          kwargs, dtype))
    pending[:] = [(masks["cross"], masks["encoder"])]
    rest = {k: v for k, v in kwargs.items()
            if k not in PACKED_KEYS + COMPACT_KEYS}
    rest.update(attention_mask=masks["cross"],
                decoder_attention_mask=masks["decoder"])
    return args, rest

  def encoder_hook(module, args, kwargs):
    del module
    # Only the encoder call of that packed batch gets the encoder's mask.
    if not pending or kwargs.get("attention_mask") is not pending[0][0]:
      return None
    return args, dict(kwargs, attention_mask=pending.pop()[1])

  return [model.register_forward_pre_hook(model_hook, with_kwargs=True),
          model.encoder.register_forward_pre_hook(encoder_hook,
                                                  with_kwargs=True)]
