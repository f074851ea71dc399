"""GPU throughput and model-FLOPs utilisation (MFU) of `wt5 train`.

Trains a T5 of a preset size (default T5-base) from scratch on a `wt5 export`
with every batch padded to the export's full lengths (e-SNLI: 512 inputs,
256 targets) in bf16, and measures steady tokens/s (non-padding input and
target tokens, from the progress callback) and MFU:

    MFU = steps/s x examples per step x model FLOPs per example / peak FLOP/s

with the FLOPs of `wt5.pytorch.model.model_flops_per_example` (forward and
backward matrix multiplications) and the card's dense bf16 peak (looked up by
name, or `--peak_tflops`). Runs without TensorFlow; make the export on a
machine that has it and copy it over:

    wt5 export esnli_v010 --split train --num_examples 200000 \\
        --sequence_length 512,256 --output_dir exports/esnli_512
    python benchmarks/torch_mfu.py --export exports/esnli_512 --batch_size 32
    torchrun --nproc_per_node=8 benchmarks/torch_mfu.py --export ... (per-GPU figures)

The last line is `mfu: X.XX` (a fraction of the peak).
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from wt5.export import files as export_data  # pylint: disable=g-import-not-at-top,wrong-import-position
from wt5.pytorch import model as model_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from wt5.pytorch import train as train_lib  # pylint: disable=g-import-not-at-top,wrong-import-position

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


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--export", required=True)
  parser.add_argument("--model", default="base")
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--grad_accum", type=int, default=1)
  parser.add_argument("--peak_tflops", type=float, default=None)
  parser.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                      default=None)
  args = parser.parse_args()
  import torch  # pylint: disable=g-import-not-at-top

  manifest = export_data.read_manifest(args.export)
  lengths = manifest["sequence_length"]
  if torch.cuda.is_available():
    device = torch.cuda.get_device_name(0)
  else:
    device = "cpu"
  peak = args.peak_tflops or peak_tflops(device)
  with tempfile.TemporaryDirectory(prefix="wt5_mfu_") as model_dir:
    summary = train_lib.train(train_lib.TrainOptions(
        args.export, model_dir, model=args.model, steps=args.steps,
        batch_size=args.batch_size, grad_accum=args.grad_accum,
        save_steps=args.steps + 1, logging_steps=10, pad_to_length=True,
        bf16=args.bf16), out=open(os.devnull, "w"))
  config = model_lib.preset_config(args.model, int(
      manifest["vocabulary"]["size"])) if args.model in model_lib.PRESETS else None
  if config is None:
    import transformers  # pylint: disable=g-import-not-at-top
    config = transformers.T5Config.from_pretrained(args.model)
  world = train_lib.world_size()
  steps_per_s = summary["steps"] / summary["seconds"]
  examples_per_step = args.batch_size * args.grad_accum * world
  flops = model_lib.model_flops_per_example(config, lengths["inputs"],
                                            lengths["targets"])
  achieved = steps_per_s * examples_per_step * flops
  mfu = achieved / (peak * 1e12 * world)
  if int(os.environ.get("RANK", "0")) == 0:
    print("device: %s x %d, bf16 %s, model %s, lengths %s, %d examples/step" % (
        device, world, summary["bf16"], args.model, lengths, examples_per_step))
    print("tokens/s: %.0f (non-padding), steps/s: %.3f, model TFLOP/s: %.1f "
          "(peak %.0f per device)" % (summary["tokens_per_second"],
                                      steps_per_s, achieved / 1e12, peak))
    print("mfu: %.2f" % mfu)
  return 0


if __name__ == "__main__":
  sys.exit(main())
