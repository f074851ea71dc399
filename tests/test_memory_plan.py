"""`wt5 train --plan`: the memory per device, against measured peaks and the README.

On the CPU the peak of a real training step (two accumulated micro-batches
and Adafactor's step, every tensor counted by torch's `MemTracker`) must be
within 25% of the plan's, for the small shapes with and without activation
checkpointing. The README's table for WT5-11B on 8 GPUs must be the plan's.
"""

import os
import re

import pytest

import test_packing
from wt5 import cli
from wt5.pytorch import memory_plan
from wt5.pytorch import model as model_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A small vocabulary: the layers' activations, not the logits, make most of
# the peak, so that a plan that got the depth wrong fails (cpu_base).
VOCAB = 512
LENGTHS = {"inputs": 128, "targets": 64}
PLAN_TOLERANCE = 0.25


def measured_peak(size, batch_size, lengths, gradient_checkpointing):
  """Peak bytes of one real step of `wt5 train` (float32, one process) on the CPU."""
  import torch
  import transformers
  from torch.distributed._tools import mem_tracker
  from wt5.pytorch import batching
  from wt5.pytorch import packing
  model, _ = model_lib.load_model(size, VOCAB, 0.1)
  packing.enable_packed_batches(model)
  if gradient_checkpointing:
    model.gradient_checkpointing_enable(
        gradient_checkpointing_kwargs={"use_reentrant": False})
  model.train()
  optimizer = transformers.optimization.Adafactor(
      model.parameters(), lr=1e-3, scale_parameter=False, relative_step=False)
  li, lt = lengths["inputs"], lengths["targets"]
  generator = torch.Generator().manual_seed(0)
  batch = {"input_ids": torch.randint(2, VOCAB, (batch_size, li),
                                      generator=generator),
           "labels": torch.randint(2, VOCAB, (batch_size, lt),
                                   generator=generator),
           "inputs_segment_ids": torch.ones(batch_size, li, dtype=torch.long),
           "targets_segment_ids": torch.ones(batch_size, lt, dtype=torch.long)}
  batch["decoder_input_ids"] = model._shift_right(batch["labels"])
  tracker = mem_tracker.MemTracker()
  tracker.track_external(model, optimizer)
  with tracker:
    for _ in range(2):  # two micro-batches accumulate, then the step
      tracker.reset_mod_stats()
      batching.target_loss_sum(model, batch).backward()
    optimizer.step()
  return sum(snap["Total"] for snap in tracker.get_tracker_snapshot(
      "peak").values())


def test_adafactor_state_and_units_are_counted_from_the_shapes():
  assert memory_plan.optimizer_values((1024, 65536)) == 66560
  assert memory_plan.optimizer_values((1024,)) == 1024
  shapes = memory_plan.parameter_shapes(model_lib.preset_config("tiny", 100))
  assert shapes["shared.weight"] == (100, 64)
  assert "lm_head.weight" not in shapes  # tied to the shared embedding
  units = memory_plan.block_parameters(shapes)
  assert sorted(units) == ["", "decoder.block.0", "decoder.block.1",
                           "encoder.block.0", "encoder.block.1"]
  # Root: the embedding and the two final layer norms.
  assert units[""] == 100 * 64 + 2 * 64
  # An encoder block: q, k, v, o, the relative bias of block 0, 2 norms, wi, wo.
  assert units["encoder.block.1"] == 4 * 64 * 64 + 2 * 64 + 2 * 64 * 256


@pytest.mark.slow
@pytest.mark.parametrize("size,gradient_checkpointing",
                         [("tiny", False), ("cpu_base", True)])
def test_plan_is_within_25_percent_of_the_measured_peak(
    size, gradient_checkpointing):
  plan = memory_plan.plan(model_lib.preset_config(size, VOCAB), 1, False, 2,
                          LENGTHS, False, gradient_checkpointing)
  measured = measured_peak(size, 2, LENGTHS, gradient_checkpointing)
  assert abs(plan.peak - measured) <= PLAN_TOLERANCE * measured, (
      plan, measured)


def test_train_without_export_or_model_dir_is_a_clear_error(capsys):
  assert cli.main(["train", "--model", "tiny", "--plan"]) == 2
  assert capsys.readouterr().err == (
      "wt5 train: --export and --model_dir are required (or --consolidate "
      "MODEL_DIR alone)\n")


@pytest.mark.slow
def test_plan_command_says_whether_the_run_fits(tmp_path, capsys,
                                                monkeypatch):
  monkeypatch.setenv("LOCAL_RANK", "0")  # as torchrun sets it
  monkeypatch.setenv("WORLD_SIZE", "1")
  export = test_packing.write_export(
      tmp_path / "export", test_packing.mixture_examples(20), LENGTHS)
  args = ["train", "--plan", "--export", export, "--model_dir",
          str(tmp_path / "m"), "--model", "tiny", "--fsdp", "--processes",
          "2", "--batch_size", "2", "--no-bf16"]
  assert cli.main(args + ["--gpu_memory_gb", "1"]) == 0
  printed = capsys.readouterr().out
  assert re.search(r"^\d+ parameters; per device with 2 process\(es\), "
                   r"--fsdp:$", printed, re.M), printed
  assert "weights (float32, 1/2)" in printed
  assert printed.rstrip().endswith("fits 1 GB per device")
  assert cli.main(args + ["--gpu_memory_gb", "0.001"]) == 1
  assert capsys.readouterr().out.rstrip().endswith(
      "does NOT fit 0.001 GB per device")
  # Training what does not fit is refused before the model is loaded.
  assert cli.main([a for a in args if a != "--plan"] +
                  ["--gpu_memory_gb", "0.001"]) == 2
  err = capsys.readouterr().err
  assert re.match(r"wt5 train: the run needs 0\.\d+ GiB per device and the "
                  r"device has 0\.001 GB:\n\d+ parameters; per device with 1 "
                  r"process\(es\), --fsdp:\n", err), err
  assert not os.path.exists(tmp_path / "m")


@pytest.mark.slow
def test_readme_table_for_wt5_11b_on_8_gpus_is_the_plans():
  plan = memory_plan.plan(model_lib.preset_config("11B", 32128), 8, True, 4,
                          {"inputs": 512, "targets": 256}, True, True)
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    readme = f.read()
  for line in memory_plan.describe(plan, 80):
    assert line in readme, line
