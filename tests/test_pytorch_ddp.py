"""torch DDP: two processes (`torchrun`, gloo on the CPU) train as one.

With the same `--tokens_per_batch`, one process accumulating two
micro-batches and two DDP processes of one micro-batch each see the same
global batch each step, so the logged losses, the norms of each step's
gradient (the Trainer logs it before clipping), the batch figures and the
trained weights must agree to float tolerance. Adafactor's updates do not
change when a gradient is scaled by a constant, so the weights alone would
not show a wrongly scaled gradient; the gradient norms do.
"""

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

import test_packing
from wt5.pytorch import train as train_lib

STEPS = 4
TOLERANCE = 1e-5
LENGTHS = {"inputs": 128, "targets": 64}
# 4 rows of 128 a step: 1 process x 2 rows x 2 accumulation steps, or
# 2 processes x 2 rows.
FLAGS = ["--model", "tiny", "--steps", str(STEPS), "--batch_size", "2",
         "--tokens_per_batch", "512", "--learning_rate", "3e-3",
         "--dropout_rate", "0", "--logging_steps", "1", "--save_steps",
         str(STEPS), "--no-bf16"]


def _history(model_dir):
  path = os.path.join(model_dir, "checkpoint-%d" % STEPS, "trainer_state.json")
  with open(path, encoding="utf-8") as f:
    return [h for h in json.load(f)["log_history"] if "loss" in h]


def _weights(model_dir):
  from safetensors.torch import load_file
  return load_file(os.path.join(model_dir, "checkpoint-%d" % STEPS,
                                "model.safetensors"))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_two_processes_train_as_one(tmp_path):
  torchrun = shutil.which("torchrun") or os.path.join(
      os.path.dirname(sys.executable), "torchrun")
  export = test_packing.write_export(
      tmp_path / "export", test_packing.mixture_examples(300, seed=3),
      LENGTHS)
  one = str(tmp_path / "one")
  summary = train_lib.train(train_lib.TrainOptions(
      export, one, model="tiny", steps=STEPS, batch_size=2,
      tokens_per_batch=512, learning_rate=3e-3, dropout_rate=0.0,
      logging_steps=1, save_steps=STEPS, bf16=False), out=io.StringIO())
  assert summary["grad_accum"] == 2 and summary["rows_per_step"] == 4
  two = str(tmp_path / "two")
  env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
      [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))] +
      sys.path))
  result = subprocess.run(
      [torchrun, "--standalone", "--nproc_per_node=2", "-m", "wt5.cli",
       "train", "--export", export, "--model_dir", two] + FLAGS,
      capture_output=True, text=True, check=False, env=env, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Trained to step %d" % STEPS in result.stdout
  single, ddp = _history(one), _history(two)
  assert [h["step"] for h in single] == [h["step"] for h in ddp] == [1, 2, 3, 4]
  for a, b in zip(single, ddp):
    assert abs(a["loss"] - b["loss"]) <= TOLERANCE, (single, ddp)
    assert abs(a["grad_norm"] - b["grad_norm"]) <= TOLERANCE * a["grad_norm"], (
        single, ddp)
    assert a["examples_per_step"] == b["examples_per_step"]
    assert a["real_token_fraction"] == b["real_token_fraction"]
  assert single[0]["examples_per_step"] > 4  # several examples a row
  assert single[-1]["loss"] < single[0]["loss"]
  w1, w2 = _weights(one), _weights(two)
  assert sorted(w1) == sorted(w2)
  worst = max((w1[k] - w2[k]).abs().max().item() for k in w1)
  assert worst <= TOLERANCE, worst
