"""GPU throughput and model-FLOPs utilisation (MFU) of `wt5 train`, real tokens only.

Trains a T5 of a preset size (default T5-base) from scratch on a `wt5 export`
(e-SNLI at the 2020 lengths: 512 inputs, 256 targets), with examples packed
into rows and the paper's `--tokens_per_batch 65536` (128 rows of 512 a
step), in bf16, and measures steady real tokens/s (non-padding input and
target tokens, counted by the trainer) and MFU:

    MFU = steps/s x model FLOPs per step / (peak FLOP/s x devices)
    model FLOPs per step = rows per step x mean over packed rows of
        sum over the row's examples of model_flops_per_example(li, lt)

where li and lt are each example's own input and target tokens and
`wt5.pytorch.model.model_flops_per_example` counts the matrix
multiplications of forward and backward (3 x 2 x multiply-adds: q, k, v, o
projections, attention scores and values over the example's own tokens,
feed-forward, logits). Padding and attention across packed examples (which
the masks discard) count nothing; the card's dense bf16 peak is looked up by
name, or `--peak_tflops`. Runs without TensorFlow; make the export on a
machine that has it and copy it over:

    wt5 export esnli_v010 --split train --num_examples 200000 \\
        --sequence_length 512,256 --output_dir exports/esnli_512
    python benchmarks/torch_mfu.py --export exports/esnli_512 --batch_size 32
    python benchmarks/torch_mfu.py --export ... --attn_implementation eager
    python benchmarks/torch_mfu.py --export ... --torch_compile
    torchrun --nproc_per_node=8 benchmarks/torch_mfu.py --export ... --batch_size 16

The last line is `mfu: X.XX` (a fraction of the peak).
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from wt5.formats.export import Export
from wt5.pytorch import model as model_lib
from wt5.pytorch import packing
from wt5.pytorch import train as train_lib

# Dense bf16 tensor-core peaks (TFLOP/s, without sparsity) by device name.
PEAK_TFLOPS = (("H200", 989.0), ("H100 SXM", 989.0), ("H100 80GB HBM3", 989.0),
               ("H100 PCIe", 756.0), ("H100", 756.0), ("A100", 312.0),
               ("L40S", 362.0), ("A10G", 125.0), ("L4", 121.0))


def peak_tflops(device_name: str) -> float:
  """The card's bf16 peak: peak_tflops("NVIDIA H100 80GB HBM3") -> 989.0."""
  for key, value in PEAK_TFLOPS:
    if key in device_name:
      return value
  raise SystemExit("unknown peak for %r; pass --peak_tflops" % device_name)


def flops_per_row(config, rows) -> float:
  """Mean model FLOPs of the real tokens of a packed row (see the docstring)."""
  total = sum(model_lib.model_flops_per_example(
      config, len(e["inputs"]), len(e["targets"])) for row in rows for e in row)
  return total / len(rows)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--export", required=True)
  parser.add_argument("--model", default="base")
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--batch_size", type=int, default=32,
                      help="Packed rows per device and micro-batch.")
  parser.add_argument("--tokens_per_batch", type=int, default=65536)
  parser.add_argument("--peak_tflops", type=float, default=None)
  parser.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                      default=None)
  parser.add_argument("--attn_implementation", default=None,
                      help="sdpa (the default of transformers) or eager.")
  parser.add_argument("--torch_compile", action="store_true")
  args = parser.parse_args()
  import torch

  export = Export(args.export)
  lengths = export.sequence_length
  device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
  peak = args.peak_tflops or peak_tflops(device)
  with tempfile.TemporaryDirectory(prefix="wt5_mfu_") as model_dir:
    summary = train_lib.train(train_lib.TrainOptions(
        args.export, model_dir, model=args.model, steps=args.steps,
        batch_size=args.batch_size, tokens_per_batch=args.tokens_per_batch,
        save_steps=args.steps + 1, logging_steps=10, bf16=args.bf16,
        attn_implementation=args.attn_implementation,
        torch_compile=args.torch_compile), out=open(os.devnull, "w"))
  vocab_size = export.vocabulary.size
  if args.model in model_lib.PRESETS:
    config = model_lib.preset_config(args.model, vocab_size)
  else:
    import transformers
    config = transformers.T5Config.from_pretrained(args.model)
  rows = packing.pack_examples(
      export.examples("train"), lengths)
  world = train_lib.world_size()
  steps_per_s = summary["steps"] / summary["seconds"]
  achieved = steps_per_s * summary["rows_per_step"] * flops_per_row(config,
                                                                     rows)
  mfu = achieved / (peak * 1e12 * world)
  if int(os.environ.get("RANK", "0")) == 0:
    print("device: %s x %d, bf16 %s, model %s, lengths %s, %d rows/step, "
          "%.0f examples/step, %.2f of positions real, attention %s, "
          "compiled %s" % (
              device, world, summary["bf16"], args.model, lengths,
              summary["rows_per_step"], summary["examples_per_step"],
              summary["real_token_fraction"],
              args.attn_implementation or "default", args.torch_compile))
    print("real tokens/s: %.0f, steps/s: %.3f, model TFLOP/s: %.1f "
          "(peak %.0f per device)" % (summary["tokens_per_second"],
                                      steps_per_s, achieved / 1e12, peak))
    print("mfu: %.2f" % mfu)
  return 0


if __name__ == "__main__":
  sys.exit(main())
