"""Throughput of seqio's Beam cache job against reading WT5 tasks on the fly.

Run: `.venv/bin/python benchmarks/cache_throughput.py [--esnli N] [--movies N]
[--steps N]`.

In a temporary directory it writes TFDS-format data (the demo e-SNLI data and
movie reviews of about 2,000 tokens each, built from the demo's review
generator) and a demo vocabulary, then, for `esnli_v010` and
`movie_rationales_v010`:

* the cache job: the stock `seqio_cache_tasks` on the DirectRunner in
  multi-process mode with 2 workers, timed from start to exit; its peak memory
  is sampled over the whole process tree (launcher and workers) with psutil;
* on the fly: the same task's splits read through `tf.data` in this process
  (`use_cached=False`), every example materialized;

and prints examples/s for both and their ratio. Then the stock
`t5_mesh_transformer` trains a tiny model on `esnli_v010` for `--steps` steps
from the cache and on the fly; steps/s are measured between the first and the
last logged training step (start-up excluded). The last line is
`cache_over_on_the_fly: X.XX` (cache job examples/s over on-the-fly
examples/s, both tasks together).
"""

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Sequence, Tuple

import psutil

from wt5 import caching
from wt5.datasets import demo_data as demo_data
from wt5.datasets import demo_templates as demo_templates
from wt5.mtf import binary as mtf_binary

TASKS = ("esnli_v010", "movie_rationales_v010")
REVIEWS_PER_MOVIE = 22  # Demo reviews per long review: about 2,000 tokens.


def long_movie_example(rng, index, split):
  """A movie_rationales example made of REVIEWS_PER_MOVIE demo reviews."""
  del index, split  # Unused.
  label = rng.randrange(2)
  parts = [demo_templates.review_with_rationales(rng, label)
           for _ in range(REVIEWS_PER_MOVIE)]
  return {"review": " ".join(p["review"] for p in parts), "label": label,
          "evidences": [e for p in parts for e in p["evidences"]]}


def write_data(data_dir: str, esnli: int, movies: int) -> Dict[str, int]:
  """The benchmark's TFDS data; returns {task: examples over all splits}."""
  import tensorflow_datasets as tfds
  import random
  esnli_sizes = {"train": esnli, "validation": 100, "test": 100}
  demo_data.write_demo_data(data_dir, sizes={"esnli": esnli_sizes},
                            sources=["esnli"])
  movie_sizes = {"train": movies, "validation": 20, "test": 20}
  splits = {}
  for split, size in movie_sizes.items():
    rng = random.Random("long_movies/%s" % split)
    splits[split] = [("%s-%06d" % (split, i), long_movie_example(rng, i, split))
                     for i in range(size)]
  with contextlib.redirect_stdout(io.StringIO()):
    tfds.dataset_builders.store_as_tfds_dataset(
        name="movie_rationales", version="0.1.0",
        features=tfds.builder("movie_rationales").info.features,
        split_datasets=splits, data_dir=data_dir, disable_shuffling=False,
        description="Movie-length synthetic reviews.")
  return {"esnli_v010": sum(esnli_sizes.values()),
          "movie_rationales_v010": sum(movie_sizes.values())}


class TreeMemory:
  """Samples the summed RSS of a process and its descendants."""

  def __init__(self, pid: int, every: float = 0.2):
    self.root = psutil.Process(pid)
    self.every = every
    self.peak_total = 0
    self.peak_single = 0
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)
    self._thread.start()

  def _run(self):
    while not self._stop.is_set():
      try:
        procs = [self.root] + self.root.children(recursive=True)
        rss = []
        for p in procs:
          try:
            rss.append(p.memory_info().rss)
          except psutil.Error:
            pass
        if rss:
          self.peak_total = max(self.peak_total, sum(rss))
          self.peak_single = max(self.peak_single, max(rss))
      except psutil.Error:
        pass
      self._stop.wait(self.every)

  def stop(self):
    self._stop.set()
    self._thread.join()


def run_cache_job(task: str, cache_dir: str, data_dir: str, env: Dict[str, str]
                  ) -> Tuple[float, int, int]:
  """(seconds, peak tree RSS, peak single-process RSS) of one cache job."""
  command = caching.cache_command([task], cache_dir, data_dir,
                                  extra_flags=["--min_shards=1"])
  command[0] = os.path.join(os.path.dirname(sys.executable), command[0])
  start = time.monotonic()
  with open(os.path.join(cache_dir, "%s.log" % task), "w") as log:
    job = subprocess.Popen(command, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    memory = TreeMemory(job.pid)
    rc = job.wait()
    memory.stop()
  seconds = time.monotonic() - start
  if rc:
    raise SystemExit("%s failed (exit %d); see %s" % (command[0], rc, log.name))
  return seconds, memory.peak_total, memory.peak_single


def read_on_the_fly(task_name: str) -> Tuple[float, int]:
  """(seconds, examples) to read every split of a task through tf.data."""
  import seqio
  task = seqio.get_mixture_or_task(task_name)
  start = time.monotonic()
  count = 0
  for split in task.splits:
    ds = task.get_dataset(None, split=split, use_cached=False, shuffle=False)
    for _ in ds.as_numpy_iterator():
      count += 1
  return time.monotonic() - start, count


def training_steps_per_second(root: str, data_dir: str, cache_dir: str,
                              steps: int, cached: bool, model: str) -> float:
  """Steps/s of the stock binary between its first and last logged step."""
  settings = mtf_binary.RunSettings(
      data_dir=data_dir, steps=steps, checkpoints=1, tokens_per_batch=2048,
      sequence_length={"inputs": 128, "targets": 64},
      model=mtf_binary.ModelShape(d_model=64, d_ff=128, d_kv=16, num_heads=4,
                                  num_layers=2),
      gin_params=("mesh_train_dataset_fn.use_cached = %s" % cached,))
  name = "cached" if cached else "on_the_fly"
  command = mtf_binary.train_command(
      mtf_binary.find_binary(), "esnli_v010",
      os.path.join(root, "model_" + name), settings)
  command.append("--additional_task_cache_dirs=%s" % cache_dir)
  seen: List[Tuple[float, int]] = []

  def on_line(line: str) -> None:
    parsed = mtf_binary.parse_loss(line)
    if parsed:
      seen.append((time.monotonic(), parsed[0]))

  log_path = os.path.join(root, "train_%s.log" % name)
  rc = mtf_binary.run_logged(command, {"WT5_VOCAB_MODEL": model}, log_path, on_line)
  if rc or len(seen) < 2:
    raise SystemExit("training %s failed; see %s" % (name, log_path))
  (t0, s0), (t1, s1) = seen[0], seen[-1]
  return (s1 - s0) / (t1 - t0)


def main(argv: Sequence[str] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--esnli", type=int, default=3000,
                      help="e-SNLI training examples.")
  parser.add_argument("--movies", type=int, default=200,
                      help="Movie-length training reviews.")
  parser.add_argument("--steps", type=int, default=300,
                      help="Training steps per training run.")
  args = parser.parse_args(argv)

  root = tempfile.mkdtemp(prefix="wt5_cache_bench_")
  data_dir = os.path.join(root, "tfds")
  cache_dir = os.path.join(root, "cache")
  os.makedirs(cache_dir)
  sizes = write_data(data_dir, args.esnli, args.movies)
  model = demo_data.train_demo_vocabulary(data_dir,
                                          os.path.join(root, "spm", "wt5"))
  os.environ["WT5_VOCAB_MODEL"] = model
  import seqio
  from wt5 import tasks
  from wt5 import vocab
  seqio.set_tfds_data_dir_override(data_dir)
  tasks.register_tasks(vocab.get_vocabulary())

  env = dict(os.environ)
  print("cpu cores: %d; data under %s" % (os.cpu_count(), root))
  total_cache = total_fly = 0.0
  total_examples = 0
  peaks = []
  for task in TASKS:
    seconds_fly, count = read_on_the_fly(task)
    assert count == sizes[task], (task, count, sizes[task])
    seconds_cache, peak_total, peak_single = run_cache_job(task, cache_dir,
                                                           data_dir, env)
    peaks.append((peak_total, peak_single))
    total_cache += seconds_cache
    total_fly += seconds_fly
    total_examples += count
    print("%-24s %5d examples  cache job %7.1f ex/s (%6.1f s)  on the fly "
          "%7.1f ex/s (%5.1f s)  ratio %.2f" % (
              task, count, count / seconds_cache, seconds_cache,
              count / seconds_fly, seconds_fly,
              (count / seconds_cache) / (count / seconds_fly)))
    print("%-24s DirectRunner peak memory: %.2f GiB (launcher and 2 workers "
          "together), %.2f GiB (largest process)" % (
              "", peak_total / 2**30, peak_single / 2**30))

  cached = training_steps_per_second(root, data_dir, cache_dir, args.steps,
                                     True, model)
  fly = training_steps_per_second(root, data_dir, cache_dir, args.steps,
                                  False, model)
  print("t5_mesh_transformer esnli_v010: from the cache %.1f steps/s, on the "
        "fly %.1f steps/s, ratio %.2f" % (cached, fly, cached / fly))
  print("cache_over_on_the_fly: %.2f" % (
      (total_examples / total_cache) / (total_examples / total_fly)))
  return 0


if __name__ == "__main__":
  sys.exit(main())
