"""Every registered task and mixture, read through seqio from TFDS-format data.

The data are the embedded demo datasets (each builder's real features, names
and versions), written once per session; the vocabulary is a small
SentencePiece model trained on them. For every task the first examples of its
first split go through the full seqio pipeline; the decoded token ids must
equal the `*_pretokenized` strings, and those must equal what an independent
Python rendering of the SPEC gives for the raw TFDS example.
"""

import functools
import json
import os

import pytest
import seqio
import tensorflow_datasets as tfds

from wt5.demo import datasets as demo_data
from wt5 import mixtures
from wt5 import tasks
from wt5 import vocab

CATALOGUE_PATH = os.path.join(os.path.dirname(__file__), "data",
                              "catalogue.json")
with open(CATALOGUE_PATH) as f:
  CATALOGUE = json.load(f)
CATALOGUE_TASKS = {t["name"]: t for t in CATALOGUE["tasks"]}

SEQUENCE_LENGTH = {"inputs": 4096, "targets": 1024}
# Training sets just larger than the largest "take N" of each family, so that
# every "skip N" task has examples too.
TEST_SIZES = {
    "esnli": {"train": 50005, "validation": 5, "test": 5},
    "cos_e": {"train": 5005, "validation": 5},
    "movie_rationales": {"train": 1005, "validation": 5, "test": 5},
    "eraser_multi_rc": {"train": 10005, "validation": 5, "test": 5},
    "glue/mnli": {"train": 5, "validation_matched": 5,
                  "validation_mismatched": 5, "test_matched": 5,
                  "test_mismatched": 5},
    "glue/mnli_matched": {"validation": 5, "test": 5},
    "glue/mnli_mismatched": {"validation": 5, "test": 5},
    "imdb_reviews/plain_text": {"train": 5, "test": 5, "unsupervised": 5},
}
EXAMPLES_PER_TASK = 3


# ---------------------------------------------------------------------------
# An independent rendering of SPEC §1 for one raw TFDS example (numpy values).
# ---------------------------------------------------------------------------

def text(value):
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def with_explanations(label, explanations, separator=" explanation: "):
  """The label and every explanation, empty ones included, joined."""
  return separator.join([label] + list(explanations))


def render_cos_e(ex, prefix="explain cos_e", question_prefix="question:",
                 choice_prefix="choice:", drop_explanations=False):
  choices = " ".join("%s %s" % (choice_prefix, text(c)) for c in ex["choices"])
  inputs = " ".join([prefix, question_prefix, text(ex["question"]), choices])
  answer = text(ex["answer"])
  explanation = [] if drop_explanations else [text(ex["abstractive_explanation"])]
  return inputs, with_explanations(answer, explanation)


NLI = ["entailment", "neutral", "contradiction"]


def render_esnli(ex, prefix="explain nli", drop_explanations=False,
                 add_choices=False):
  inputs = "%s hypothesis: %s premise: %s" % (
      prefix, text(ex["hypothesis"]), text(ex["premise"]))
  if add_choices:
    inputs += " choice: entailment choice: neutral choice: contradiction"
  explanations = [] if drop_explanations else [
      text(ex.get("explanation_%d" % i, b"")) for i in (1, 2, 3)]
  return inputs, with_explanations(NLI[ex["label"]],
                                   [e for e in explanations if e])


def render_glue(ex, benchmark_name, label_names):
  inputs = "%s hypothesis: %s premise: %s" % (
      benchmark_name, text(ex["hypothesis"]), text(ex["premise"]))
  label = "<unk>" if ex["label"] == -1 else label_names[ex["label"]]
  return inputs, label


def render_imdb(ex, prefix="sentiment"):
  label = "<unk>" if ex["label"] < 0 else ["negative", "positive"][ex["label"]]
  return "%s: %s" % (prefix, text(ex["text"])), label


def render_amazon(ex, prefix="sentiment"):
  data = ex["data"]
  stars = int(data["star_rating"])
  if stars == 3:
    return None
  inputs = "%s review: %s %s" % (prefix, text(data["review_headline"]),
                                 text(data["review_body"]))
  return inputs, "negative" if stars < 3 else "positive"


def render_movie(ex, prefix="explain sentiment", drop_explanations=False):
  label = ["negative", "positive"][ex["label"]]
  evidences = [] if drop_explanations else [text(e) for e in ex["evidences"]]
  return ("%s review: %s" % (prefix, text(ex["review"])),
          with_explanations(label, evidences))


def render_multi_rc(ex, drop_explanations=False):
  segments = text(ex["query_and_answer"]).split("||") + [""]
  ascii_space = " \t\n\v\f\r"
  inputs = "explain multirc passage: %s query: %s answer: %s" % (
      text(ex["passage"]), segments[0].strip(ascii_space),
      segments[1].strip(ascii_space))
  evidences = [] if drop_explanations else [text(e) for e in ex["evidences"]]
  return inputs, with_explanations(["False", "True"][ex["label"]], evidences)


RENDER = {
    "cos_e": render_cos_e,
    "esnli": render_esnli,
    "t5.data.preprocessors.glue": render_glue,
    "imdb_reviews": render_imdb,
    "amazon_reviews": render_amazon,
    "extractive_explanations": render_movie,
    "eraser_multi_rc": render_multi_rc,
}


def first_split(spec):
  """(task split, TFDS split) of the first split a catalogue task declares."""
  splits = spec["splits"]
  if isinstance(splits, dict):
    return next(iter(splits.items()))
  if isinstance(splits, list):
    return splits[0], splits[0]
  if spec["tfds"].startswith("glue/mnli_"):
    return "validation", "validation"
  return "train", "train"


@functools.lru_cache(maxsize=None)
def expected_for_task(name, data_dir, count):
  return tuple(expected_examples(CATALOGUE_TASKS[name], data_dir, count))


def expected_examples(spec, data_dir, count):
  """The first `count` (inputs, targets) of a catalogue task, by the SPEC."""
  _, tfds_split = first_split(spec)
  render = functools.partial(RENDER[spec["preprocessor"]["fn"]],
                             **spec["preprocessor"]["kwargs"])
  raw = tfds.load(spec["tfds"], split=tfds_split, data_dir=data_dir,
                  shuffle_files=False)
  out = []
  for ex in tfds.as_numpy(raw):
    rendered = render(ex)
    if rendered is not None:
      out.append(rendered)
    if len(out) == count:
      break
  return out


def decode(vocabulary, ids):
  ids = [int(i) for i in ids]
  assert ids[-1] == 1, "EOS missing: %r" % ids[-5:]
  return vocabulary.decode(ids[:-1])


# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
  """Writes the data and vocabulary; re-registers everything on that vocabulary."""
  root = tmp_path_factory.mktemp("wt5_tasks")
  data_dir = str(root / "tfds")
  configs = tasks.amazon_configs()
  sizes = dict(TEST_SIZES, **{"amazon_us_reviews/" + c: {"train": 100}
                              for c in configs})
  demo_data.write_demo_data(data_dir, sizes=sizes, amazon_configs=configs)
  model = demo_data.train_demo_vocabulary(data_dir, str(root / "spm"))
  test_vocab = vocab.WT5Vocabulary(model)
  seqio.set_tfds_data_dir_override(data_dir)
  tasks.register_tasks(test_vocab)
  mixtures.register_mixtures()
  yield data_dir, test_vocab
  seqio.set_tfds_data_dir_override(None)
  tasks.register_tasks()
  mixtures.register_mixtures()


def read_task(name, split, count):
  task = seqio.get_mixture_or_task(name)
  ds = task.get_dataset(SEQUENCE_LENGTH, split=split, shuffle=False,
                        use_cached=False, num_epochs=1)
  return list(ds.take(count).as_numpy_iterator())


@pytest.mark.parametrize("name", sorted(CATALOGUE_TASKS))
def test_task_yields_the_specified_examples(registry, name):
  data_dir, test_vocab = registry
  spec = CATALOGUE_TASKS[name]
  split, _ = first_split(spec)
  examples = read_task(name, split, EXAMPLES_PER_TASK)
  expected = expected_examples(spec, data_dir, EXAMPLES_PER_TASK)
  assert len(examples) == EXAMPLES_PER_TASK
  got = []
  for ex in examples:
    inputs = ex["inputs_pretokenized"].decode("utf-8")
    targets = ex["targets_pretokenized"].decode("utf-8")
    assert decode(test_vocab, ex["inputs"]) == inputs
    assert decode(test_vocab, ex["targets"]) == targets
    got.append((inputs, targets))
  assert got == expected


def test_amazon_binary_tasks_drop_three_star_reviews(registry):
  data_dir, _ = registry
  raw = tfds.load("amazon_us_reviews/Books_v1_00:0.1.0", split="train[10%:]",
                  data_dir=data_dir, shuffle_files=False)
  stars = [int(ex["data"]["star_rating"]) for ex in tfds.as_numpy(raw)]
  assert 3 in stars
  examples = read_task("amazon_reviews_books_v1_00_v010", "train", 10 ** 6)
  assert len(examples) == sum(1 for s in stars if s != 3)
  targets = [ex["targets_pretokenized"].decode() for ex in examples]
  assert targets == ["negative" if s < 3 else "positive"
                     for s in stars if s != 3]


def test_take_and_skip_split_the_training_set(registry):
  data_dir, _ = registry
  total = len(tfds.load("movie_rationales:0.1.0", split="train",
                        data_dir=data_dir))
  take = read_task("movie_rationales_explanations_take100_v010", "train",
                   10 ** 6)
  skip = read_task("movie_rationales_labels_skip100_v010", "train", 10 ** 6)
  assert len(take) == 100 and len(skip) == total - 100
  assert all(b" explanation: " in ex["targets_pretokenized"] for ex in take)
  assert not any(b" explanation: " in ex["targets_pretokenized"]
                 for ex in skip)


@pytest.mark.parametrize("name", sorted(mixtures.MIXTURE_NAMES))
def test_mixture_yields_examples_of_its_tasks(registry, name):
  data_dir, test_vocab = registry
  mixture = seqio.get_mixture_or_task(name)
  allowed = set()
  for task in mixture.tasks:
    if "train" in task.splits:
      allowed.update(expected_for_task(task.name, data_dir,
                                       EXAMPLES_PER_TASK + 5))
  ds = mixture.get_dataset(SEQUENCE_LENGTH, split="train", shuffle=False,
                           use_cached=False, seed=0)
  examples = list(ds.take(EXAMPLES_PER_TASK).as_numpy_iterator())
  assert len(examples) == EXAMPLES_PER_TASK
  for ex in examples:
    inputs = decode(test_vocab, ex["inputs"])
    targets = decode(test_vocab, ex["targets"])
    assert (inputs, targets) in allowed
