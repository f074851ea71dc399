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
    python benchmarks/torch_mfu.py --export ... --attn_implementation sdpa
    python benchmarks/torch_mfu.py --export ... --torch_compile --profile
    python benchmarks/torch_mfu.py --export ... --no-pack --batch_size 256
    torchrun --nproc_per_node=8 benchmarks/torch_mfu.py --export ... --batch_size 16

The attention path is `wt5 train`'s (`--attn_implementation auto`: wt5_flex
for packed rows on a GPU when the attention dropout is 0, else sdpa); the
first line names the one used. With `--no-pack` (one example a row, padded
to the batch's longest) the model FLOPs are each trained example's own.
`--profile` adds the top kernels of 3 profiled steps and their share of the
device time (torch.profiler). The last line is `mfu: X.XX` (a fraction of
the peak).
"""

import argparse
import os
import sys
import tempfile
from typing import Any, List

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


class ProfileSteps:
  """Profiles `count` training steps from step `first` with torch.profiler."""

  def __init__(self, first: int, count: int):
    self.first, self.count = first, count
    self.profiler: Any = None
    self.table = "(no steps profiled)"

  def callback(self) -> Any:
    import torch
    import transformers
    outer = self

    class Callback(transformers.TrainerCallback):
      """Starts the profiler before step `first`, stops it after `count` steps."""

      def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == outer.first and outer.profiler is None:
          activities = [torch.profiler.ProfilerActivity.CPU]
          if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
          outer.profiler = torch.profiler.profile(activities=activities)
          outer.profiler.__enter__()

      def on_step_end(self, args, state, control, **kwargs):
        if (outer.profiler is not None and
            state.global_step == outer.first + outer.count):
          if torch.cuda.is_available():
            torch.cuda.synchronize()
          outer.profiler.__exit__(None, None, None)
          outer.table = top_kernels(outer.profiler, outer.count)

    return Callback()


def top_kernels(profiler: Any, steps: int, limit: int = 15) -> str:
  """The kernels with the most device time, their share and time per step."""
  events = [e for e in profiler.key_averages()
            if getattr(e, "self_device_time_total", 0) > 0]
  total = sum(e.self_device_time_total for e in events)
  events.sort(key=lambda e: -e.self_device_time_total)
  lines: List[str] = ["top kernels over %d steps (device time %.1f ms a step):"
                      % (steps, total / 1e3 / steps)]
  for e in events[:limit]:
    lines.append("  %5.1f%%  %8.2f ms/step  %s" % (
        100.0 * e.self_device_time_total / total,
        e.self_device_time_total / 1e3 / steps, e.key[:90]))
  return "\n".join(lines)


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
                      help="auto (default), wt5_flex, sdpa or eager.")
  parser.add_argument("--attention_dropout", type=float, default=None,
                      help="Default: the dropout rate (0.1), as wt5 train.")
  parser.add_argument("--pack", action=argparse.BooleanOptionalAction,
                      default=True)
  parser.add_argument("--num_workers", type=int, default=None)
  parser.add_argument("--torch_compile", action="store_true")
  parser.add_argument("--profile", action="store_true",
                      help="Print the top kernels of 3 steps (torch.profiler).")
  args = parser.parse_args()
  import torch

  export = Export(args.export)
  lengths = export.sequence_length
  device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
  peak = args.peak_tflops or peak_tflops(device)
  profiler = ProfileSteps(first=max(2, args.steps - 4), count=3)
  with tempfile.TemporaryDirectory(prefix="wt5_mfu_") as model_dir:
    summary = train_lib.train(train_lib.TrainOptions(
        args.export, model_dir, model=args.model, steps=args.steps,
        batch_size=args.batch_size,
        tokens_per_batch=args.tokens_per_batch if args.pack else None,
        pack=args.pack, save_steps=args.steps + 1, logging_steps=10,
        bf16=args.bf16, attn_implementation=args.attn_implementation,
        attention_dropout=args.attention_dropout, num_workers=args.num_workers,
        torch_compile=args.torch_compile), out=sys.stderr,
        callbacks=[profiler.callback()] if args.profile else ())
  vocab_size = export.vocabulary.size
  if args.model in model_lib.PRESETS:
    config = model_lib.preset_config(args.model, vocab_size)
  else:
    import transformers
    config = transformers.T5Config.from_pretrained(args.model)
  examples = export.examples("train")
  world = train_lib.world_size()
  steps_per_s = summary["steps"] / summary["seconds"]
  if args.pack:
    rows = packing.pack_examples(examples, lengths)
    achieved = steps_per_s * summary["rows_per_step"] * flops_per_row(config,
                                                                       rows)
  else:
    achieved = steps_per_s * summary["examples_per_step"] * flops_per_row(
        config, [[e] for e in examples])
  mfu = achieved / (peak * 1e12 * world)
  if int(os.environ.get("RANK", "0")) == 0:
    print("device: %s x %d, bf16 %s, model %s, lengths %s, %d rows/step, "
          "%.0f examples/step, %.2f of positions real, attention %s, "
          "compiled %s, packed %s" % (
              device, world, summary["bf16"], args.model, lengths,
              summary["rows_per_step"], summary["examples_per_step"],
              summary["real_token_fraction"], summary["attention"],
              args.torch_compile, args.pack))
    if summary.get("first_step_seconds") is not None:
      print("first step: %.1f s (start-up and compilation)" %
            summary["first_step_seconds"])
    if args.profile:
      print(profiler.table)
    print("real tokens/s: %.0f, steps/s: %.3f, model TFLOP/s: %.1f "
          "(peak %.0f per device)" % (summary["tokens_per_second"],
                                      steps_per_s, achieved / 1e12, peak))
    print("mfu: %.2f" % mfu)
  return 0


if __name__ == "__main__":
  sys.exit(main())
