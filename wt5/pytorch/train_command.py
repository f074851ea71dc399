"""`wt5 train`: the command line of `wt5.pytorch.train`.

    wt5 train --export exports/esnli_mnli --model_dir runs/base --model base
    torchrun --nproc_per_node=8 -m wt5.cli train --export ... --model_dir ...
    wt5 train --export ... --model_dir ... --model xl --fsdp --plan --processes 8
    wt5 train --consolidate runs/xl

Its options are the fields of `TrainOptions` (each declared there once),
plus `--consolidate` (`wt5.pytorch.fsdp`) and `--plan`, `--processes`
(`wt5.pytorch.memory_plan`).
"""

import argparse
import os
import sys

from wt5 import cli_options
from wt5.formats.export import ExportError
from wt5.pytorch import attention
from wt5.pytorch import batching
from wt5.pytorch import fsdp as fsdp_lib
from wt5.pytorch import memory_plan
from wt5.pytorch import model as model_lib
from wt5.pytorch import train as train_lib
from wt5.pytorch.train import TrainOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 train`: `TrainOptions`' fields, then the modes."""
  cli_options.add_dataclass_options(parser, TrainOptions)
  fsdp_lib.add_arguments(parser)
  memory_plan.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 train`."""
  options = cli_options.from_args(TrainOptions, args)
  try:
    if args.consolidate:
      for path in fsdp_lib.consolidate_model_dir(args.consolidate):
        print("Consolidated %s" % path)
      return 0
    if not (options.export_dir and options.model_dir):
      raise batching.BatchError("--export and --model_dir are required (or "
                                "--consolidate MODEL_DIR alone)")
    if args.plan:
      bf16 = True if options.bf16 is None else options.bf16
      processes = args.processes or train_lib.world_size()
      p = memory_plan.plan_of_run(options, processes, bf16)
      memory = options.gpu_memory_gb or memory_plan.device_memory_gb()
      print("\n".join(memory_plan.describe(p, memory)))
      return 0 if memory is None or memory_plan.fits(p, memory) else 1
    summary = train_lib.train(options)
  except (ExportError, model_lib.ModelError,
          batching.BatchError, fsdp_lib.FsdpError,
          memory_plan.PlanError, attention.AttentionError) as e:
    print("wt5 train: %s" % e, file=sys.stderr)
    return 2
  if int(os.environ.get("RANK", "0")) == 0:
    print("Trained to step %d (loss %.4f), %.0f tokens/s, %.1f examples a "
          "step, %.0f%% of positions real tokens; checkpoints in %s" % (
              summary["global_step"], summary["train_loss"],
              summary.get("tokens_per_second", 0.0),
              summary.get("examples_per_step", 0.0),
              100 * summary.get("real_token_fraction", 0.0),
              options.model_dir))
  return 0
