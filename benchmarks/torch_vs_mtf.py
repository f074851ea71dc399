"""Training throughput on this CPU: PyTorch route vs the stock t5_mesh_transformer.

Both train the same Transformer (the demo's "small" shape: d_model 128, d_ff
512, d_kv 32, 4 heads, 2 encoder and 2 decoder layers, ReLU, 2,000-id demo
vocabulary) from scratch for the same number of steps on the same mixture
(`esnli_mnli_all_explanations` of the embedded demo data), at the same
sequence lengths (128 inputs, 64 targets), the same batch shape (16 rows =
`tokens_per_batch` 2048 / 128) and constant learning rate 1e-3:

- mtf: `t5_mesh_transformer` reading the registered mixture through seqio
  (packed examples, the binary's default);
- torch: `wt5 export` of the same mixture, then `wt5 train` (Seq2SeqTrainer,
  Adafactor), every batch padded to the full 128/64 lengths.

Throughput is counted the same way for both: sequence positions processed
(rows x (128 + 64) per step) per second of steady training, from the first
logged step to the last (start-up, graph building and the first step
excluded); the wall time of each whole run is printed too. torch runs with
OMP_WAIT_POLICY=PASSIVE, as `wt5 train` sets it: on a shared, loaded CPU
OpenMP's spinning threads make each step several times slower. The last line is
`torch_over_mtf: X.XX`, the ratio of the two steady rates.

    .venv/bin/python benchmarks/torch_vs_mtf.py [--steps 300] [--workdir DIR]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from wt5.demo import command as demo  # pylint: disable=g-import-not-at-top,wrong-import-position
from wt5.mtf import binary as mtf_binary  # pylint: disable=g-import-not-at-top,wrong-import-position

MIXTURE = "esnli_mnli_all_explanations"
LENGTHS = {"inputs": 128, "targets": 64}
TOKENS_PER_BATCH = 2048
ROWS = TOKENS_PER_BATCH // max(LENGTHS.values())
POSITIONS_PER_STEP = ROWS * sum(LENGTHS.values())
LEARNING_RATE = 1e-3
SIZE = "small"  # demo.MODEL_SIZES


def prepare(workdir: str) -> str:
  """Writes the demo data and vocabulary once; returns the vocabulary path."""
  data_dir = os.path.join(workdir, "data")
  vocab = os.path.join(data_dir, "vocab", "wt5_demo.model")
  if not os.path.exists(vocab):
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "wt5"),
                    "data", "--data_dir", data_dir, "--vocab"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  return vocab


def steady_rate(times):
  """Steps per second between the first and last (step, time) observation."""
  (s0, t0), (s1, t1) = times[0], times[-1]
  return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else float("nan")


def run_mtf(workdir: str, env, steps: int):
  """Trains with t5_mesh_transformer; returns (steps/s, wall seconds)."""
  model_dir = os.path.join(workdir, "mtf")
  shutil.rmtree(model_dir, ignore_errors=True)
  settings = mtf_binary.RunSettings(
      data_dir=os.path.join(workdir, "data"),
      model=mtf_binary.ModelShape(*demo.MODEL_SIZES[SIZE]), steps=steps,
      checkpoints=1, sequence_length=dict(LENGTHS),
      tokens_per_batch=TOKENS_PER_BATCH, learning_rate=LEARNING_RATE)
  command = mtf_binary.train_command(mtf_binary.find_binary(), MIXTURE,
                                     model_dir, settings)
  times = []

  def on_line(line):  # The binary prints the loss of every step on a CPU.
    parsed = mtf_binary.parse_loss(line)
    if parsed:
      times.append((parsed[0], time.perf_counter()))

  start = time.perf_counter()
  mtf_binary.run_or_raise(command, env, os.path.join(workdir, "mtf.log"),
                          on_line, "training %s" % MIXTURE)
  wall = time.perf_counter() - start
  return steady_rate(times), wall


def run_torch(workdir: str, env, steps: int):
  """Exports the mixture and trains with `wt5 train`; returns (steps/s, wall)."""
  wt5 = os.path.join(os.path.dirname(sys.executable), "wt5")
  export_dir = os.path.join(workdir, "export")
  # As `wt5 train` sets it: OpenMP's spinning waits collapse on a loaded CPU.
  full_env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", **env)
  if not os.path.exists(os.path.join(export_dir, "manifest.json")):
    subprocess.run(
        [wt5, "export", MIXTURE, "--split", "train", "--output_dir",
         export_dir, "--num_examples", str(steps * ROWS),
         "--sequence_length", "%d,%d" % (LENGTHS["inputs"], LENGTHS["targets"]),
         "--data_dir", os.path.join(workdir, "data")],
        check=True, env=full_env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
  model_dir = os.path.join(workdir, "torch")
  init_dir = os.path.join(workdir, "torch_init")
  for path in (model_dir, init_dir):
    shutil.rmtree(path, ignore_errors=True)
  # A fresh model of the demo's shape, saved as a checkpoint directory.
  code = (
      "import json, transformers\n"
      "from wt5.pytorch import model, train\n"
      "shape = model.Preset(*%r)\n"
      "config = model.preset_config('tiny', %d, dropout_rate=0.0)\n"
      "for k, v in vars(shape).items():\n"
      "  setattr(config, k, v)\n"
      "config.num_decoder_layers = shape.num_layers\n"
      "transformers.T5ForConditionalGeneration(config).save_pretrained(%r)\n"
      "s = train.train(train.TrainOptions(%r, %r, model=%r, steps=%d, "
      "batch_size=%d, learning_rate=%g, save_steps=%d, logging_steps=10, "
      "pad_to_length=True, dropout_rate=0.0), out=open('/dev/null', 'w'))\n"
      "print('SUMMARY', json.dumps(s))\n" % (
          tuple(demo.MODEL_SIZES[SIZE]), demo.VOCAB_SIZE, init_dir,
          export_dir, model_dir, init_dir, steps, ROWS, LEARNING_RATE, steps))
  start = time.perf_counter()
  result = subprocess.run([sys.executable, "-c", code], env=full_env,
                          capture_output=True, text=True, check=False)
  wall = time.perf_counter() - start
  with open(os.path.join(workdir, "torch.log"), "w", encoding="utf-8") as f:
    f.write(result.stdout + result.stderr)
  if result.returncode != 0:
    raise SystemExit("wt5 train failed; see %s" %
                     os.path.join(workdir, "torch.log"))
  import json  # pylint: disable=g-import-not-at-top
  line = [l for l in result.stdout.splitlines() if l.startswith("SUMMARY ")][-1]
  summary = json.loads(line[len("SUMMARY "):])
  return summary["steps"] / summary["seconds"], wall


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--workdir", default=None,
                      help="Keep data, logs and models here (default: a "
                      "temporary directory, removed afterwards).")
  args = parser.parse_args()
  workdir = args.workdir or tempfile.mkdtemp(prefix="wt5_torch_vs_mtf_")
  os.makedirs(workdir, exist_ok=True)
  try:
    vocab = prepare(workdir)
    env = {"WT5_VOCAB_MODEL": vocab, "TF_CPP_MIN_LOG_LEVEL": "3"}
    print("model: demo %r shape %s, %d steps of %d rows x %s positions, "
          "mixture %s, %d CPU cores" % (
              SIZE, demo.MODEL_SIZES[SIZE], args.steps, ROWS, LENGTHS,
              MIXTURE, os.cpu_count()))
    mtf_rate, mtf_wall = run_mtf(workdir, env, args.steps)
    torch_rate, torch_wall = run_torch(workdir, env, args.steps)
  finally:
    if not args.workdir:
      shutil.rmtree(workdir, ignore_errors=True)
  for name, rate, wall in (("mtf", mtf_rate, mtf_wall),
                           ("torch", torch_rate, torch_wall)):
    print("%-6s %7.2f steps/s  %9.0f tokens/s  (whole run %.0f s)" % (
        name, rate, rate * POSITIONS_PER_STEP, wall))
  print("torch_over_mtf: %.2f" % (torch_rate / mtf_rate))
  return 0


if __name__ == "__main__":
  sys.exit(main())
