"""Packed attention paths against examples one by one: loss, every gradient, peak memory.

For a T5 (float32, no dropout) and packed rows of random examples, computes
the loss of the rows (summed target-token cross-entropy over the target
tokens) and the gradient of every parameter, the relative-attention-bias
embeddings included, through the `wt5_flex` path and the SDPA path, and the
same through each example alone (no packing, no padding). Prints the worst
absolute difference of each path to one-by-one and between the paths:

    python benchmarks/attention_check.py --model tiny --lengths 128,64
    python benchmarks/attention_check.py --model small --lengths 512,256 --rows 2

Then, with `--memory_model` (default base) in bf16 autocast, one packed
forward and backward of `--memory_rows` rows at the lengths through each
path, printing `torch.cuda.max_memory_allocated`. Needs a GPU for the
backward of FlexAttention (torch has none on the CPU); `--forward_only`
compares the logits of the real target tokens instead (runs on a CPU).
The last line is `worst: X` (the largest difference of all).
"""

import argparse
import os
import random
import sys
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from wt5.pytorch import attention
from wt5.pytorch import batching
from wt5.pytorch import model as model_lib
from wt5.pytorch import packing

VOCAB = 32128


def random_examples(count: int, seed: int) -> List[Dict[str, List[int]]]:
  """Examples of e-SNLI's size (15-40 input and 2-20 target tokens), EOS last."""
  rng = random.Random(seed)
  out = []
  for _ in range(count):
    li, lt = rng.randint(15, 40), rng.randint(2, 20)
    out.append({"inputs": [rng.randrange(2, 2000) for _ in range(li - 1)] + [1],
                "targets": [rng.randrange(2, 2000) for _ in range(lt - 1)] + [1]})
  return out


def fill_rows(lengths: Dict[str, int], rows: int, seed: int):
  """`rows` packed rows (the first `rows` of packing a long random stream)."""
  examples = random_examples(rows * lengths["inputs"] // 10, seed)
  return packing.pack_examples(examples, lengths)[:rows]


def loss_and_grads(model: Any, batches: List[Dict[str, Any]], tokens: int,
                   forward_only: bool) -> Tuple[float, Dict[str, Any]]:
  """The summed loss over `tokens` and each parameter's gradient (or the logits)."""
  model.zero_grad(set_to_none=True)
  total = 0.0
  logits = []
  for batch in batches:
    if forward_only:
      with torch.no_grad():
        kwargs = {k: v for k, v in batch.items() if k != "labels"}
        if "decoder_input_ids" not in kwargs:
          kwargs["decoder_input_ids"] = model._shift_right(batch["labels"])
        out = model(**kwargs).logits
        logits.append(out[batch["labels"] != batching.IGNORE_INDEX])
        total += torch.nn.functional.cross_entropy(
            out.reshape(-1, out.shape[-1]), batch["labels"].reshape(-1),
            ignore_index=batching.IGNORE_INDEX, reduction="sum").item() / tokens
      continue
    loss = batching.target_loss_sum(model, batch) / tokens
    loss.backward()
    total += loss.item()
  if forward_only:
    return total, {"logits": torch.cat(logits)}
  return total, {k: p.grad.detach().clone() for k, p in model.named_parameters()
                 if p.grad is not None}


def worst(a: Dict[str, Any], b: Dict[str, Any]) -> Tuple[float, str]:
  """The largest absolute difference over matching tensors, and where."""
  assert sorted(a) == sorted(b), (sorted(a), sorted(b))
  return max(((x - b[k]).abs().max().item(), k) for k, x in a.items())


def compare(size: str, lengths: Dict[str, int], rows: int, device: str,
            forward_only: bool, seed: int) -> float:
  """Prints each path's difference to one-by-one; returns the worst."""
  model = model_lib.load_model(size, VOCAB, dropout_rate=0.0, seed=seed)[0]
  model.to(device)
  packing.enable_packed_batches(model)
  packed_rows = fill_rows(lengths, rows, seed)
  examples = [e for row in packed_rows for e in row]
  tokens = sum(len(e["targets"]) for e in examples)
  to = lambda b: {k: v.to(device) for k, v in b.items()}
  packed = to(packing.PackedCollator(lengths)(packed_rows))
  single = [to(batching.Collator()([e])) for e in examples]
  # One by one: each example's target tokens in the packed order.
  reference = loss_and_grads(model, single, tokens, forward_only)
  results = {}
  for path in (attention.FLEX, attention.SDPA):
    attention.use(model, path)
    results[path] = loss_and_grads(model, [packed], tokens, forward_only)
    attention.use(model, attention.SDPA)
  print("model %s, lengths %s, %d rows of %d examples, %s, %s" % (
      size, lengths, rows, len(examples), device,
      "forward" if forward_only else "loss and gradients"))
  worst_all = 0.0
  for name, (a, b) in (("wt5_flex vs one-by-one", (results[attention.FLEX],
                                                   reference)),
                       ("sdpa vs one-by-one", (results[attention.SDPA],
                                               reference)),
                       ("wt5_flex vs sdpa", (results[attention.FLEX],
                                             results[attention.SDPA]))):
    loss_diff = abs(a[0] - b[0])
    tensor_diff, where = worst(a[1], b[1])
    bias = [k for k in a[1] if "relative_attention_bias" in k]
    bias_diff = max([(a[1][k] - b[1][k]).abs().max().item() for k in bias] or
                    [0.0])
    print("  %s: loss %.3g, worst %s %.3g (%s), relative bias %.3g over %d "
          "tensors" % (name, loss_diff, "logit" if forward_only else
                       "gradient", tensor_diff, where, bias_diff, len(a[1])))
    worst_all = max(worst_all, loss_diff, tensor_diff)
  return worst_all


def peak_memory(size: str, lengths: Dict[str, int], rows: int) -> None:
  """Prints max_memory_allocated of a bf16 packed step through each path."""
  for path in (attention.FLEX, attention.SDPA):
    model = model_lib.load_model(size, VOCAB, dropout_rate=0.0)[0].cuda()
    attention.use(model, path)
    packing.enable_packed_batches(model)
    batch = {k: v.cuda() for k, v in packing.PackedCollator(lengths)(
        fill_rows(lengths, rows, 1)).items()}
    for attempt in range(2):  # the first compiles FlexAttention's kernels
      torch.cuda.synchronize()
      torch.cuda.reset_peak_memory_stats()
      with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = batching.target_loss_sum(model, batch)
      loss.backward()
      model.zero_grad(set_to_none=True)
      torch.cuda.synchronize()
    print("peak memory, %s, %d rows at %s, bf16 step: %.2f GiB" % (
        path, rows, lengths, torch.cuda.max_memory_allocated() / 2**30))
    del model, batch, loss
    torch.cuda.empty_cache()


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="tiny")
  parser.add_argument("--lengths", default="128,64")
  parser.add_argument("--rows", type=int, default=4)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--forward_only", action="store_true")
  parser.add_argument("--memory_model", default="base")
  parser.add_argument("--memory_rows", type=int, default=32)
  parser.add_argument("--memory_lengths", default="512,256")
  args = parser.parse_args()
  li, lt = (int(x) for x in args.lengths.split(","))
  device = "cuda" if torch.cuda.is_available() else "cpu"
  torch.backends.cuda.matmul.allow_tf32 = False
  torch.backends.cudnn.allow_tf32 = False
  result = compare(args.model, {"inputs": li, "targets": lt}, args.rows,
                   device, args.forward_only or device == "cpu", args.seed)
  if device == "cuda" and args.memory_model:
    mi, mt = (int(x) for x in args.memory_lengths.split(","))
    peak_memory(args.memory_model, {"inputs": mi, "targets": mt},
                args.memory_rows)
  print("worst: %.3g" % result)
  return 0


if __name__ == "__main__":
  sys.exit(main())
