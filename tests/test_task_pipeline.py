"""Registered tasks and mixtures read through seqio from TFDS-format data.

The data are the embedded demo datasets (each builder's real features, names
and versions), written once for this module; the vocabulary is the session's
small SentencePiece model (tests/conftest.py). The first examples of a
task's first split go through the full seqio pipeline; the decoded token ids
must equal the `*_pretokenized` strings, and those must equal what an
independent Python rendering of the 2020 preprocessing gives for the raw TFDS
example.

What is covered where:
  - tests/test_registry.py: every task's definition (TFDS source, splits,
    preprocessor and its keyword arguments, postprocessor, metrics) and every
    mixture's definition (tasks and rates) equal catalogue.json.
  - test_task_yields_the_specified_examples: one task of each distinct
    configuration in the catalogue (TFDS dataset, preprocessor, keyword
    arguments, the split names), `PIPELINE_TASKS`: 29 of the 163 tasks. The
    others differ from their representative only by a `take N`/`skip N`
    count or by the Amazon configuration (46, which differ only by source);
    the representative is the one with the smallest count, and Books_v1_00.
  - test_take_and_skip_split_the_training_set: the `take N`/`skip N` slicing.
  - test_amazon_binary_tasks_drop_three_star_reviews: the whole Amazon split.
  - test_mixture_yields_examples_of_its_tasks: one mixture of each distinct
    shape (the configurations of its tasks and the kind of their rates),
    `PIPELINE_MIXTURES`: 14 of the 54 (the `N` of `esnli_N_explanations`
    and the like, and the movie aliases, only change counts), in the slow
    tier. Of the four shapes over all 46 Amazon configurations (each
    mixture builds 46 to 93 task pipelines), one runs, after writing those
    datasets: `ALL_AMAZON_MIXTURE`; the other three (amazon_reviews,
    amazon_reviews_movie_rationales, amazon_reviews_movies_r10) are
    covered by their definitions and the Amazon task representatives.
"""

import functools
import json
import re

import pytest
import seqio
import tensorflow_datasets as tfds

import catalogue_data
import demo_registry as demo_registry_lib
from wt5 import mixtures
from wt5 import tfds_data
from wt5.datasets import demo_data as demo_data

CATALOGUE_TASKS = catalogue_data.TASKS
CATALOGUE_MIXTURES = catalogue_data.MIXTURES

SEQUENCE_LENGTH = {"inputs": 4096, "targets": 1024}
# Training sets just larger than the smallest "take N" of each family (100),
# so that its "skip N" task has examples too.
TEST_SIZES = demo_registry_lib.split_sizes({  # (train, validation, test)
    "esnli": (105, 5, 5), "cos_e": (105, 5, 0),
    "movie_rationales": (105, 5, 5), "eraser_multi_rc": (105, 5, 5),
    "glue/mnli": (5, 5, 5), "glue/mnli_matched": (0, 5, 5),
    "glue/mnli_mismatched": (0, 5, 5), "imdb_reviews/plain_text": (5, 0, 5),
})
AMAZON_SIZE = {"train": 80}  # validation = train[:10%]: 8, some of 3 stars
EXAMPLES_PER_TASK = 3


# ---------------------------------------------------------------------------
# One task per distinct configuration, one mixture per distinct shape.
# ---------------------------------------------------------------------------

def configuration(spec):
  """configuration(catalogue task) -> (dataset, preprocessor, kwargs, splits)."""
  tfds_name = spec["tfds"]
  if tfds_name.startswith("amazon_us_reviews/"):
    tfds_name = "amazon_us_reviews/*"
  splits = spec["splits"]
  if isinstance(splits, dict):
    splits = sorted(splits)
  return (tfds_name, spec["preprocessor"]["fn"],
          json.dumps(spec["preprocessor"]["kwargs"], sort_keys=True),
          json.dumps(splits))


def count(name):
  """The N of a take/skip task or mixture: count("esnli_labels_skip100_v010") -> 100."""
  found = re.findall(r"(?:take|skip)(\d+)_v|_(\d+)_explanations", name)
  return max([int(a or b) for a, b in found], default=0)


def representatives(names, key, cost):
  """{the cheapest name of each group of equal key(name): the group}."""
  groups = {}
  for name in names:
    groups.setdefault(key(name), []).append(name)
  return {min(group, key=cost): sorted(group) for group in groups.values()}


def rate_kind(rate):
  return ("examples" if rate is None or rate == "num_input_examples" or
          str(rate).startswith("rate = number") else "fixed")


def mixture_shape(name):
  spec = CATALOGUE_MIXTURES[name]
  return tuple(sorted({
      (configuration(CATALOGUE_TASKS[task]),
       rate_kind(spec["default_rate"] if rate is None else rate))
      for task, rate in spec["tasks"]}))


def all_amazon(name):
  return sum(t.startswith("amazon_reviews_") for t, _ in
             CATALOGUE_MIXTURES[name]["tasks"]) > 2


PIPELINE_TASKS = representatives(
    CATALOGUE_TASKS, lambda n: configuration(CATALOGUE_TASKS[n]),
    lambda n: (count(n), "books_v1_00" not in n, n))
ALL_AMAZON_MIXTURE = "amazon_reviews_movies_transfer_r10"
PIPELINE_MIXTURES = representatives(
    CATALOGUE_MIXTURES, mixture_shape,
    lambda n: (max(count(t) for t, _ in CATALOGUE_MIXTURES[n]["tasks"]), n))


def test_representatives_cover_the_catalogue():
  assert sorted(n for g in PIPELINE_TASKS.values() for n in g) == sorted(
      CATALOGUE_TASKS)
  assert (len(PIPELINE_TASKS), len(CATALOGUE_TASKS)) == (29, 163)
  assert sorted(n for g in PIPELINE_MIXTURES.values() for n in g) == sorted(
      CATALOGUE_MIXTURES)
  assert len(PIPELINE_MIXTURES) == 14
  assert sorted(n for n in PIPELINE_MIXTURES if all_amazon(n)) == [
      "amazon_reviews", "amazon_reviews_movie_rationales",
      "amazon_reviews_movies_r10", ALL_AMAZON_MIXTURE]
  assert set(mixtures.MIXTURE_NAMES) - set(CATALOGUE_MIXTURES) == {
      "movie_rationales_take%d_explanations" % n for n in (1000, 500, 200, 100)}


# ---------------------------------------------------------------------------
# An independent rendering of the 2020 input and target formats for one raw
# TFDS example (numpy values).
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
  """The first `count` (inputs, targets) of a catalogue task, by that rendering."""
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
def registry(demo_registry):
  """The demo data (Books_v1_00 of Amazon); everything registered on it."""
  with demo_registry(
      "wt5_tasks", sizes=dict(TEST_SIZES, **{
          "amazon_us_reviews/Books_v1_00": AMAZON_SIZE})) as reg:
    yield reg.data_dir, reg.vocabulary


@pytest.fixture(scope="module")
def all_amazon_configs(registry):
  """Adds the other 45 Amazon configurations to the registry's data."""
  data_dir, _ = registry
  others = [c for c in tfds_data.amazon_configs() if c != "Books_v1_00"]
  demo_data.write_demo_data(
      data_dir, sources=["amazon_us_reviews"], amazon_configs=others,
      sizes={"amazon_us_reviews/" + c: {"train": 20} for c in others})
  return registry


def read_task(name, split, count):
  task = seqio.get_mixture_or_task(name)
  ds = task.get_dataset(SEQUENCE_LENGTH, split=split, shuffle=False,
                        use_cached=False, num_epochs=1)
  return list(ds.take(count).as_numpy_iterator())


@pytest.mark.parametrize("name", sorted(PIPELINE_TASKS))
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


@pytest.mark.slow  # 2 to 10 s each; their definitions: test_registry.
@pytest.mark.parametrize("name", [
    n for n in sorted(PIPELINE_MIXTURES) if not all_amazon(n)] + [
        # 51 task pipelines and 45 datasets to write first.
        pytest.param(ALL_AMAZON_MIXTURE, marks=pytest.mark.timeout(900))])
def test_mixture_yields_examples_of_its_tasks(request, name):
  data_dir, test_vocab = request.getfixturevalue(
      "all_amazon_configs" if all_amazon(name) else "registry")
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
