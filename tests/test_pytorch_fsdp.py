"""`wt5 train --fsdp`: two sharded processes (torchrun, gloo) train as one.

One process accumulating two micro-batches and two FSDP2 processes of one
micro-batch each see the same global batch each step; with Adafactor
factored over each matrix's full rows and columns the losses and the
consolidated weights must agree to float tolerance. A run resumed from the
sharded checkpoint of step 2 must give the uninterrupted run's steps 3-4.
The consolidated checkpoints are what every other command reads.
"""

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from wt5 import cli
from wt5.export import export_command as export
from wt5.pytorch import fsdp as fsdp_lib
from wt5.pytorch import train as train_lib

STEPS = 4
TOLERANCE = 1e-5
LENGTHS = {"inputs": 64, "targets": 64}
TASK = "esnli_v010"
# 4 rows of 64 a step: 1 process x 2 rows x 2 accumulation steps, or
# 2 processes x 2 rows.
FLAGS = ["--model", "tiny", "--batch_size", "2", "--tokens_per_batch", "256",
         "--learning_rate", "3e-3", "--dropout_rate", "0", "--logging_steps",
         "1", "--save_steps", "2", "--no-bf16"]


def _torchrun(args, model_dir):
  torchrun = shutil.which("torchrun") or os.path.join(
      os.path.dirname(sys.executable), "torchrun")
  env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
      [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))] +
      sys.path))
  result = subprocess.run(
      [torchrun, "--standalone", "--nproc_per_node=2", "-m", "wt5.cli",
       "train", "--model_dir", model_dir] + args,
      capture_output=True, text=True, check=False, env=env, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def _losses(model_dir, step=STEPS):
  path = os.path.join(model_dir, "checkpoint-%d" % step, "trainer_state.json")
  with open(path, encoding="utf-8") as f:
    return {h["step"]: h for h in json.load(f)["log_history"] if "loss" in h}


def _weights(checkpoint):
  from safetensors.torch import load_file
  return load_file(os.path.join(checkpoint, "model.safetensors"))


def _worst(a, b):
  assert sorted(a) == sorted(b)
  return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def runs(demo_registry):
  """One process; two FSDP processes; two FSDP processes resumed at step 2."""
  with demo_registry("wt5_fsdp", sources=["esnli"], sizes={
      "esnli": {"train": 300, "validation": 12, "test": 2}}) as reg:
    root = reg.root
    export_dir = str(root / "export")
    export.export(TASK, "train", export_dir, LENGTHS, num_examples=300,
                  data_dir=reg.data_dir)
    export.export(TASK, "validation", export_dir, LENGTHS,
                  data_dir=reg.data_dir)
    one = str(root / "one")
    train_lib.train(train_lib.TrainOptions(
        export_dir, one, model="tiny", steps=STEPS, batch_size=2,
        tokens_per_batch=256, learning_rate=3e-3, dropout_rate=0.0,
        logging_steps=1, save_steps=2, bf16=False), out=io.StringIO())
    two = str(root / "two")
    printed = _torchrun(["--export", export_dir, "--steps", str(STEPS),
                         "--fsdp", "--gradient_checkpointing"] + FLAGS,
                        two).stdout
    resumed = str(root / "resumed")
    os.makedirs(resumed)
    shutil.copytree(os.path.join(two, "checkpoint-2"),
                    os.path.join(resumed, "checkpoint-2"))
    _torchrun(["--export", export_dir, "--steps", str(STEPS), "--fsdp",
               "--resume"] + FLAGS, resumed)
    yield {"root": root, "export": export_dir, "one": one, "two": two,
           "resumed": resumed, "printed": printed, "vocab": reg.vocab_model}


def test_fsdp_outside_torchrun_is_a_clear_error(tmp_path, capsys, monkeypatch):
  import test_packing
  monkeypatch.delenv("LOCAL_RANK", raising=False)
  export_dir = test_packing.write_export(
      tmp_path / "export", test_packing.mixture_examples(20),
      {"inputs": 128, "targets": 64})
  assert cli.main(["train", "--export", export_dir, "--model_dir",
                   str(tmp_path / "m"), "--model", "tiny", "--fsdp"]) == 2
  assert capsys.readouterr().err == (
      "wt5 train: --fsdp runs under torchrun, one process per GPU: torchrun "
      "--nproc_per_node=N -m wt5.cli train ... --fsdp (N=1 on one GPU)\n")
  assert not os.path.exists(tmp_path / "m")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_sharded_processes_train_as_one(runs):
  single, sharded = _losses(runs["one"]), _losses(runs["two"])
  assert sorted(sharded) == [1, 2, 3, 4]
  for step in sharded:
    assert abs(single[step]["loss"] - sharded[step]["loss"]) <= TOLERANCE, (
        single, sharded)
    assert single[step]["examples_per_step"] == sharded[step]["examples_per_step"]
  assert single[1]["examples_per_step"] > 4  # several examples a row
  assert "Trained to step 4" in runs["printed"]
  for step in (2, 4):
    checkpoint = os.path.join(runs["two"], "checkpoint-%d" % step)
    assert _worst(_weights(os.path.join(runs["one"], "checkpoint-%d" % step)),
                  _weights(checkpoint)) <= TOLERANCE
    assert sorted(os.listdir(os.path.join(checkpoint, "pytorch_model_fsdp_0"))
                  ) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert fsdp_lib.read_record(checkpoint)["processes"] == 2


@pytest.mark.slow
def test_resumed_run_gives_the_uninterrupted_steps(runs):
  uninterrupted, resumed = _losses(runs["two"]), _losses(runs["resumed"])
  for step in (3, 4):
    assert abs(uninterrupted[step]["loss"] - resumed[step]["loss"]) <= TOLERANCE
  assert _worst(_weights(os.path.join(runs["two"], "checkpoint-4")),
                _weights(os.path.join(runs["resumed"], "checkpoint-4"))
                ) <= TOLERANCE
  with pytest.raises(fsdp_lib.CheckpointError, match=(
      r"checkpoint-2 was written by 2 processes; --resume needs the same "
      r"number, not 1")):
    fsdp_lib.check_resume(os.path.join(runs["resumed"], "checkpoint-2"), 1)


@pytest.mark.slow
def test_consolidated_checkpoint_is_read_by_evaluate_and_convert(runs):
  from wt5.mtf import convert
  from wt5.pytorch import evaluate as evaluate_lib
  out = io.StringIO()
  results = evaluate_lib.evaluate(runs["two"], runs["export"], steps=[4],
                                  out=out)
  assert sorted(results[TASK]) == [4]
  assert "eval/esnli_v010/accuracy at step 4" in out.getvalue()
  mesh = str(runs["root"] / "mesh")
  prefix, shape = convert.to_mesh(runs["two"], mesh)
  assert prefix.endswith("model.ckpt-4") and shape.num_heads == 4
  back, _ = convert.to_hf(mesh, str(runs["root"] / "back"),
                          vocab_model=runs["vocab"])
  assert _worst(_weights(os.path.join(runs["two"], "checkpoint-4")),
                _weights(back)) == 0.0


@pytest.mark.slow
def test_consolidate_rewrites_the_model_from_the_shards(runs, capsys):
  copy = str(runs["root"] / "copy")
  shutil.copytree(os.path.join(runs["two"], "checkpoint-4"),
                  os.path.join(copy, "checkpoint-4"))
  for name in ("model.safetensors", "config.json"):
    os.remove(os.path.join(copy, "checkpoint-4", name))
  assert cli.main(["train", "--consolidate", copy]) == 0
  assert "Consolidated %s/checkpoint-4" % copy in capsys.readouterr().out
  assert _worst(_weights(os.path.join(runs["two"], "checkpoint-4")),
                _weights(os.path.join(copy, "checkpoint-4"))) == 0.0
  assert cli.main(["train", "--consolidate", runs["one"]]) == 2
  assert ("holds no sharded checkpoint of `wt5 train --fsdp`" in
          capsys.readouterr().err)
