"""`wt5 train --fsdp --gradient_checkpointing` on one GPU: the plan against the measured peak.

Picks the largest T5 size whose `wt5 train --plan` peak fits the GPU
(`--model auto`: 11B, 3B, large, base in that order; or `--model SIZE`),
trains it from scratch for `--steps` steps (default 20) in bf16 with FSDP2
(one process: the shards are whole, the code path is the sharded one) and
activation checkpointing on a packed `wt5 export`, and prints the plan's
peak, `torch.cuda.max_memory_allocated`, their ratio, and real tokens/s
(non-padding input and target tokens, as `wt5 train` counts them). No
checkpoint is written. Runs without TensorFlow:

    python benchmarks/fsdp_gpu.py --export exports/esnli_512

On a CPU it runs the same path with gloo (for checking the script, e.g.
`--model tiny --no-bf16`); there is no measured peak there.

The last line is `plan/measured: X.XX`.
"""

import argparse
import io
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from wt5.formats.export import Export
from wt5.pytorch import memory_plan
from wt5.pytorch import model as model_lib
from wt5.pytorch import train as train_lib

CANDIDATES = ("11B", "3B", "large", "base")
# What the plan may use of the GPU's memory (the CUDA context, the caching
# allocator's fragmentation and NCCL buffers take the rest).
HEADROOM = 0.9


def single_process_group() -> None:
  """Makes this process a torchrun job of one process (FSDP needs a process group)."""
  for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"),
                     ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29517")):
    os.environ.setdefault(key, value)


def choose_size(options: train_lib.TrainOptions, memory_gb: float,
                bf16: bool, out) -> tuple:
  """The largest candidate whose plan fits HEADROOM x memory_gb: (size, plan)."""
  sizes = CANDIDATES if options.model == "auto" else (options.model,)
  for size in sizes:
    p = memory_plan.plan_of_run(
        train_lib.dataclasses.replace(options, model=size), 1, bf16)
    print("%s: plan peak %.2f GiB" % (size, p.peak / memory_plan.GIB),
          file=out, flush=True)
    if options.model != "auto" or memory_plan.fits(p, HEADROOM * memory_gb):
      return size, p
  raise SystemExit("no size of %s fits %g GB" % (", ".join(sizes), memory_gb))


def on_device(load_model, device):
  """`load_model` building the model directly on `device` (fast init on a GPU)."""
  import torch

  def load(*args, **kwargs):
    with torch.device(device):
      return load_model(*args, **kwargs)
  return load


def without_checkpoints() -> None:
  """Keeps the Trainer from saving (its save at the last step included)."""
  from transformers import trainer_callback
  flow = trainer_callback.DefaultFlowCallback
  step_end = flow.on_step_end

  def on_step_end(self, args, state, control, **kwargs):
    control = step_end(self, args, state, control, **kwargs)
    control.should_save = False
    return control
  flow.on_step_end = on_step_end


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--export", required=True, help="A packed `wt5 export`.")
  parser.add_argument("--model", default="auto",
                      help="A size, or auto: the largest of %s that fits." %
                      ", ".join(CANDIDATES))
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--batch_size", type=int, default=4,
                      help="Rows per micro-batch (one micro-batch a step).")
  parser.add_argument("--gpu_memory_gb", type=float, default=None,
                      help="Default: the GPU's memory (required on a CPU).")
  parser.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                      default=True)
  args = parser.parse_args(argv)
  import torch

  single_process_group()
  without_checkpoints()
  out = sys.stdout
  cuda = torch.cuda.is_available()
  memory_gb = args.gpu_memory_gb or memory_plan.device_memory_gb()
  if memory_gb is None:
    raise SystemExit("no GPU: pass --gpu_memory_gb to plan for one")
  lengths = Export(args.export).sequence_length
  with tempfile.TemporaryDirectory() as model_dir:
    options = train_lib.TrainOptions(
        args.export, model_dir, model=args.model, steps=args.steps,
        batch_size=args.batch_size, bf16=args.bf16, fsdp=True,
        gradient_checkpointing=True, logging_steps=args.steps,
        save_steps=10 * args.steps, learning_rate=1e-3,
        gpu_memory_gb=memory_gb)
    size, plan = choose_size(options, memory_gb, args.bf16, out)
    options = train_lib.dataclasses.replace(options, model=size)
    print("training %s, %d rows of %s a step, %d steps, bf16 %s" % (
        size, args.batch_size, dict(lengths), args.steps, args.bf16),
          file=out, flush=True)
    if cuda:
      model_lib.load_model = on_device(model_lib.load_model, "cuda")
      torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    summary = train_lib.train(options, out=io.StringIO())
    seconds = time.perf_counter() - start
    written = sorted(os.listdir(model_dir))
  measured = torch.cuda.max_memory_allocated() if cuda else None
  print("\n".join(memory_plan.describe(plan, memory_gb)), file=out)
  print("steps: %d in %.1f s; loss %.4f" % (
      summary["global_step"], seconds, summary["train_loss"]), file=out)
  print("tokens/s: %.0f (real tokens, after the first step)" %
        summary["tokens_per_second"], file=out)
  print("files written in the model dir: %s" % (written or "none"), file=out)
  print("plan peak: %.2f GiB" % (plan.peak / memory_plan.GIB), file=out)
  if measured is None:
    print("measured peak: n/a (no GPU)", file=out)
    return 0
  print("measured peak (max_memory_allocated): %.2f GiB" % (
      measured / memory_plan.GIB), file=out)
  print("plan/measured: %.2f" % (plan.peak / measured), file=out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
