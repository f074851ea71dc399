"""Packed attention example by example: T5's attention on each segment alone.

In a packed row a query attends to the keys of its own example only, so the
dense [batch, heads, queries, keys] scores of the SDPA path are mostly masked
places (the demo's rows at 128/64 hold about 5 examples: 18% of the
encoder's places are in a segment). `wt5_segments` gathers each example's
queries, keys and values out of the rows into small batches of examples of
similar lengths (one per pair of power-of-two lengths; each padded to its
longest example), attends there (scores, softmax and values, as SDPA's
math), and puts the outputs back in the rows.
T5's relative position bias depends only on the offset between a query and
a key, the same inside a row and inside the example alone, so each small
batch adds the bias's top-left [queries, keys] corner; its gradient reaches
the bias embedding through the same buckets.

The places of a row that hold no example (padding) get an attention output
of 0: they feed no real position (a padding query sees padding only) and
carry no loss. Everything else equals the dense path up to the order of
float additions (tested: float64 losses and gradients to 1e-10).

It also runs compact batches (`packing.compact_batch`: the rows' examples
laid end to end without padding, an example going on in the next row),
read as one long row; their masks only carry the layouts.

Made for the CPU, where it skips four fifths of the attention work; the
layout is read from the segment ids on the host (`tolist`), so on a GPU it
would wait for the device every step. Nothing here imports TensorFlow or t5.
"""

import dataclasses
import itertools
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

LAYOUT_ATTRIBUTE = "wt5_segments"  # set on a packed batch's dense 4D masks
# The example ids of a compact batch (`packing.compact_batch`).
COMPACT_KEYS = ("inputs_example_ids", "targets_example_ids")

# (row, start, length) of one segment of a row.
Run = Tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class Group:
  """Examples attended together, padded to `queries` x `keys`.

  `mask` is additive, [examples, 1, queries or 1, keys]: 0 where a query
  may attend (a key of its example; not a later one if causal), else the
  dtype's minimum.
  """
  examples: int
  queries: int
  keys: int
  mask: Any


@dataclasses.dataclass(frozen=True)
class Layout:
  """How one attention kind of a packed batch runs example by example.

  `query_index` and `key_index` are the rows of the flattened [batch x
  length] queries and keys that fill the groups (a padded place repeats its
  example's last position); `output_index` says, for every place of the
  output, its row among the groups' concatenated outputs, or the last row
  (zeros) for padding. `relative_bias` is False for cross-attention, where
  T5's bias is zeros. `compact` marks the layout of a compact batch, whose
  masks only carry it.
  """
  groups: Tuple[Group, ...]
  query_index: Any
  key_index: Any
  output_index: Any
  relative_bias: bool
  compact: bool = False


def runs(segment_ids: Sequence[Sequence[int]]) -> List[Run]:
  """The segments of packed rows in row order, padding (id 0) left out.

  runs([[1, 1, 2, 0], [1, 0, 0, 0]]) -> [(0, 0, 2), (0, 2, 1), (1, 0, 1)]
  """
  found: List[Run] = []
  for row, ids in enumerate(segment_ids):
    start = 0
    for segment, members in itertools.groupby(ids):
      length = len(list(members))
      if segment != 0:
        found.append((row, start, length))
      start += length
  return found


def bucket(length: int) -> int:
  """The power of two (at least 8) a length is grouped under: bucket(24) -> 32."""
  return max(8, 1 << (length - 1).bit_length())


def layout(query_runs: Sequence[Run], key_runs: Sequence[Run], rows: int,
           query_length: int, key_length: int, causal: bool,
           relative_bias: bool, dtype: Any, device: Any) -> Layout:
  """The `Layout` of one attention kind; runs pair up example by example.

  layout([(0, 0, 3)], [(0, 0, 3)], 1, 4, 4, True, True, float32, "cpu")
  -> one group of 1 example, 3 x 3, query_index [0, 1, 2], output_index
     [0, 1, 2, 3] (place 3 is padding: the zeros row)
  """
  import torch
  if len(query_runs) != len(key_runs):
    raise ValueError("%d query segments but %d key segments" % (
        len(query_runs), len(key_runs)))
  if not query_runs:
    raise ValueError("a packed batch without examples (every segment id 0)")
  batches: Dict[Tuple[int, int], List[Tuple[Run, Run]]] = {}
  for q, k in zip(query_runs, key_runs):
    batches.setdefault((bucket(q[2]), bucket(k[2])), []).append((q, k))
  groups, query_index, key_index, sources, places = [], [], [], [], []
  offset = 0
  for members in (batches[key] for key in sorted(batches)):
    q_row, q_start, q_len = (torch.tensor(c, device=device)
                             for c in zip(*(q for q, _ in members)))
    k_row, k_start, k_len = (torch.tensor(c, device=device)
                             for c in zip(*(k for _, k in members)))
    queries, keys = int(q_len.max()), int(k_len.max())
    i = torch.arange(queries, device=device)[None, :]
    j = torch.arange(keys, device=device)[None, :]
    q_first = (q_row * query_length + q_start)[:, None]  # flattened places
    k_first = (k_row * key_length + k_start)[:, None]
    query_index.append(
        (q_first + torch.minimum(i, q_len[:, None] - 1)).flatten())
    key_index.append((k_first + torch.minimum(j, k_len[:, None] - 1)).flatten())
    allowed = (j < k_len[:, None])[:, None, :]
    if causal:
      allowed = allowed & (i[0, :, None] >= j[0, None, :])[None]
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    mask = mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]
    groups.append(Group(len(members), queries, keys, mask))
    real = i < q_len[:, None]
    places.append((q_first + i)[real])
    sources.append((offset + torch.arange(len(members), device=device)[:, None]
                    * queries + i)[real])
    offset += len(members) * queries
  output_index = torch.full((rows * query_length,), offset, dtype=torch.long,
                            device=device)
  output_index[torch.cat(places)] = torch.cat(sources)
  return Layout(tuple(groups), torch.cat(query_index), torch.cat(key_index),
                output_index, relative_bias)


def batch_layouts(batch: Mapping[str, Any], dtype: Any) -> Dict[str, Layout]:
  """The encoder, cross-attention and decoder layouts of a packed batch.

  The n-th input segment and the n-th target segment (row order) are the
  same example, as `packing.packed_row` writes them. The rows of a compact
  batch (`COMPACT_KEYS`) are read as one row, their examples running on
  across row ends.
  """
  compact = COMPACT_KEYS[0] in batch
  if compact:
    inputs, targets = (batch[k].reshape(1, -1) for k in COMPACT_KEYS)
  else:
    inputs, targets = batch["inputs_segment_ids"], batch["targets_segment_ids"]
  rows, li, lt = inputs.shape[0], inputs.shape[1], targets.shape[1]
  input_runs, target_runs = runs(inputs.tolist()), runs(targets.tolist())
  if [r[0] for r in input_runs] != [r[0] for r in target_runs]:
    raise ValueError("packed rows whose inputs and targets hold different "
                     "examples (segment ids of inputs and targets differ)")
  kinds = {"encoder": (input_runs, input_runs, li, li, False, True),
           "cross": (target_runs, input_runs, lt, li, False, False),
           "decoder": (target_runs, target_runs, lt, lt, True, True)}
  return {kind: dataclasses.replace(
      layout(q, k, rows, q_len, k_len, causal, bias, dtype, inputs.device),
      compact=compact)
          for kind, (q, k, q_len, k_len, causal, bias) in kinds.items()}


def carrier_masks(batch: Mapping[str, Any], dtype: Any) -> Dict[str, Any]:
  """The 4D masks of a compact batch: its shapes, no values, no memory.

  They carry the batch's layouts to `forward` (an example split across rows
  has no per-row mask); each is a zero expanded to
  [rows, 1, queries, keys], which `forward` never reads.
  """
  import torch
  inputs, targets = (batch[k] for k in COMPACT_KEYS)
  zero = torch.zeros((), dtype=dtype, device=inputs.device)

  def shaped(queries, keys):
    return zero.expand(queries.shape[0], 1, queries.shape[1], keys.shape[1])

  return {"encoder": shaped(inputs, inputs), "cross": shaped(targets, inputs),
          "decoder": shaped(targets, targets)}


def attach(masks: Mapping[str, Any], layouts: Mapping[str, Layout]) -> None:
  """Marks each dense mask of a packed batch with its layout."""
  for kind, mask in masks.items():
    setattr(mask, LAYOUT_ATTRIBUTE, layouts[kind])


def attention(query: Any, key: Any, value: Any, plan: Layout,
              position_bias: Any, dropout: float,
              scaling: Optional[float]) -> Any:
  """Attention example by example: [batch, heads, queries, d_kv] in, [batch, queries, heads, d_kv] out."""
  import torch
  batch, heads, length, width = query.shape
  flat = [t.transpose(1, 2).reshape(-1, heads * width)
          for t in (query, key, value)]
  q_all = flat[0].index_select(0, plan.query_index)
  k_all = flat[1].index_select(0, plan.key_index)
  v_all = flat[2].index_select(0, plan.key_index)
  outputs, q_at, k_at = [], 0, 0
  for group in plan.groups:
    n, pq, pk = group.examples, group.queries, group.keys

    def heads_first(rows, at, size):
      return rows[at:at + n * size].view(n, size, heads, width).transpose(1, 2)

    scores = torch.matmul(heads_first(q_all, q_at, pq),
                          heads_first(k_all, k_at, pk).transpose(2, 3))
    if scaling is None or scaling != 1.0:
      scores = scores * (width ** -0.5 if scaling is None else scaling)
    if plan.relative_bias:
      scores = scores + position_bias[:, :, :pq, :pk]
    probs = torch.softmax(scores + group.mask, dim=-1)
    if dropout:
      probs = torch.nn.functional.dropout(probs, p=dropout)
    out = torch.matmul(probs, heads_first(v_all, k_at, pk))
    outputs.append(out.transpose(1, 2).reshape(n * pq, heads * width))
    q_at, k_at = q_at + n * pq, k_at + n * pk
  outputs.append(outputs[0].new_zeros(1, heads * width))
  return torch.cat(outputs).index_select(0, plan.output_index).view(
      batch, length, heads, width)


def forward(module: Any, query: Any, key: Any, value: Any,
            attention_mask: Any, dropout: float = 0.0,
            scaling: Optional[float] = None, position_bias: Any = None,
            **kwargs) -> Any:
  """The `wt5_segments` attention function (the interface of `transformers`).

  A mask with a layout (a packed batch's) runs `attention`; any other call
  (unpacked batches, `generate`, code being compiled) goes to the SDPA
  function of `transformers` unchanged. Returns (output, None) as SDPA's.
  """
  import torch
  from transformers.integrations import sdpa_attention
  plan = getattr(attention_mask, LAYOUT_ATTRIBUTE, None)
  if plan is not None and plan.compact and torch.compiler.is_compiling():
    raise ValueError("a compact batch (packing.compact_batch) cannot run in "
                     "code being compiled: its masks carry no values for "
                     "SDPA; train it uncompiled or without compact rows")
  if plan is None or torch.compiler.is_compiling():
    return sdpa_attention.sdpa_attention_forward(
        module, query, key, value, attention_mask, dropout=dropout,
        scaling=scaling, position_bias=position_bias, **kwargs)
  return attention(query, key, value, plan, position_bias, dropout,
                   scaling), None
