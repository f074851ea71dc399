"""The registered tasks and mixtures equal catalogue.json, definition by definition."""

import functools
import importlib
import os
import subprocess
import sys

import gin
import pytest
import seqio
import t5.data
from t5.data import glue_utils
import t5.evaluation.metrics
import tensorflow_datasets as tfds

import catalogue_data
from wt5 import metrics
from wt5 import mixtures
from wt5 import postprocessors
from wt5 import preprocessors
from wt5 import tasks
from wt5 import vocab

CATALOGUE_TASKS = catalogue_data.TASKS
CATALOGUE_MIXTURES = catalogue_data.MIXTURES
MOVIE_ALIASES = {"movie_rationales_take%d_explanations" % n:
                 "movie_rationales_%d_explanations" % n
                 for n in (1000, 500, 200, 100)}

MNLI_CONFIG = tfds.text.glue.Glue.builder_configs["mnli"]

# Catalogue spellings of functions that are not wt5's own.
EXTERNAL = {
    "t5.data.preprocessors.glue": t5.data.preprocessors.glue,
    "t5.data.postprocessors.string_label_to_class_id":
        t5.data.postprocessors.string_label_to_class_id,
    "t5.evaluation.metrics.accuracy": t5.evaluation.metrics.accuracy,
}


def resolve(name, module):
  return EXTERNAL[name] if name in EXTERNAL else getattr(module, name)


def normalized_splits(splits):
  """Catalogue and seqio split specs as one {split: tfds split} dict."""
  if not splits:
    return {}
  if isinstance(splits, dict):
    return dict(splits)
  return {s: s for s in splits}


def test_task_names_equal_catalogue():
  assert len(CATALOGUE_TASKS) == 163
  assert sorted(tasks.TASK_NAMES) == sorted(CATALOGUE_TASKS)
  for name in CATALOGUE_TASKS:
    assert name in seqio.TaskRegistry.names()
    assert t5.data.TaskRegistry.get(name) is seqio.TaskRegistry.get(name)


def test_mixture_names_equal_catalogue_plus_movie_aliases():
  assert len(CATALOGUE_MIXTURES) == 50
  assert sorted(mixtures.MIXTURE_NAMES) == sorted(
      list(CATALOGUE_MIXTURES) + list(MOVIE_ALIASES))
  for name in mixtures.MIXTURE_NAMES:
    assert t5.data.MixtureRegistry.get(name) is seqio.MixtureRegistry.get(name)


@pytest.mark.parametrize("name", sorted(CATALOGUE_TASKS))
def test_task_definition_equals_catalogue(name):
  spec = CATALOGUE_TASKS[name]
  task = seqio.TaskRegistry.get(name)

  assert task.source.tfds_dataset.name == spec["tfds"]
  registered_splits = (task.source.tfds_dataset._split_map or
                       normalized_splits(task.source._splits))
  assert registered_splits == normalized_splits(spec["splits"])

  preprocess, tokenize, cache, eos = task.preprocessors
  assert isinstance(preprocess, functools.partial)
  assert preprocess.func is resolve(spec["preprocessor"]["fn"], preprocessors)
  assert preprocess.keywords == spec["preprocessor"]["kwargs"]
  assert tokenize is seqio.preprocessors.tokenize
  assert isinstance(cache, seqio.CacheDatasetPlaceholder)
  assert eos is seqio.preprocessors.append_eos_after_trim

  post = spec["postprocessor"]
  if post["fn"] == "t5.data.glue_utils.get_glue_postprocess_fn(glue/mnli config)":
    expected = glue_utils.get_glue_postprocess_fn(MNLI_CONFIG)
    assert task.postprocessor.func is expected.func
    assert task.postprocessor.keywords == expected.keywords
  elif "kwargs" in post:
    assert task.postprocessor.func is resolve(post["fn"], postprocessors)
    assert task.postprocessor.keywords == post["kwargs"]
  else:
    assert task.postprocessor is resolve(post["fn"], postprocessors)

  if spec["metrics"] == ["t5 GLUE_METRICS['mnli'] (accuracy)"]:
    assert list(task.metric_fns) == list(glue_utils.get_glue_metric("mnli"))
    assert list(task.metric_fns) == [t5.evaluation.metrics.accuracy]
  else:
    assert list(task.metric_fns) == [resolve(m, metrics)
                                     for m in spec["metrics"]]

  for feature_name in ("inputs", "targets"):
    feature = task.output_features[feature_name]
    assert feature.add_eos
    assert feature.vocabulary == vocab.get_vocabulary()


class FakeSizedTask:
  """Stands in for a Task in a rate function: only the split sizes."""

  def __init__(self, sizes):
    self.splits = list(sizes)
    self._sizes = sizes

  def num_input_examples(self, split):
    return self._sizes[split]


def test_rate_num_input_examples_prefers_train_then_validation():
  assert mixtures.rate_num_input_examples(
      FakeSizedTask({"train": 7, "validation": 3})) == 7.0
  assert mixtures.rate_num_input_examples(
      FakeSizedTask({"validation": 3, "test": 5})) == 3.0


def expected_rate(rate, default_rate):
  """A catalogue rate as a number, or the name of the rate function."""
  if rate is None:
    rate = default_rate
  if isinstance(rate, str):
    if rate == "num_input_examples" or rate.startswith("rate = number"):
      return "num_input_examples"
    scale, unit = rate.split(" * ")
    return float(scale) * float(unit)
  return float(rate)


def registered_rate(rate):
  if rate is mixtures.rate_num_input_examples:
    return "num_input_examples"
  assert not callable(rate), rate
  return float(rate)


@pytest.mark.parametrize("name", sorted(mixtures.MIXTURE_NAMES))
def test_mixture_definition_equals_catalogue(name):
  spec = CATALOGUE_MIXTURES[MOVIE_ALIASES.get(name, name)]
  mixture = seqio.MixtureRegistry.get(name)
  registered = [(t, registered_rate(r))
                for t, r in mixture.rate_per_task_name.items()]
  expected = [(t, expected_rate(r, spec["default_rate"]))
              for t, r in spec["tasks"]]
  assert registered == expected
  assert sorted(t.name for t in mixture.tasks) == sorted(t for t, _ in spec["tasks"])


def test_importing_twice_does_not_fail():
  importlib.reload(tasks)
  importlib.reload(mixtures)
  assert len(seqio.TaskRegistry.get("esnli_v010").metric_fns) == 1
  assert "movie_rationales_1000_explanations" in seqio.MixtureRegistry.names()


def test_gin_files_resolve_from_any_directory(tmp_path, monkeypatch):
  from mesh_tensorflow.transformer import utils  # registers utils.run
  del utils
  monkeypatch.chdir(tmp_path)
  gin.clear_config()
  try:
    gin.parse_config_file("wt5/gin/sequence_lengths/esnli_v002.gin")
    assert gin.query_parameter("utils.run.sequence_length") == {
        "inputs": 512, "targets": 256}
  finally:
    gin.clear_config()


@pytest.mark.parametrize("filename,lengths", [
    ("cos_e_v001.gin", {"inputs": 128, "targets": 96}),
    ("esnli_v002.gin", {"inputs": 512, "targets": 256}),
    ("movie_rationales_v010.gin", {"inputs": 2048, "targets": 512}),
    ("eraser_multi_rc_v011.gin", {"inputs": 1024, "targets": 512}),
])
def test_sequence_length_gin_files(filename, lengths):
  path = os.path.join(os.path.dirname(tasks.__file__), "gin",
                      "sequence_lengths", filename)
  with open(path) as f:
    assert "utils.run.sequence_length = %r" % lengths in f.read()


@pytest.mark.slow
def test_import_is_cheap():
  """Importing wt5.mixtures loads no model, reads no data and opens no socket."""
  script = (
      "import builtins, socket, sys\n"
      "opened = []\n"
      "real_open = builtins.open\n"
      "def spy(f, *a, **k):\n"
      "  opened.append(str(f))\n"
      "  return real_open(f, *a, **k)\n"
      "def no_network(*a, **k):\n"
      "  raise AssertionError('network access at import')\n"
      "import t5.data, t5.evaluation.metrics, seqio, tensorflow_datasets\n"
      "builtins.open = spy\n"
      "socket.socket.connect = no_network\n"
      "import wt5.mixtures\n"
      "builtins.open = real_open\n"
      "assert 'spacy' not in sys.modules, 'spaCy imported at import time'\n"
      "wt5_files = [f for f in opened if 'site-packages' not in f]\n"
      "assert not wt5_files, wt5_files\n"
      "print('ok', len(wt5.mixtures.MIXTURE_NAMES))\n")
  env = dict(os.environ, WT5_VOCAB_MODEL="/nonexistent/vocab.model")
  out = subprocess.run([sys.executable, "-c", script], env=env,
                       capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  assert out.stdout.strip().splitlines()[-1] == "ok 54"


def test_unreadable_vocabulary_names_path_and_setting():
  v = vocab.get_vocabulary({vocab.VOCAB_ENV: "/nonexistent/dir/spm.model"})
  with pytest.raises(vocab.VocabularyError) as e:
    v.encode("hello")
  assert "'/nonexistent/dir/spm.model'" in str(e.value)
  assert "WT5_VOCAB_MODEL" in str(e.value)


def test_default_vocabulary_is_t5_default():
  assert vocab.get_vocabulary({}) == t5.data.get_default_vocabulary()
  assert repr(vocab.get_vocabulary({})) == (
      "WT5Vocabulary('gs://t5-data/vocabs/cc_all.32000/sentencepiece.model', "
      "extra_ids=100)")


def test_bad_extra_ids_setting():
  with pytest.raises(vocab.VocabularyError, match="WT5_VOCAB_EXTRA_IDS"):
    vocab.get_vocabulary({vocab.VOCAB_ENV: "/x.model",
                          vocab.EXTRA_IDS_ENV: "many"})
  assert vocab.get_vocabulary({vocab.VOCAB_ENV: "/x.model",
                               vocab.EXTRA_IDS_ENV: "8"}).extra_ids == 8
