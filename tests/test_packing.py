"""Packed training batches: the same examples as Mesh TF/seqio, the same loss.

A packed row must train the model exactly as its examples one by one: the
loss of a packed batch equals the token-weighted mean of the examples' own
losses and the gradients are equal (float32, 1e-5). Rows hold the examples
that seqio's and Mesh TF's packing put together, and `--tokens_per_batch`
gives the binary's rows per step.
"""

import io
import json
import math
import os
import random

import pytest
import torch

from wt5 import cli
from wt5.pytorch import batching
from wt5.pytorch import model as model_lib
from wt5.pytorch import packing
from wt5.pytorch import train as train_lib

VOCAB = 100
TOLERANCE = 1e-5


def example(rng: random.Random, inputs: int, targets: int):
  """Random ids ending in EOS: `inputs` and `targets` tokens long."""
  return {"inputs": [rng.randrange(2, VOCAB) for _ in range(inputs - 1)] + [1],
          "targets": [rng.randrange(2, VOCAB) for _ in range(targets - 1)] + [1]}


def mixture_examples(count: int, seed: int = 0):
  """A stream like a WT5 mixture: long explained examples and short label-only ones."""
  rng = random.Random(seed)
  out = []
  for _ in range(count):
    if rng.random() < 0.5:  # e-SNLI with an explanation
      out.append(example(rng, rng.randint(25, 70), rng.randint(8, 40)))
    else:  # MNLI, label only
      out.append(example(rng, rng.randint(15, 60), rng.randint(2, 4)))
  return out


def write_export(path, examples, lengths, vocab_size=VOCAB):
  """Writes a `wt5 export` directory holding `examples` as its train split."""
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "train.jsonl"), "w", encoding="utf-8") as f:
    for e in examples:
      f.write(json.dumps(dict(e, task="synthetic", inputs_pretokenized="i",
                              targets_pretokenized="t")) + "\n")
  manifest = {
      "format": "wt5-export-1", "name": "synthetic",
      "vocabulary": {"path": "none", "extra_ids": 0, "size": vocab_size,
                     "pad_id": 0, "eos_id": 1},
      "sequence_length": dict(lengths),
      "tasks": {"synthetic": {"rate": 1.0, "postprocessor": None,
                              "metrics": []}},
      "splits": {"train": {"kind": "mixture", "seed": 0,
                           "count": len(examples),
                           "files": {"*": "train.jsonl"},
                           "counts": {"synthetic": len(examples)}}}}
  with open(os.path.join(path, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f)
  return str(path)


def test_pack_examples_fills_rows_greedily_within_chunks():
  lengths = {"inputs": 4, "targets": 3}
  a = {"inputs": [5, 1], "targets": [1]}
  b = {"inputs": [6, 7, 1], "targets": [8, 1]}
  c = {"inputs": [1], "targets": [9, 9, 1]}
  # Chunks of max(4, 3) = 4 examples. b does not fit after a (inputs 2 + 3
  # > 4), c not after b (targets 2 + 3 > 3), a not after c (targets 3 + 1);
  # the 4th example's row closes with its chunk, though the 5th would fit.
  assert packing.pack_examples([a, b, c, a, a, a], lengths) == [
      [a], [b], [c], [a], [a, a]]
  full = {"inputs": [2, 3, 4, 1], "targets": [5, 6, 1]}
  assert packing.pack_examples([full, a], lengths) == [[full], [a]]
  with pytest.raises(batching.BatchError,
                     match="example 1 has 5 inputs tokens; a packed row holds "
                     "1 to 4"):
    packing.pack_examples([a, {"inputs": [2] * 4 + [1], "targets": [1]}],
                          lengths)


def test_packed_row_features():
  row = packing.packed_row([{"inputs": [5, 1], "targets": [7, 1]},
                            {"inputs": [6, 1], "targets": [1]}],
                           {"inputs": 5, "targets": 4})
  assert row == {"input_ids": [5, 1, 6, 1, 0],
                 "inputs_segment_ids": [1, 1, 2, 2, 0],
                 "labels": [7, 1, 1, -100], "decoder_input_ids": [0, 7, 0, 0],
                 "targets_segment_ids": [1, 1, 2, 0]}
  batch = packing.PackedCollator({"inputs": 5, "targets": 4})(
      [[{"inputs": [5, 1], "targets": [7, 1]}]])
  assert batching.batch_counts(batch).tolist() == [4, 1, 9]


def test_segment_mask():
  segments = torch.tensor([[1, 1, 2, 0]])
  allowed = packing.segment_mask(segments, segments, False,
                                 torch.float32)[0, 0] == 0
  assert allowed.tolist() == [[True, True, False, False],
                              [True, True, False, False],
                              [False, False, True, False],
                              [False, False, False, True]]
  causal = packing.segment_mask(segments, segments, True,
                                torch.float32)[0, 0] == 0
  assert causal.tolist() == [[True, False, False, False],
                             [True, True, False, False],
                             [False, False, True, False],
                             [False, False, False, True]]
  masked = packing.segment_mask(segments, segments, False, torch.float32)
  assert masked[0, 0, 0, 2].item() == torch.finfo(torch.float32).min


LENGTHS = {"inputs": 24, "targets": 12}


def _rows(case: str):
  rng = random.Random(case)
  if case == "several_with_padding":
    return [[example(rng, 5, 3), example(rng, 9, 2), example(rng, 4, 4)],
            [example(rng, 11, 5), example(rng, 12, 6)]]
  if case == "fills_a_row_exactly":
    return [[example(rng, 24, 12)],
            [example(rng, 10, 7), example(rng, 14, 5)]]
  if case == "single_example_row":
    return [[example(rng, 7, 3)]]
  raise ValueError(case)


def _tiny_model(attn: str):
  model = model_lib.load_model("tiny", VOCAB, dropout_rate=0.0, seed=3)[0]
  model.set_attn_implementation(attn)
  packing.enable_packed_batches(model)
  return model


def _loss_and_grads(model, batches, denominator):
  model.zero_grad()
  total = 0.0
  for batch in batches:
    loss = batching.target_loss_sum(model, batch) / denominator
    loss.backward()
    total += loss.item()
  return total, {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("case", ["several_with_padding", "fills_a_row_exactly",
                                  "single_example_row"])
def test_packed_batch_trains_as_its_examples_one_by_one(case, attn):
  model = _tiny_model(attn)
  rows = _rows(case)
  examples = [e for row in rows for e in row]
  tokens = sum(len(e["targets"]) for e in examples)
  packed = packing.PackedCollator(LENGTHS)(rows)
  assert packed["input_ids"].shape == (len(rows), 24)
  loss, grads = _loss_and_grads(model, [packed], tokens)
  # Each example alone (no padding, no packing), weighted by its tokens.
  one_by_one = [batching.Collator()([e]) for e in examples]
  per_example = [batching.target_loss_sum(model, b).item() / len(e["targets"])
                 for b, e in zip(one_by_one, examples)]
  weighted = sum(l * len(e["targets"]) for l, e in
                 zip(per_example, examples)) / tokens
  reference, reference_grads = _loss_and_grads(model, one_by_one, tokens)
  assert abs(loss - weighted) <= TOLERANCE, (loss, weighted)
  assert abs(loss - reference) <= TOLERANCE
  worst = max((grads[k] - reference_grads[k]).abs().max().item()
              for k in grads)
  assert worst <= TOLERANCE, worst
  assert max(g.abs().max().item() for g in grads.values()) > 1e-3


@pytest.mark.parametrize("packed", [True, False])
def test_logits_of_target_positions_only_give_the_same_loss_and_gradients(
    packed):
  """On the CPU the output layer sees only the target tokens' positions.

  Loss and every gradient equal those of the logits of every position
  (float64, 1e-12), for packed rows and padded examples.
  """
  model = _tiny_model("sdpa").double()
  rows = _rows("several_with_padding")
  batch = (packing.PackedCollator(LENGTHS)(rows) if packed else
           batching.Collator()([e for row in rows for e in row]))
  real = int((batch["labels"] != batching.IGNORE_INDEX).sum())
  assert real < batch["labels"].numel()  # there is padding to leave out
  seen = []
  hook = model.lm_head.register_forward_hook(
      lambda module, args, out: seen.append(tuple(args[0].shape)))
  results = {}
  for only in (None, False):  # None: the default on the CPU
    model.zero_grad()
    loss = batching.target_loss_sum(model, batch, only)
    loss.backward()
    results[only] = (loss.item(), {k: p.grad.clone()
                                   for k, p in model.named_parameters()})
  hook.remove()
  width = model.config.d_model
  assert seen == [(real, width), tuple(batch["labels"].shape) + (width,)]
  (fast, fast_grads), (full, full_grads) = results[None], results[False]
  assert abs(fast - full) <= 1e-12, (fast, full)
  worst = max((fast_grads[k] - full_grads[k]).abs().max().item()
              for k in fast_grads)
  assert worst <= 1e-12, worst
  assert max(g.abs().max().item() for g in fast_grads.values()) > 1e-3


def test_without_the_segment_masks_the_loss_differs():
  """The masks matter: plain padding masks over a packed row change the loss."""
  model = _tiny_model("sdpa")
  rows = _rows("several_with_padding")
  examples = [e for row in rows for e in row]
  tokens = sum(len(e["targets"]) for e in examples)
  packed = packing.PackedCollator(LENGTHS)(rows)
  unmasked = {"input_ids": packed["input_ids"],
              "attention_mask": (packed["inputs_segment_ids"] > 0).long(),
              "decoder_input_ids": packed["decoder_input_ids"],
              "labels": packed["labels"]}
  with torch.no_grad():
    wrong = batching.target_loss_sum(model, unmasked).item() / tokens
    right = batching.target_loss_sum(model, packed).item() / tokens
  assert abs(wrong - right) > 1e-3


def test_unpacked_batch_loss_is_t5s_own_loss():
  model = _tiny_model("sdpa")
  rng = random.Random(5)
  batch = batching.Collator()([example(rng, 6, 4), example(rng, 3, 2)])
  with torch.no_grad():
    ours = batching.target_loss_sum(model, batch).item() / 6
    theirs = model(**batch).loss.item()
  assert math.isclose(ours, theirs, rel_tol=0, abs_tol=TOLERANCE)


def test_accumulation_steps():
  lengths = {"inputs": 512, "targets": 256}
  # The paper's 65,536 tokens: 128 rows of 512 a step.
  assert train_lib.accumulation_steps(lengths, 65536, 32, None, 1) == 4
  assert train_lib.accumulation_steps(lengths, 65536, 16, None, 8) == 1
  assert train_lib.accumulation_steps(lengths, None, 16, 3, 2) == 3
  assert train_lib.accumulation_steps(lengths, None, 16, None, 2) == 1
  with pytest.raises(batching.BatchError, match=r"--tokens_per_batch 65536 is "
                     r"128 rows of 512 positions a step, which 1 process\(es\) "
                     r"of --batch_size 24 rows cannot share evenly"):
    train_lib.accumulation_steps(lengths, 65536, 24, None, 1)
  with pytest.raises(batching.BatchError, match="not a multiple of the "
                     "export's longest sequence length 512"):
    train_lib.accumulation_steps(lengths, 1000, 1, None, 1)
  with pytest.raises(batching.BatchError, match="--grad_accum 2 contradicts "
                     "--tokens_per_batch 65536"):
    train_lib.accumulation_steps(lengths, 65536, 32, 2, 1)


def test_command_line_options():
  args = cli.build_parser("train").parse_args(
      ["train", "--export", "e", "--model_dir", "m", "--no-pack",
       "--tokens_per_batch", "65536", "--batch_size", "16"])
  assert (args.pack, args.tokens_per_batch, args.batch_size,
          args.grad_accum) == (False, 65536, 16, None)
  args = cli.build_parser("train").parse_args(
      ["train", "--export", "e", "--model_dir", "m"])
  assert (args.pack, args.tokens_per_batch) == (True, None)


def test_wrong_batch_settings_are_reported(tmp_path, capsys):
  export = write_export(tmp_path / "export", mixture_examples(8), LENGTHS)
  code = cli.main(["train", "--export", export, "--model_dir",
                   str(tmp_path / "m"), "--model", "tiny",
                   "--tokens_per_batch", "100"])
  assert code == 2
  assert capsys.readouterr().err == (
      "wt5 train: --tokens_per_batch 100 is not a multiple of the export's "
      "longest sequence length 24 (rows of {'inputs': 24, 'targets': 12})\n")


def within_segment_positions(segment_ids):
  """Each token's offset from the start of its segment (0 on padding).

  within_segment_positions([1, 1, 2, 2, 2, 0]) -> [0, 1, 0, 1, 2, 0]
  """
  out = []
  for i, segment in enumerate(segment_ids):
    starts = i == 0 or segment != segment_ids[i - 1]
    out.append(0 if segment == 0 or starts else out[-1] + 1)
  return out


def limit_stream(count: int, lengths, seed: int):
  """Examples around the length limits: a quarter fill a row exactly
  (inputs or targets), a tenth are longer than the limit, the rest shorter."""
  rng = random.Random(seed)
  out = []
  for _ in range(count):
    kind = rng.random()
    if kind < 0.125:
      out.append(example(rng, lengths["inputs"], rng.randint(2, 8)))
    elif kind < 0.25:
      out.append(example(rng, rng.randint(4, 20), lengths["targets"]))
    elif kind < 0.35:
      out.append(example(rng, rng.randint(lengths["inputs"] + 1, 50),
                         rng.randint(lengths["targets"] + 1, 30)))
    else:
      out.append(example(rng, rng.randint(1, 24), rng.randint(1, 12)))
  return out


@pytest.mark.slow
def test_rows_equal_seqio_and_mesh_tf_rows_token_by_token():
  """Ids, segment ids, positions and decoder inputs of every packed row, as
  seqio's trim_and_pack_dataset and Mesh TF's pack_dataset write them."""
  import numpy as np
  import seqio
  import tensorflow as tf
  from mesh_tensorflow.transformer import dataset as mtf_dataset
  lengths = {"inputs": 32, "targets": 16}
  examples = limit_stream(400, lengths, seed=7)
  ds = tf.data.Dataset.from_generator(
      lambda: ({k: np.array(e[k], np.int32) for k in lengths}
               for e in examples),
      output_signature={k: tf.TensorSpec([None], tf.int32) for k in lengths})
  # wt5 train reads exports, which hold examples trimmed to the lengths; an
  # example longer than that is an error, not silently cut.
  long = next(i for i, e in enumerate(examples) if len(e["inputs"]) > 32)
  with pytest.raises(batching.BatchError, match="example %d has %d inputs "
                     "tokens; a packed row holds 1 to 32" % (
                         long, len(examples[long]["inputs"]))):
    packing.pack_examples(examples, lengths)
  trimmed = [{k: e[k][:lengths[k]] for k in lengths} for e in examples]
  ours = [packing.packed_row(r, lengths)
          for r in packing.pack_examples(trimmed, lengths)]
  seqio_rows = list(seqio.utils.trim_and_pack_dataset(ds, lengths)
                    .as_numpy_iterator())
  mtf_rows = list(mtf_dataset.pack_dataset(ds, dict(lengths),
                                           keys=list(lengths))
                  .as_numpy_iterator())
  assert len(ours) == len(seqio_rows) == len(mtf_rows)
  for row, seqio_row, mtf_row in zip(ours, seqio_rows, mtf_rows):
    # seqio's EncDecFeatureConverter(pack=True) shifts the targets so.
    seqio_row["decoder_input_tokens"] = seqio.utils.make_autoregressive_inputs(
        tf.constant(seqio_row["targets"]),
        sequence_id=tf.constant(seqio_row["targets_segment_ids"])).numpy()
    seqio_row = {k: v.tolist() for k, v in seqio_row.items()}
    mtf_row = {k: v.tolist() for k, v in mtf_row.items()}
    labels = [0 if t == batching.IGNORE_INDEX else t for t in row["labels"]]
    assert {
        "inputs": row["input_ids"],
        "inputs_segment_ids": row["inputs_segment_ids"],
        "inputs_positions": within_segment_positions(
            row["inputs_segment_ids"]),
        "targets": labels,
        "targets_segment_ids": row["targets_segment_ids"],
        "targets_positions": within_segment_positions(
            row["targets_segment_ids"]),
        "decoder_input_tokens": row["decoder_input_ids"],
    } == seqio_row
    assert {
        "inputs": row["input_ids"],
        "inputs_segmentation": row["inputs_segment_ids"],
        "inputs_position": within_segment_positions(row["inputs_segment_ids"]),
        "targets": labels,
        "targets_segmentation": row["targets_segment_ids"],
        "targets_position": within_segment_positions(
            row["targets_segment_ids"]),
    } == mtf_row
  # The stream holds what it is meant to: rows filled exactly by one
  # example or by several, and rows of three examples or more.
  full = [r for r in ours if 0 not in r["inputs_segment_ids"]
          or 0 not in r["targets_segment_ids"]]
  assert len([r for r in full if max(r["inputs_segment_ids"]) == 1]) > 10
  assert len([r for r in full if max(r["inputs_segment_ids"]) > 1]) > 5
  assert len([r for r in ours if max(r["inputs_segment_ids"]) >= 3]) >= 5


class MatrixProducts(torch.utils._python_dispatch.TorchDispatchMode):
  """Records the matrix products run inside `forward` of a `record_in` module.

  `products`: {(aten op, first operand's dtype)} of the products as autocast
  hands them on (Linear layers' mm/addmm; attention's, run by
  scaled_dot_product_attention's kernel: flash, or bmm in its math kernel);
  `attention`: {dtypes of (query, key, value)} of each
  scaled_dot_product_attention call.
  """

  PRODUCTS = ("mm", "addmm", "bmm", "baddbmm")

  def __init__(self, record_in):
    super().__init__()
    self.record_in, self.depth = record_in, 0
    self.products, self.attention = set(), set()
    products = self

    class Attention(torch.overrides.TorchFunctionMode):

      def __torch_function__(self, func, types, args=(), kwargs=None):
        if products.depth and (
            func is torch.nn.functional.scaled_dot_product_attention):
          products.attention.add(tuple(a.dtype for a in args[:3]))
        return func(*args, **(kwargs or {}))

    self.functions = Attention()

  def enter(self, module, args):
    self.depth += isinstance(module, self.record_in)

  def leave(self, module, args, output):
    self.depth -= isinstance(module, self.record_in)

  def __torch_dispatch__(self, func, types, args=(), kwargs=None):
    name = func.overloadpacket.__name__
    if self.depth and (name in self.PRODUCTS or "scaled_dot_product" in name):
      self.products.add((name, args[0].dtype))
    return func(*args, **(kwargs or {}))


@pytest.mark.slow
def test_bf16_autocast_trains_without_nan(tmp_path):
  """bf16 on the CPU (autocast): a short run whose loss falls.

  In the model's forward passes every Linear layer multiplies bf16 operands.
  The CPU's packed attention (`wt5_segments`, the default) multiplies bf16
  queries and keys, and bf16 probabilities and values (autocast's matmul),
  and calls no scaled_dot_product_attention. Under SDPA attention gets bf16
  queries, keys and values, and its products run in bf16 where
  scaled_dot_product_attention takes its flash kernel and in float32 where
  it takes its math kernel, which upcasts bf16 operands on the CPU (both
  are seen: `bmm` is the math kernel's).
  """
  from transformers import T5ForConditionalGeneration
  rng = random.Random(11)
  examples = []
  for _ in range(400):  # targets copy the start of the inputs
    e = example(rng, rng.randint(6, 14), 1)
    e["targets"] = e["inputs"][:4] + [1]
    examples.append(e)
  export = write_export(tmp_path / "export", examples, LENGTHS)
  products = MatrixProducts(T5ForConditionalGeneration)
  hooks = [torch.nn.modules.module.register_module_forward_pre_hook(
               products.enter),
           torch.nn.modules.module.register_module_forward_hook(
               products.leave)]
  seen = {}
  try:
    for path in ("sdpa", "auto"):
      products.products, products.attention = set(), set()
      with products, products.functions:
        summary = train_lib.train(train_lib.TrainOptions(
            export, str(tmp_path / path), model="tiny", steps=40,
            batch_size=8, learning_rate=3e-3, dropout_rate=0.0,
            save_steps=40, logging_steps=10, bf16=True,
            attn_implementation=path), out=io.StringIO())
      seen[path] = (products.products, products.attention)
  finally:
    for hook in hooks:
      hook.remove()
  assert summary["bf16"] is True and summary["packed"] is True
  assert seen["sdpa"] == ({
      ("mm", torch.bfloat16),
      ("_scaled_dot_product_flash_attention_for_cpu", torch.bfloat16),
      ("bmm", torch.float32)}, {(torch.bfloat16,) * 3})
  assert seen["auto"] == ({("mm", torch.bfloat16), ("bmm", torch.bfloat16)},
                          set())
  losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
  assert len(losses) == 4 and all(math.isfinite(l) for l in losses)
  assert losses == sorted(losses, reverse=True), losses  # falls every log
  assert losses[-1] < 0.9 * losses[0], losses
  assert summary["examples_per_step"] > 8  # several examples per row
