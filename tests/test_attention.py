"""The fast paths of `wt5 train`: wt5_flex attention, compilation, the stacked Adafactor.

On the CPU (FlexAttention has no backward there; the GPU checks are in
benchmarks/gpu_suite.sh):
- wt5_flex's score and mask functions, evaluated densely, equal the dense
  bias + mask tensor of the SDPA path exactly, for the encoder, the causal
  decoder and cross-attention;
- its forward on packed rows equals the examples one by one (float32,
  1e-5) at the tiny shape and at T5-small's (two 512/256 rows of ~20
  examples), and the SDPA path's loss and gradients equal one by one in
  float64 at T5-small's shape (1e-10);
- no tensor of batch x heads x queries x keys elements in a packed forward
  with wt5_flex (FlexAttention's kernel counted as one op), while the SDPA
  path makes them in every attention layer;
- a compiled tiny model trains 6 packed steps without compiling again after
  step 2, with the eager losses (1e-4);
- `GroupedAdafactor` gives transformers' Adafactor updates (1e-6 relative).

wt5_segments (the CPU's packed path), on packed rows and on compact rows
(`packing.compact_batch`): its forward equals the examples one by one
(float32, 1e-5) and the SDPA path, its loss and gradients equal one by one
in float64 (1e-10), and it makes no batch x heads x queries x keys tensor
either; a compact batch is exactly the expected rows, and SDPA refuses it.
"""

import copy
import io
import math
import random

import pytest
import torch
import transformers
from torch.nn.attention import flex_attention
from torch.utils import _python_dispatch
from torch.utils._python_dispatch import TorchDispatchMode

from test_packing import _loss_and_grads as loss_and_grads
from test_packing import example, write_export
from wt5.pytorch import adafactor
from wt5.pytorch import attention
from wt5.pytorch import batching
from wt5.pytorch import model as model_lib
from wt5.pytorch import packing
from wt5.pytorch import segment_attention
from wt5.pytorch import train as train_lib

VOCAB = 100
SMALL_VOCAB = 2000


def packed_stream(lengths, rows, seed, vocab=VOCAB):
  """The first `rows` packed rows of a stream of e-SNLI-sized random examples."""
  rng = random.Random(seed)
  stream = []
  for _ in range(rows * lengths["inputs"] // 10):
    e = example(rng, rng.randint(15, 40), rng.randint(2, 20))
    stream.append({k: [t % vocab for t in v] for k, v in e.items()})
  return packing.pack_examples(stream, lengths)[:rows]


def small_rows(rows):
  """Rows for a tiny model (short examples, some padding)."""
  rng = random.Random(rows)
  stream = [example(rng, rng.randint(3, 14), rng.randint(2, 8))
            for _ in range(rows * 6)]
  return packing.pack_examples(stream, {"inputs": 64, "targets": 32})[:rows]


def model_for(size, vocab, path, dtype=torch.float32):
  model = model_lib.load_model(size, vocab, dropout_rate=0.0, seed=1)[0]
  model.to(dtype)
  attention.use(model, path)
  packing.enable_packed_batches(model)
  return model


def real_target_logits(model, batch):
  """The logits of the batch's real target tokens, in order."""
  kwargs = {k: v for k, v in batch.items() if k != "labels"}
  if "decoder_input_ids" not in kwargs:
    kwargs["decoder_input_ids"] = model._shift_right(batch["labels"])
  with torch.no_grad():
    logits = model(**kwargs).logits
  return logits[batch["labels"] != batching.IGNORE_INDEX]


@pytest.mark.parametrize("kind", ["encoder", "decoder", "cross"])
def test_score_and_mask_functions_equal_the_dense_bias_and_mask(kind):
  model = model_for("tiny", VOCAB, attention.SDPA)
  batch = packing.PackedCollator({"inputs": 64, "targets": 32})(small_rows(3))
  stack = model.decoder if kind != "encoder" else model.encoder
  rows, heads = batch["input_ids"].shape[0], model.config.num_heads
  q_len = (batch["inputs_segment_ids"] if kind == "encoder" else
           batch["targets_segment_ids"]).shape[1]
  k_len = (batch["targets_segment_ids"] if kind == "decoder" else
           batch["inputs_segment_ids"]).shape[1]
  owner = stack.block[0].layer[0].SelfAttention
  if kind == "cross":  # T5's cross-attention bias: zeros
    position_bias = torch.zeros(1, heads, q_len, k_len)
  else:
    position_bias = owner.compute_bias(q_len, k_len)
  dense = position_bias + packing.packed_masks(batch, torch.float32)[kind]
  mask_mod = {"encoder": attention.segment_mask_mod(
                  batch["inputs_segment_ids"], batch["inputs_segment_ids"],
                  False),
              "decoder": attention.segment_mask_mod(
                  batch["targets_segment_ids"],
                  batch["targets_segment_ids"], True),
              "cross": attention.segment_mask_mod(
                  batch["targets_segment_ids"], batch["inputs_segment_ids"],
                  False)}[kind]
  allowed = flex_attention.create_mask(mask_mod, rows, 1, q_len, k_len,
                                       device="cpu")
  score_mod = attention.bias_score_mod(position_bias)
  # The score function at every (row, head, query, key), from a score of 0.
  scores = score_mod(torch.zeros(()), torch.arange(rows)[:, None, None, None],
                     torch.arange(heads)[None, :, None, None],
                     torch.arange(q_len)[None, None, :, None],
                     torch.arange(k_len)[None, None, None, :])
  scores = scores.expand(rows, heads, q_len, k_len)
  flex = torch.where(allowed, scores, torch.finfo(torch.float32).min)
  assert flex.shape == dense.shape == (rows, heads, q_len, k_len)
  assert torch.equal(flex, dense)
  # The masks are not trivial: both kinds of places occur.
  assert 0 < int(allowed.sum()) < allowed.numel()


def test_block_masks_match_the_dense_masks():
  batch = packing.PackedCollator({"inputs": 64, "targets": 32})(small_rows(3))
  blocks = attention.block_masks(batch)
  dense = packing.packed_masks(batch, torch.float32)
  for kind in ("encoder", "cross", "decoder"):
    allowed = dense[kind] == 0
    mask = blocks[kind]
    expected = torch.stack([
        mask.mask_mod(torch.tensor(b), torch.tensor(0),
                      torch.arange(allowed.shape[2])[:, None],
                      torch.arange(allowed.shape[3])[None, :])
        for b in range(allowed.shape[0])])[:, None]
    assert torch.equal(expected, allowed), kind


def split_examples(batch):
  """Examples of a compact batch that go on from one row into the next."""
  split = 0
  for key in packing.COMPACT_KEYS:
    ids = batch[key]
    split += int(((ids[:-1, -1] == ids[1:, 0]) & (ids[1:, 0] > 0)).sum())
  return split


@pytest.mark.parametrize("path", [attention.FLEX, attention.SEGMENTS,
                                  "compact"])
@pytest.mark.parametrize("shape", ["tiny", "small"])
def test_packed_forward_equals_examples_one_by_one(shape, path):
  compact = path == "compact"  # wt5_segments on compact rows
  if shape == "tiny":  # (5 rows: compact rows need one row less)
    lengths, vocab = {"inputs": 64, "targets": 32}, VOCAB
    rows = small_rows(5 if compact else 3)
  else:  # T5-small's layers, two 512/256 rows of about 20 examples each
    lengths, vocab = {"inputs": 512, "targets": 256}, SMALL_VOCAB
    rows = packed_stream(lengths, 2, seed=5, vocab=vocab)
    assert all(15 <= len(r) <= 25 for r in rows), [len(r) for r in rows]
  model = model_for(shape, vocab, attention.SEGMENTS if compact else path)
  packed = packing.PackedCollator(lengths)(rows)
  batch = packing.PackedCollator(lengths, compact=compact)(rows)
  if compact:  # examples run on across row ends (tiny: in fewer rows)
    assert split_examples(batch) >= 1
    assert batch["input_ids"].shape[0] == len(rows) - (shape == "tiny")
  if path != attention.FLEX:
    layouts = segment_attention.batch_layouts(batch, torch.float32)
    # Several groups of examples: the lengths differ across buckets.
    assert max(len(plan.groups) for plan in layouts.values()) >= 2
  logits = real_target_logits(model, batch)
  one_by_one = torch.cat([
      real_target_logits(model, batching.Collator()([e]))
      for row in rows for e in row])
  assert logits.shape == one_by_one.shape
  worst = (logits - one_by_one).abs().max().item()
  assert worst <= 1e-5, worst
  attention.use(model, attention.SDPA)
  sdpa = real_target_logits(model, packed)
  assert (sdpa - logits).abs().max().item() <= 1e-5
  if compact:  # per-row masks cannot hold an example split across rows
    with pytest.raises(attention.AttentionError, match="needs the wt5_segm"):
      real_target_logits(model, batch)


def test_compact_batch():
  rows = [[{"inputs": [5, 5, 1], "targets": [1]}],
          [{"inputs": [6, 1], "targets": [7, 1]}],
          [{"inputs": [8, 1], "targets": [2]}]]
  lengths = {"inputs": 4, "targets": 3}
  packed = packing.PackedCollator(lengths)(rows)
  batch = packing.PackedCollator(lengths, compact=True)(rows)
  assert {k: v.tolist() for k, v in batch.items()} == {
      "input_ids": [[5, 5, 1, 6], [1, 8, 1, 0]],
      "inputs_example_ids": [[1, 1, 1, 2], [2, 3, 3, 0]],
      "labels": [[1, 7, 1], [2, -100, -100]],
      "decoder_input_ids": [[0, 0, 7], [0, 0, 0]],
      "targets_example_ids": [[1, 2, 2], [3, 0, 0]]}
  # The same tokens, examples and loss terms on fewer positions.
  assert batching.batch_counts(batch).tolist() == [11, 3, 14]
  assert batching.batch_counts(packed).tolist() == [11, 3, 21]
  assert packing.compact_batch(packed).keys() == batch.keys()
  for key, value in packing.compact_batch(packed).items():
    assert torch.equal(value, batch[key]), key


def test_segment_runs_and_layout():
  assert segment_attention.runs([[1, 1, 2, 0], [1, 0, 0, 0]]) == [
      (0, 0, 2), (0, 2, 1), (1, 0, 1)]
  assert [segment_attention.bucket(n) for n in (1, 8, 9, 24, 33)] == [
      8, 8, 16, 32, 64]
  plan = segment_attention.layout([(0, 0, 3), (1, 1, 2)],
                                  [(0, 0, 3), (1, 1, 2)], 2, 4, 4, True,
                                  True, torch.float32, "cpu")
  (group,) = plan.groups
  assert (group.examples, group.queries, group.keys) == (2, 3, 3)
  # Example 2's padded third place repeats its last position (row 1, 2).
  assert plan.query_index.tolist() == [0, 1, 2, 5, 6, 6]
  assert plan.output_index.tolist() == [0, 1, 2, 6, 6, 3, 4, 6]
  low = torch.finfo(torch.float32).min
  assert group.mask[1, 0].tolist() == [[0, low, low], [0, 0, low],
                                       [0, 0, low]]


@pytest.mark.slow
@pytest.mark.parametrize("path", [attention.SDPA, attention.SEGMENTS,
                                  "compact"])
def test_packed_loss_and_gradients_equal_one_by_one_in_float64(path):
  lengths = {"inputs": 512, "targets": 256}
  rows = packed_stream(lengths, 2, seed=5, vocab=SMALL_VOCAB)
  compact = path == "compact"  # wt5_segments on compact rows
  model = model_for("small", SMALL_VOCAB,
                    attention.SEGMENTS if compact else path, torch.float64)
  examples = [e for row in rows for e in row]
  tokens = sum(len(e["targets"]) for e in examples)
  batch = packing.PackedCollator(lengths, compact=compact)(rows)
  if compact:
    assert split_examples(batch) >= 1
  packed, packed_grads = loss_and_grads(model, [batch], tokens)
  single, single_grads = loss_and_grads(
      model, [batching.Collator()([e]) for e in examples], tokens)
  assert abs(packed - single) <= 1e-10, (packed, single)
  worst = max((packed_grads[k] - single_grads[k]).abs().max().item()
              for k in packed_grads)
  assert worst <= 1e-10, worst
  bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
  assert packed_grads[bias].abs().max().item() > 1e-4


class LargeTensors(TorchDispatchMode):
  """Records every op whose output has at least `elements` elements.

  A higher-order op (FlexAttention) counts as one op with its own outputs:
  its kernel is fused on a GPU, and on the CPU its unfused reference runs
  here with this mode off.
  """

  supports_higher_order_operators = True

  def __init__(self, elements):
    super().__init__()
    self.elements = elements
    self.found = []
    self.ops = 0

  def __torch_dispatch__(self, func, types, args=(), kwargs=None):
    if isinstance(func, torch._ops.HigherOrderOperator):
      with _python_dispatch._disable_current_modes():
        out = func(*args, **(kwargs or {}))
    else:
      out = func(*args, **(kwargs or {}))
    self.ops += 1
    for t in out if isinstance(out, (tuple, list)) else [out]:
      if isinstance(t, torch.Tensor) and t.numel() >= self.elements:
        self.found.append((str(func), tuple(t.shape)))
    return out


def test_flex_and_segments_make_no_batch_heads_queries_keys_tensor(
    monkeypatch):
  # FlexAttention's documented debug switch: call its op without
  # torch.compile, which refuses to run under a dispatch mode.
  monkeypatch.setattr(flex_attention, "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG",
                      True)
  lengths = {"inputs": 128, "targets": 128}
  rows = packed_stream(lengths, 2, seed=2)
  shape = (2, model_lib.PRESETS["tiny"].num_heads, 128, 128)
  found = {}
  for path in (attention.SDPA, attention.FLEX, attention.SEGMENTS, "compact"):
    compact = path == "compact"  # wt5_segments on compact rows
    batch = packing.PackedCollator(lengths, compact=compact)(rows)
    kwargs = {k: v for k, v in batch.items() if k != "labels"}
    model = model_for("tiny", VOCAB, attention.SEGMENTS if compact else path)
    mode = LargeTensors(math.prod(shape))
    with torch.no_grad(), mode:
      model(**kwargs)
    assert mode.ops > 100
    found[path] = mode.found
  # SDPA: the dense bias + mask of each attention layer, among others.
  layers = 3 * model_lib.PRESETS["tiny"].num_layers
  assert sum(s == shape for _, s in found[attention.SDPA]) >= layers, found
  assert found[attention.FLEX] == []
  assert found[attention.SEGMENTS] == []
  assert found["compact"] == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_compiled_training_compiles_once_and_matches_eager(tmp_path):
  rng = random.Random(0)
  lengths = {"inputs": 64, "targets": 32}
  export_dir = write_export(
      tmp_path / "export",
      [example(rng, rng.randint(4, 20), rng.randint(2, 8)) for _ in range(400)],
      lengths)

  graphs = []

  class CountGraphs(transformers.TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
      from torch._dynamo.utils import counters
      graphs.append(sum(counters["stats"].values()) +
                    sum(counters["frames"].values()))

  def losses(compiled):
    out = io.StringIO()
    summary = train_lib.train(train_lib.TrainOptions(
        export_dir, str(tmp_path / ("c" if compiled else "e")), model="tiny",
        steps=6, batch_size=4, tokens_per_batch=512, dropout_rate=0.0,
        logging_steps=1, save_steps=100, torch_compile=compiled),
        out=out, callbacks=[CountGraphs()] if compiled else ())
    return [h["loss"] for h in summary["log_history"] if "loss" in h], out

  eager, _ = losses(False)
  compiled, out = losses(True)
  assert len(graphs) == 6
  assert graphs[1] == graphs[-1], graphs  # nothing compiled after step 2
  assert graphs[0] > 0
  assert len(compiled) == len(eager) == 6
  assert max(abs(a - b) for a, b in zip(compiled, eager)) <= 1e-4
  assert "first step in" in out.getvalue()
  assert "and compilation" in out.getvalue()


def test_grouped_adafactor_gives_transformers_updates():
  reference = model_lib.load_model("tiny", VOCAB, dropout_rate=0.0)[0]
  grouped = copy.deepcopy(reference)
  dims = {p.dim() for p in reference.parameters()}
  assert dims == {1, 2}  # factored (matrices) and unfactored (norms)
  optimizers = [
      (reference, transformers.Adafactor(
          reference.parameters(), lr=1e-3, scale_parameter=False,
          relative_step=False)),
      (grouped, adafactor.GroupedAdafactor(grouped.parameters(), lr=1e-3))]
  generator = torch.Generator().manual_seed(0)
  for step in range(4):
    ids = torch.randint(2, VOCAB, (4, 12), generator=generator)
    labels = torch.randint(2, VOCAB, (4, 6), generator=generator)
    for model, optimizer in optimizers:
      optimizer.zero_grad()
      model(input_ids=ids, labels=labels).loss.backward()
      optimizer.step()
    for (name, a), b in zip(reference.named_parameters(),
                            grouped.parameters()):
      scale = a.abs().max().item()
      assert (a - b).abs().max().item() <= 1e-6 * scale, (step, name)
  state = optimizers[1][1].state[grouped.shared.weight]
  assert state["step"] == 4
  assert sorted(state) == ["exp_avg_sq_col", "exp_avg_sq_row", "step"]


def test_attention_choice():
  assert attention.choose(None, True, True, 0.0) == attention.SDPA
  assert attention.choose("auto", True, False, 0.1) == attention.SEGMENTS
  assert attention.choose("auto", False, False, 0.1) == attention.SDPA
  assert attention.choose("wt5_segments", True, True, 0.1) == (
      attention.SEGMENTS)
  assert attention.choose("wt5_flex", True, True, 0.0) == attention.FLEX
  assert attention.choose("eager", False, False, 0.1) == "eager"
  # Compiled code runs SDPA: auto does not choose wt5_segments for it.
  assert attention.choose("auto", True, False, 0.1, True) == attention.SDPA
  errors = {
      ("wt5_segments", True, False, 0.0, True): "runs uncompiled",
      ("wt5_flex", True, False, 0.0): "trains on a GPU only",
      ("wt5_flex", True, True, 0.1): "cannot drop attention probabilities",
      ("wt5_flex", False, True, 0.0): "needs packed batches",
      ("wt5_segments", False, False, 0.0): "wt5_segments needs packed",
      ("flash", True, True, 0.0): "unknown attention implementation 'flash'"}
  for args, message in errors.items():
    with pytest.raises(attention.AttentionError, match=message):
      attention.choose(*args)


def test_flex_refuses_attention_dropout_in_training():
  model = model_lib.load_model("tiny", VOCAB, dropout_rate=0.1)[0]
  attention.use(model, attention.FLEX)
  packing.enable_packed_batches(model)
  model.train()
  batch = packing.PackedCollator({"inputs": 64, "targets": 32})(small_rows(2))
  with pytest.raises(attention.AttentionError, match="dropout 0.1"):
    batching.target_loss_sum(model, batch)
  attention.set_attention_dropout(model, 0.0)
  with torch.no_grad():
    assert torch.isfinite(batching.target_loss_sum(model, batch))
