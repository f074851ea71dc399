"""Training throughput on this CPU: PyTorch route vs the stock t5_mesh_transformer.

Both train the same Transformer ("cpu_small" of wt5.model_shapes, the demo's
default: d_model 128, d_ff 512, d_kv 32, 4 heads, 2 encoder and 2 decoder
layers, ReLU, 2,000-id demo vocabulary) from scratch for the same number of
steps on the same mixture (`esnli_mnli_all_explanations` of the embedded demo
data), at the same
sequence lengths (128 inputs, 64 targets), the same tokens per step
(`tokens_per_batch` 2048: 16 rows of 128/64) and constant learning rate 1e-3:

- mtf: `t5_mesh_transformer` reading the registered mixture through seqio
  (examples packed into rows, the binary's default);
- torch: `wt5 export` of the same mixture, then `wt5 train --tokens_per_batch
  2048` (Seq2SeqTrainer, Adafactor; examples packed into rows as the binary
  packs them).

Throughput counts real tokens: the non-padding input and target tokens per
second of steady training, from the first logged step to the last (start-up,
graph building and the first step excluded), and examples per second. For
torch the trainer counts the tokens of its batches. The binary does not report
its tokens, so its tokens per step are those of 16 rows of the same mixture
packed by Mesh TF's own `pack_dataset` (the function the binary packs with):
the exported examples in export order, as many rows as a run trains. Both
train in float32 (`--torch_bf16` trains torch with bf16 autocast instead).

The CPU may be shared: each route runs `--rounds` times (default 2) in the
order mtf, torch, torch, mtf, ... so that a load that drifts during the
benchmark weighs on both alike; each route's rates are its summed steady
tokens (examples, steps) over its summed steady seconds, and the 1-minute load
average at the end of each run is printed. torch runs with the OpenMP
settings the `wt5` command adds (`wt5.cli.openmp_defaults`: GOMP_SPINCOUNT
1000 unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set; `--omp_wait_policy
PASSIVE` to compare). The last line is `torch_over_mtf: X.XX`, the ratio of
the two routes' real tokens/s.

    .venv/bin/python benchmarks/torch_vs_mtf.py [--steps 150] [--rounds 2] [--torch_compile] [--workdir DIR]
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from wt5 import cli
from wt5 import model_shapes
from wt5.demo import pipeline as demo_pipeline
from wt5.mtf import binary as mtf_binary

MIXTURE = "esnli_mnli_all_explanations"
LENGTHS = {"inputs": 128, "targets": 64}
TOKENS_PER_BATCH = 2048
ROWS = TOKENS_PER_BATCH // max(LENGTHS.values())
# Exported examples per training row: enough that packed rows rarely repeat.
EXAMPLES_PER_ROW = 6
LEARNING_RATE = 1e-3
SIZE = "cpu_small"  # wt5.model_shapes.SHAPES


def prepare(workdir: str) -> str:
  """Writes the demo data and vocabulary once; returns the vocabulary path."""
  data_dir = os.path.join(workdir, "data")
  vocab = os.path.join(data_dir, "vocab", "wt5_demo.model")
  if not os.path.exists(vocab):
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "wt5"),
                    "data", "--data_dir", data_dir, "--vocab"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  return vocab


@dataclasses.dataclass
class Measure:
  """Steady training of one run: steps, their seconds, real tokens, examples."""
  steps: int
  seconds: float
  tokens: float
  examples: float
  wall: float
  load: str


def add(measures: Sequence[Measure]) -> Measure:
  """The runs of one route together (rates = sums / summed seconds)."""
  return Measure(sum(m.steps for m in measures),
                 sum(m.seconds for m in measures),
                 sum(m.tokens for m in measures),
                 sum(m.examples for m in measures),
                 sum(m.wall for m in measures),
                 ",".join(m.load for m in measures))


def run_mtf(workdir: str, env, steps: int, per_step) -> Measure:
  """Trains with t5_mesh_transformer; `per_step` is (real tokens, examples) a step."""
  model_dir = os.path.join(workdir, "mtf")
  shutil.rmtree(model_dir, ignore_errors=True)
  settings = mtf_binary.RunSettings(
      data_dir=os.path.join(workdir, "data"),
      model=model_shapes.SHAPES[SIZE], steps=steps,
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
  (s0, t0), (s1, t1) = times[0], times[-1]
  return Measure(s1 - s0, t1 - t0, (s1 - s0) * per_step[0],
                 (s1 - s0) * per_step[1], wall, load())


def export_mixture(workdir: str, env, steps: int) -> str:
  """Exports the mixture's training examples once; returns the export's path."""
  export_dir = os.path.join(workdir, "export")
  if not os.path.exists(os.path.join(export_dir, "manifest.json")):
    subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "wt5"), "export",
         MIXTURE, "--split", "train", "--output_dir", export_dir,
         "--num_examples", str(steps * ROWS * EXAMPLES_PER_ROW),
         "--sequence_length", "%d,%d" % (LENGTHS["inputs"], LENGTHS["targets"]),
         "--data_dir", os.path.join(workdir, "data")],
        check=True, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
  return export_dir


def mtf_tokens_per_step(export_dir: str, steps: int):
  """(real tokens, examples) per step of the binary: 16 rows packed by Mesh TF.

  Packs the exported examples with `mesh_tensorflow.transformer.dataset.
  pack_dataset` and averages over the first `steps` x 16 rows.
  """
  import numpy as np
  import tensorflow as tf
  from mesh_tensorflow.transformer import dataset as mtf_dataset
  from wt5.formats.export import Export
  examples = Export(export_dir).examples("train")
  ds = tf.data.Dataset.from_generator(
      lambda: ({k: np.array(e[k], np.int32) for k in LENGTHS}
               for e in examples),
      output_signature={k: tf.TensorSpec([None], tf.int32) for k in LENGTHS})
  packed = mtf_dataset.pack_dataset(ds, dict(LENGTHS), keys=list(LENGTHS))
  tokens = examples_seen = rows = 0
  for row in packed.take(steps * ROWS).as_numpy_iterator():
    tokens += sum(int((row[k] != 0).sum()) for k in LENGTHS)
    examples_seen += int(row["targets_segmentation"].max())
    rows += 1
  return tokens / rows * ROWS, examples_seen / rows * ROWS


def run_torch(workdir: str, env, steps: int, export_dir: str, bf16: bool,
              compile_model: bool) -> Measure:
  """Trains with `wt5 train` on the export, with `env` added to this one's."""
  full_env = dict(os.environ, PYTHONPATH=ROOT, **env)
  model_dir = os.path.join(workdir, "torch")
  init_dir = os.path.join(workdir, "torch_init")
  for path in (model_dir, init_dir):
    shutil.rmtree(path, ignore_errors=True)
  # A fresh model of the demo's shape, saved as a checkpoint directory.
  code = (
      "import json, transformers\n"
      "from wt5.pytorch import model, train\n"
      "config = model.preset_config(%r, %d, dropout_rate=0.0)\n"
      "transformers.T5ForConditionalGeneration(config).save_pretrained(%r)\n"
      "s = train.train(train.TrainOptions(%r, %r, model=%r, steps=%d, "
      "batch_size=%d, tokens_per_batch=%d, learning_rate=%g, save_steps=%d, "
      "logging_steps=10, dropout_rate=0.0, bf16=%r, torch_compile=%r), "
      "out=open('/dev/null', 'w'))\n"
      "print('SUMMARY', json.dumps(s))\n" % (
          SIZE, demo_pipeline.VOCAB_SIZE, init_dir,
          export_dir, model_dir, init_dir, steps, ROWS, TOKENS_PER_BATCH,
          LEARNING_RATE, steps, bf16, compile_model))
  start = time.perf_counter()
  result = subprocess.run([sys.executable, "-c", code], env=full_env,
                          capture_output=True, text=True, check=False)
  wall = time.perf_counter() - start
  with open(os.path.join(workdir, "torch.log"), "w", encoding="utf-8") as f:
    f.write(result.stdout + result.stderr)
  if result.returncode != 0:
    raise SystemExit("wt5 train failed; see %s" %
                     os.path.join(workdir, "torch.log"))
  line = [l for l in result.stdout.splitlines() if l.startswith("SUMMARY ")][-1]
  summary = json.loads(line[len("SUMMARY "):])
  return Measure(summary["steps"], summary["seconds"], summary["tokens"],
                 summary["examples"], wall, load())


def load() -> str:
  """The 1-minute load average: load() -> "1.93"."""
  return "%.2f" % os.getloadavg()[0]


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=150,
                      help="Steps of each run.")
  parser.add_argument("--rounds", type=int, default=2,
                      help="Runs of each route, in the order mtf, torch, "
                      "torch, mtf, mtf, torch, ...")
  parser.add_argument("--torch_bf16", action="store_true",
                      help="Train torch with bf16 autocast (the binary "
                      "trains in float32 either way).")
  parser.add_argument("--torch_compile", action="store_true",
                      help="Train torch with `wt5 train --torch_compile` "
                      "(compiling happens in the first step, which is not "
                      "timed).")
  parser.add_argument("--omp_wait_policy", default=None,
                      choices=("PASSIVE", "ACTIVE"),
                      help="Run torch with this OMP_WAIT_POLICY instead of "
                      "the `wt5` command's OpenMP settings.")
  parser.add_argument("--workdir", default=None,
                      help="Keep data, logs and models here (default: a "
                      "temporary directory, removed afterwards).")
  args = parser.parse_args()
  workdir = args.workdir or tempfile.mkdtemp(prefix="wt5_torch_vs_mtf_")
  os.makedirs(workdir, exist_ok=True)
  runs = {"mtf": [], "torch": []}
  try:
    vocab = prepare(workdir)
    env = {"WT5_VOCAB_MODEL": vocab, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # torch's: the OpenMP settings the `wt5` command would add.
    torch_env = dict(env)
    if args.omp_wait_policy:
      torch_env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    torch_env.update(cli.openmp_defaults(dict(os.environ, **torch_env)))
    omp = dict(os.environ, **torch_env)
    print("model: %r shape %s, %d x %d steps of %d rows x %s positions, "
          "mixture %s, %d CPU cores, load %s, torch in %s%s, OpenMP %s" % (
              SIZE, model_shapes.SHAPES[SIZE], args.rounds, args.steps, ROWS,
              LENGTHS, MIXTURE, os.cpu_count(), load(),
              "bf16" if args.torch_bf16 else "float32",
              ", compiled" if args.torch_compile else "",
              " ".join("%s=%s" % (k, omp[k]) for k in
                       ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in omp)
              or "defaults"), flush=True)
    export_dir = export_mixture(workdir, env, args.steps)
    per_step = mtf_tokens_per_step(export_dir, args.steps)
    order = ["mtf", "torch"]
    for _ in range(args.rounds):
      for name in order:
        if name == "mtf":
          runs[name].append(run_mtf(workdir, env, args.steps, per_step))
        else:
          runs[name].append(run_torch(workdir, torch_env, args.steps,
                                      export_dir,
                                      args.torch_bf16, args.torch_compile))
        print("  %s run: %.2f steps/s, load %s at its end" % (
            name, runs[name][-1].steps / runs[name][-1].seconds,
            runs[name][-1].load), flush=True)
      order.reverse()
  finally:
    if not args.workdir:
      shutil.rmtree(workdir, ignore_errors=True)
  total = {name: add(measures) for name, measures in runs.items()}
  for name, m in total.items():
    print("%-6s %6.2f steps/s  %8.0f real tokens/s  %7.1f examples/s  "
          "%5.1f examples/step  (runs %.0f s, load %s at their ends)" % (
              name, m.steps / m.seconds, m.tokens / m.seconds,
              m.examples / m.seconds, m.examples / m.steps, m.wall, m.load))
  rate = {name: m.tokens / m.seconds for name, m in total.items()}
  print("torch_over_mtf: %.2f" % (rate["torch"] / rate["mtf"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
