"""Caching WT5 tasks with seqio's Beam job, and the stock binary reading it.

One module fixture runs the stock `seqio_cache_tasks` once, on the DirectRunner
with two worker processes, over demo data in TFDS format: one task of every
family (and a CoS-E training task). The cached examples must equal the
on-the-fly ones; the stock `t5_mesh_transformer` then trains and evaluates from
the cache, and a mixture with a task that is not cached fails saying how to
cache it.
"""

import collections
import os
import subprocess
import sys

import pytest
import seqio
import tensorflow_datasets as tfds

from wt5 import caching
from wt5.formats import eval_files
from wt5.mtf import binary as mtf_binary

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
BIN_DIR = os.path.dirname(sys.executable)

SIZES = {
    "esnli": {"train": 100, "validation": 1, "test": 1},
    "cos_e": {"train": 104, "validation": 6},
    "movie_rationales": {"train": 100, "validation": 1, "test": 1},
    "eraser_multi_rc": {"train": 100, "validation": 1, "test": 1},
    "glue/mnli_matched": {"validation": 7, "test": 4},
    "imdb_reviews/plain_text": {"train": 1, "test": 6, "unsupervised": 1},
    "amazon_us_reviews/Books_v1_00": {"train": 50},
}
SOURCES = ["esnli", "cos_e", "movie_rationales", "eraser_multi_rc",
           "glue/mnli_matched", "imdb_reviews/plain_text", "amazon_us_reviews"]
# One task of every family -> {split: number of examples}; tasks with few
# splits, as the cache job's time grows with the number of splits.
FAMILY_TASKS = {
    "e-SNLI": ("esnli_explanations_take100_v010", {"train": 100}),
    "CoS-E": ("cos_e_eval_v001", {"validation": 6}),
    "MNLI (t5's GLUE preprocessor)": ("mnli_explain_eval_matched_v002",
                                      {"validation": 7, "test": 4}),
    "Movie Rationales": ("movie_rationales_explanations_take100_v010",
                         {"train": 100}),
    "MultiRC": ("eraser_multi_rc_explanations_take100_v011", {"train": 100}),
    "IMDB": ("imdb_reviews_eval_v100", {"test": 6}),
    # validation = train[:10%] of 50, without the 3-star reviews (counted in
    # the test from the TFDS data).
    "Amazon": ("amazon_reviews_books_v1_00_eval_v010", {"validation": None}),
}
TRAIN_TASK = "cos_e_explanations_take100_v001"  # train[0:100].
# cos_e_100_explanations mixes TRAIN_TASK, cos_e_labels_skip100_v001 (never
# cached here) and cos_e_eval_v001.
PARTLY_CACHED_MIXTURE = "cos_e_100_explanations"
UNCACHED_TASK = "cos_e_labels_skip100_v001"
CACHED_TASKS = [TRAIN_TASK] + [t for t, _ in FAMILY_TASKS.values()]
BINARY_OPTIONS = dict(steps=10, checkpoints=1, tokens_per_batch=256,
                      sequence_length={"inputs": 64, "targets": 32},
                      model=mtf_binary.ModelShape(d_model=32, d_ff=64, d_kv=8,
                                                  num_heads=2, num_layers=1))

# The cache job; the first test on the cache also waits for it.
JOB_TIMEOUT_S = 420


def _env(**extra):
  env = dict(os.environ)
  env.update(extra)
  return env


@pytest.fixture(scope="module")
def cached(demo_registry):
  """Demo data, the session's vocabulary and ONE cache job for all the tasks."""
  with demo_registry("wt5_cache", sizes=SIZES, sources=SOURCES) as reg:
    root, data_dir, model = reg.root, reg.data_dir, reg.vocab_model
    cache_dir = str(root / "cache")
    probe_dir = root / "probe"
    probe_dir.mkdir()
    command = caching.cache_command(
        CACHED_TASKS, cache_dir, data_dir,
        extra_flags=["--module_import=beam_worker_probe", "--min_shards=1"])
    command[0] = os.path.join(BIN_DIR, command[0])
    env = _env(WT5_VOCAB_MODEL=model, WT5_PROBE_DIR=str(probe_dir),
               PYTHONPATH=os.pathsep.join(
                   [TESTS_DIR] + sys.path[1:]))
    log_path = str(root / "cache_job.log")
    with open(log_path, "w") as log:
      job = subprocess.Popen(command, env=env, stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
      try:
        rc = job.wait(timeout=JOB_TIMEOUT_S)
      except subprocess.TimeoutExpired:
        job.kill()
        job.wait()
        raise
    with open(log_path) as f:
      log_text = f.read()
    assert rc == 0, "seqio_cache_tasks failed:\n" + log_text[-4000:]

    # The tasks of this process read the same data with the same vocabulary
    # (the registry puts the global cache dirs back afterwards).
    seqio.add_global_cache_dirs([cache_dir])
    yield {"data_dir": data_dir, "model": model, "cache_dir": cache_dir,
           "probe_dir": str(probe_dir), "job_pid": job.pid, "log": log_text,
           "root": root}


def token_pairs(task_name, split, use_cached):
  """The (inputs ids, targets ids) multiset of one split."""
  task = seqio.get_mixture_or_task(task_name)
  ds = task.get_dataset(None, split=split, use_cached=use_cached,
                        shuffle=False)
  return collections.Counter(
      (tuple(ex["inputs"].tolist()), tuple(ex["targets"].tolist()))
      for ex in ds.as_numpy_iterator())


@pytest.mark.beam
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("family", sorted(FAMILY_TASKS))
def test_cached_examples_equal_the_on_the_fly_ones(cached, family):
  task_name, sizes = FAMILY_TASKS[family]
  task = seqio.get_mixture_or_task(task_name)
  assert task.cache_dir == os.path.join(cached["cache_dir"], task_name)
  assert sorted(task.splits) == sorted(sizes)
  for split, size in sizes.items():
    if size is None:  # Amazon: the binary task drops 3-star reviews.
      size = sum(1 for ex in tfds.as_numpy(tfds.load(
          "amazon_us_reviews/Books_v1_00:0.1.0", split="train[:10%]",
          data_dir=cached["data_dir"], shuffle_files=False))
                 if ex["data"]["star_rating"] != 3)
      assert 0 < size < 5
    from_cache = token_pairs(task_name, split, use_cached=True)
    on_the_fly = token_pairs(task_name, split, use_cached=False)
    assert sum(from_cache.values()) == size
    assert from_cache == on_the_fly, (task_name, split)
    assert task.get_cached_stats(split)["examples"] == size


@pytest.mark.beam
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_workers_see_the_vocabulary_setting(cached):
  seen = {}
  for name in os.listdir(cached["probe_dir"]):
    with open(os.path.join(cached["probe_dir"], name)) as f:
      seen[int(name)] = f.read()
  workers = set(seen) - {cached["job_pid"]}
  # The launcher and the DirectRunner's worker processes that received work:
  # both of the two, or one when the runner gave every bundle to one of them.
  assert cached["job_pid"] in seen
  assert 1 <= len(workers) <= 2, seen
  assert set(seen.values()) == {cached["model"]}
  assert "'direct_num_workers': 2" in cached["log"]


def run_binary(command, cached, name):
  log_path = str(cached["root"] / (name + ".log"))
  rc = mtf_binary.run_logged(command, {"WT5_VOCAB_MODEL": cached["model"]},
                       log_path, on_line=lambda line: None)
  with open(log_path) as f:
    return rc, f.read()


def binary_command(cached, kind, mixture, model_dir):
  """The stock binary's train or eval command, reading from the cache."""
  settings = mtf_binary.RunSettings(
      data_dir=cached["data_dir"],
      gin_params=("mesh_%s_dataset_fn.use_cached = True" % kind,),
      **BINARY_OPTIONS)
  build = (mtf_binary.train_command if kind == "train" else
           mtf_binary.eval_command)
  return build(mtf_binary.find_binary(), mixture, model_dir, settings) + [
      "--additional_task_cache_dirs=%s" % cached["cache_dir"]]


@pytest.mark.beam
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.binary
def test_the_stock_binary_trains_and_evaluates_from_the_cache(cached):
  model_dir = str(cached["root"] / "model")
  rc, log = run_binary(binary_command(cached, "train", TRAIN_TASK, model_dir),
                       cached, "train")
  assert rc == 0, log[-4000:]
  assert "'%s' is cached at %s" % (
      TRAIN_TASK, os.path.join(cached["cache_dir"], TRAIN_TASK)) in log
  assert os.path.exists(os.path.join(model_dir, "model.ckpt-10.index"))

  eval_task = "cos_e_eval_v001"
  command = binary_command(cached, "eval", eval_task, model_dir)
  rc, log = run_binary(command, cached, "eval")
  assert rc == 0, log[-4000:]
  assert "'%s' is cached at %s" % (
      eval_task, os.path.join(cached["cache_dir"], eval_task)) in log
  eval_dir = os.path.join(model_dir, "validation_eval")
  targets = eval_files.read_values(os.path.join(eval_dir,
                                             eval_task + "_targets"))
  task = seqio.get_mixture_or_task(eval_task)
  expected = [task.postprocess_fn(ex["targets_pretokenized"].decode("utf-8"),
                                  example=ex, is_target=True)
              for ex in task.get_dataset(None, split="validation",
                                         shuffle=False).as_numpy_iterator()]
  assert sorted(map(repr, targets)) == sorted(map(repr, expected))
  assert len(targets) == 6
  predictions = os.path.join(eval_dir, eval_task + "_10_predictions")
  assert len(eval_files.read_values(predictions)) == 6


@pytest.mark.beam
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.binary
def test_a_task_that_is_not_cached_says_how_to_cache_it(cached):
  model_dir = str(cached["root"] / "model_partly_cached")
  rc, log = run_binary(
      binary_command(cached, "train", PARTLY_CACHED_MIXTURE, model_dir),
      cached, "partly_cached")
  assert rc != 0
  expected = caching.not_cached_message(
      UNCACHED_TASK, [cached["cache_dir"]], cached["data_dir"],
      {"WT5_VOCAB_MODEL": cached["model"]})
  assert expected in log, log[-4000:]
  assert ("seqio_cache_tasks --module_import=wt5.tasks --tasks=%s "
          "--output_cache_dir=%s --tfds_data_dir=%s" % (
              UNCACHED_TASK, cached["cache_dir"], cached["data_dir"])) in log


def test_not_cached_message_and_command():
  assert caching.cache_command(["esnli_v010", "cos_e_v001"], "/c", "/d",
                               pipeline_options=["--runner=DirectRunner"]) == [
      "seqio_cache_tasks", "--module_import=wt5.tasks",
      "--tasks=esnli_v010,cos_e_v001", "--output_cache_dir=/c",
      "--tfds_data_dir=/d", "--pipeline_options=--runner=DirectRunner"]
  assert caching.not_cached_message("esnli_v010", [], None, {}) == (
      "Task 'esnli_v010' is not cached: no task cache directory is set. "
      "Cache it first with\n"
      "  seqio_cache_tasks --module_import=wt5.tasks --tasks=esnli_v010 "
      "--output_cache_dir=CACHE_DIR --pipeline_options=--runner=DirectRunner,"
      "--direct_running_mode=multi_processing,--direct_num_workers=2\n"
      "then pass --additional_task_cache_dirs=CACHE_DIR (t5_mesh_transformer) "
      "or read it on the fly (use_cached = False).")
  with pytest.raises(TypeError):
    caching.cache_command("esnli_v010", "/c")
