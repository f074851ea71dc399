"""Embedded WT5 demo data: small synthetic datasets in the real TFDS format.

TFDS cannot download the WT5 datasets offline (and the Amazon reviews were
withdrawn upstream). `write_demo_data(data_dir)` writes, for every source the
WT5 tasks read, a small prepared TFDS dataset with that builder's real
`features`, name, config and version, so that `tfds.load("esnli:0.1.0",
data_dir=data_dir)`, seqio's `TfdsDataSource` and
`t5_mesh_transformer --t5_tfds_data_dir=data_dir` read it like the real one.

The examples are generated from templates, deterministically from a seed, and
carry learnable structure: labels follow from the text, explanations say why,
and extractive rationales are substrings of the input. No text comes from the
real datasets.

`train_demo_vocabulary(data_dir, prefix)` trains a SentencePiece model that
covers every character of the data (byte fallback, identity normalization),
for use through `WT5_VOCAB_MODEL`.

Command line: `wt5 data --data_dir DIR [--vocab] [--all_amazon]`.
"""

import argparse
import dataclasses
import os
import random
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence

Example = Dict[str, Any]

# ---------------------------------------------------------------------------
# Word lists. Every label is decided by which list a phrase comes from.
# ---------------------------------------------------------------------------

AGENTS = {  # agent -> its category, used by entailment explanations.
    "man": "person", "woman": "person", "boy": "child", "girl": "child",
    "chef": "cook", "farmer": "worker", "dog": "animal", "cat": "animal",
    "doctor": "person", "singer": "musician",
}
ADJECTIVES = ("tall", "young", "old", "small", "happy", "tired")
ACTIVITIES = (  # (activity, a different activity that rules it out)
    ("sleeping", "running"), ("sitting", "dancing"), ("eating", "swimming"),
    ("reading", "shouting"), ("walking", "lying down"), ("singing", "sleeping"),
    ("cooking", "skiing"), ("painting", "driving"),
)
PLACES = ("park", "beach", "kitchen", "street", "garden", "library", "field",
          "station")
EXTRAS = ("with a friend", "for a contest", "before lunch", "for money",
          "after work", "on a holiday")

OBJECT_PLACES = {  # cos_e: where each object is found.
    "book": "library", "fish": "lake", "bed": "bedroom", "car": "garage",
    "oven": "kitchen", "tree": "forest", "plane": "airport", "cow": "farm",
    "desk": "office", "sand": "beach", "swing": "playground",
    "train": "station",
}

POSITIVE_PHRASES = (
    "the acting was wonderful", "a truly moving story", "the music is superb",
    "I loved every minute", "a brilliant and funny script",
    "the cast is excellent", "beautifully shot scenes",
    "the ending is perfect",
)
NEGATIVE_PHRASES = (
    "the acting was terrible", "a dull and boring story",
    "the music is awful", "I hated every minute", "a lazy and stupid script",
    "the cast is wasted", "badly shot scenes", "the ending is a mess",
)
NEUTRAL_SENTENCES = (
    "The film runs for two hours.", "I watched it on a Sunday.",
    "It was released last spring.", "The story takes place in a small town.",
    "My brother came with me.", "The director has made four films.",
    "It is based on a novel.", "Most of it was shot in winter.",
)
PRODUCTS = ("lamp", "kettle", "novel", "charger", "backpack", "blender",
            "headset", "notebook")
STAR_WORDS = {
    1: ("Awful", "broke after one day and I want my money back"),
    2: ("Disappointing", "works poorly and feels cheap"),
    3: ("Okay", "does the job but nothing special"),
    4: ("Good", "works well and I am happy with it"),
    5: ("Excellent", "works perfectly and I love it"),
}
NAMES = ("Ann", "Bob", "Carla", "Dev", "Emma", "Farid", "Gina", "Hugo")
CITIES = ("Paris", "Lima", "Oslo", "Cairo", "Tokyo", "Quito", "Rome", "Delhi")
JOBS = ("nurse", "pilot", "baker", "teacher", "lawyer", "plumber")
PETS = ("a dog", "a cat", "two birds", "a rabbit", "no pets")

NLI_LABELS = ("entailment", "neutral", "contradiction")


def _cap(sentence: str) -> str:
  """_cap("a man.") -> "A man." """
  return sentence[:1].upper() + sentence[1:]


# ---------------------------------------------------------------------------
# Example generators: (rng, index, split) -> one example in the TFDS schema.
# ---------------------------------------------------------------------------

def nli_pair(rng: random.Random, label: int) -> Dict[str, Any]:
  """A premise/hypothesis pair whose NLI label follows from the words.

  label 2 -> {"premise": "A tall man is sleeping in the park.",
              "hypothesis": "A man is running in the park.",
              "explanations": ["One cannot be sleeping and running at the same time.", ...]}
  """
  agent = rng.choice(sorted(AGENTS))
  adjective = rng.choice(ADJECTIVES)
  activity, other = rng.choice(ACTIVITIES)
  place = rng.choice(PLACES)
  premise = "A %s %s is %s in the %s." % (adjective, agent, activity, place)
  if label == 0:
    hypothesis = "A %s is %s in the %s." % (AGENTS[agent], activity, place)
    explanations = ["A %s is a %s." % (agent, AGENTS[agent]),
                    "Every %s is a %s." % (agent, AGENTS[agent]),
                    "The %s is %s in the %s." % (agent, activity, place)]
  elif label == 1:
    extra = rng.choice(EXTRAS)
    hypothesis = "A %s is %s %s." % (agent, activity, extra)
    explanations = ["Not every %s is %s %s." % (agent, activity, extra),
                    "The %s may not be %s %s." % (agent, activity, extra),
                    "We do not know if it is %s." % extra]
  else:
    hypothesis = "A %s is %s in the %s." % (agent, other, place)
    explanations = [
        "One cannot be %s and %s at the same time." % (activity, other),
        "%s is not %s." % (_cap(activity), other),
        "The %s is %s, not %s." % (agent, activity, other)]
  return {"premise": premise, "hypothesis": hypothesis,
          "explanations": explanations}


def esnli_example(rng: random.Random, index: int, split: str) -> Example:
  label = rng.randrange(3)
  pair = nli_pair(rng, label)
  explanations = pair["explanations"]
  if split == "train":  # Like e-SNLI: one explanation per training example.
    explanations = [explanations[0], "", ""]
  return {"premise": pair["premise"], "hypothesis": pair["hypothesis"],
          "label": label, "explanation_1": explanations[0],
          "explanation_2": explanations[1], "explanation_3": explanations[2]}


def mnli_example(rng: random.Random, index: int, split: str) -> Example:
  label = rng.randrange(3)
  pair = nli_pair(rng, label)
  if split.startswith("test"):
    label = -1  # GLUE test labels are hidden.
  return {"premise": pair["premise"], "hypothesis": pair["hypothesis"],
          "label": label, "idx": index}


def cos_e_example(rng: random.Random, index: int, split: str) -> Example:
  obj = rng.choice(sorted(OBJECT_PLACES))
  answer = OBJECT_PLACES[obj]
  others = sorted(set(OBJECT_PLACES.values()) - {answer})
  choices = rng.sample(others, 4) + [answer]
  rng.shuffle(choices)
  return {"id": "%s%05d" % (split[:2], index),
          "question": "Where would you usually find a %s?" % obj,
          "choices": choices, "answer": answer,
          "abstractive_explanation": "A %s is found in a %s." % (obj, answer),
          "extractive_explanation": "find a %s" % obj}


def review_with_rationales(rng: random.Random, label: int,
                           num_rationales: int = 2) -> Dict[str, Any]:
  """A short movie review; its rationales are the sentiment phrases in it.

  label 1 -> {"review": "The film runs for two hours. I think the cast is
  excellent. ...", "evidences": ["the cast is excellent", ...]}
  """
  phrases = rng.sample(POSITIVE_PHRASES if label else NEGATIVE_PHRASES,
                       num_rationales)
  sentences = rng.sample(NEUTRAL_SENTENCES, 3)
  for phrase in phrases:
    sentences.insert(rng.randrange(len(sentences) + 1),
                     "In my view %s." % phrase)
  return {"review": " ".join(sentences), "evidences": phrases}


def movie_example(rng: random.Random, index: int, split: str) -> Example:
  label = rng.randrange(2)
  review = review_with_rationales(rng, label, rng.choice((1, 2)))
  return {"review": review["review"], "label": label,
          "evidences": review["evidences"]}


def imdb_example(rng: random.Random, index: int, split: str) -> Example:
  label = rng.randrange(2)
  text = review_with_rationales(rng, label)["review"]
  return {"text": text, "label": -1 if split == "unsupervised" else label}


def multi_rc_example(rng: random.Random, index: int, split: str) -> Example:
  name = rng.choice(NAMES)
  city, wrong_city = rng.sample(CITIES, 2)
  job = rng.choice(JOBS)
  pet = rng.choice(PETS)
  facts = ["%s lives in %s." % (name, city), "%s works as a %s." % (name, job),
           "%s has %s." % (name, pet), "The weather there is mild."]
  rng.shuffle(facts)
  label = rng.randrange(2)
  if rng.randrange(2):
    query, answer, evidence = ("Where does %s live?" % name,
                               city if label else wrong_city,
                               "%s lives in %s." % (name, city))
  else:
    wrong_job = rng.choice([j for j in JOBS if j != job])
    query, answer, evidence = ("What is the job of %s?" % name,
                               job if label else wrong_job,
                               "%s works as a %s." % (name, job))
  return {"passage": " ".join(facts),
          "query_and_answer": "%s || %s" % (query, answer),
          "label": label, "evidences": [evidence]}


def amazon_example(rng: random.Random, index: int, split: str,
                   category: str = "Books") -> Example:
  stars = (5, 1, 3, 4, 2)[index % 5] if index < 10 else rng.randint(1, 5)
  product = rng.choice(PRODUCTS)
  headline, verdict = STAR_WORDS[stars]
  return {"data": {
      "marketplace": "US", "customer_id": str(10000 + index),
      "review_id": "R%06d" % index, "product_id": "P%04d" % rng.randrange(9999),
      "product_parent": str(rng.randrange(10 ** 6)),
      "product_title": "A %s" % product, "product_category": category,
      "star_rating": stars, "helpful_votes": rng.randrange(5),
      "total_votes": rng.randrange(5, 10), "vine": 0,
      "verified_purchase": 1, "review_headline": headline,
      "review_body": "This %s %s." % (product, verdict),
      "review_date": "2015-0%d-1%d" % (1 + index % 9, index % 10)}}


# ---------------------------------------------------------------------------
# The sources: builder, config, version, splits and default sizes.
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Source:
  """One TFDS dataset to write: `name[/config]:version` and its splits."""
  name: str
  config: Optional[str]
  version: str
  sizes: Mapping[str, int]
  generate: Callable[[random.Random, int, str], Example]

  @property
  def full_name(self) -> str:
    """Source("glue", "mnli", "1.0.0", ...).full_name -> "glue/mnli:1.0.0"."""
    return "%s%s:%s" % (self.name, "/" + self.config if self.config else "",
                        self.version)

  @property
  def key(self) -> str:
    """The name used in `sizes` overrides: "glue/mnli" or "esnli"."""
    return self.name + ("/" + self.config if self.config else "")


SOURCES = (
    Source("esnli", None, "0.1.0",
           {"train": 3000, "validation": 100, "test": 100}, esnli_example),
    Source("cos_e", None, "0.0.1", {"train": 1000, "validation": 100},
           cos_e_example),
    Source("movie_rationales", None, "0.1.0",
           {"train": 1600, "validation": 100, "test": 100}, movie_example),
    Source("eraser_multi_rc", None, "0.1.1",
           {"train": 1000, "validation": 100, "test": 100}, multi_rc_example),
    Source("glue", "mnli", "1.0.0",
           {"train": 500, "validation_matched": 100,
            "validation_mismatched": 100, "test_matched": 50,
            "test_mismatched": 50}, mnli_example),
    Source("glue", "mnli_matched", "1.0.0", {"validation": 100, "test": 50},
           mnli_example),
    Source("glue", "mnli_mismatched", "1.0.0", {"validation": 100, "test": 50},
           mnli_example),
    Source("imdb_reviews", "plain_text", "1.0.0",
           {"train": 200, "test": 100, "unsupervised": 50}, imdb_example),
)
AMAZON_SIZES = {"train": 300}
DEFAULT_AMAZON_CONFIGS = ("Books_v1_00",)


def amazon_sources(configs: Sequence[str]) -> List[Source]:
  """Sources for `amazon_us_reviews/<config>:0.1.0`, one per configuration."""
  sources = []
  for config in configs:
    category = config.rsplit("_v", 1)[0]
    generate = (lambda rng, i, split, category=category:
                amazon_example(rng, i, split, category))
    sources.append(Source("amazon_us_reviews", config, "0.1.0", AMAZON_SIZES,
                          generate))
  return sources


def generate_split(source: Source, split: str, size: int,
                   seed: int = 0) -> Iterator[Example]:
  """The examples of one split, the same for the same seed."""
  rng = random.Random("%s/%s/%d" % (source.key, split, seed))
  for index in range(size):
    yield source.generate(rng, index, split)


def write_demo_data(data_dir: str, *,
                    sizes: Optional[Mapping[str, Mapping[str, int]]] = None,
                    seed: int = 0,
                    amazon_configs: Sequence[str] = DEFAULT_AMAZON_CONFIGS
                    ) -> Dict[str, Dict[str, int]]:
  """Writes every demo dataset under `data_dir`; returns {dataset: {split: n}}.

  `sizes` overrides split sizes per source key, e.g.
  {"esnli": {"train": 50100}}. A dataset already prepared in `data_dir` (same
  name, config and version) is replaced.

  write_demo_data("/tmp/d")["esnli:0.1.0"] -> {"train": 3000, "validation": 100, "test": 100}
  """
  import shutil  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  tfds.disable_progress_bar()
  sizes = dict(sizes or {})
  summary = {}
  for source in list(SOURCES) + amazon_sources(amazon_configs):
    split_sizes = dict(source.sizes, **sizes.get(source.key, {}))
    features = tfds.builder(source.key).info.features
    target = os.path.join(data_dir, source.name, *(
        [source.config] if source.config else []), source.version)
    if os.path.isdir(target):
      shutil.rmtree(target)
    split_datasets = {
        split: [("%s-%07d" % (split, i), ex) for i, ex in enumerate(
            generate_split(source, split, n, seed))]
        for split, n in split_sizes.items()}
    tfds.dataset_builders.store_as_tfds_dataset(
        name=source.name, config=source.config, version=source.version,
        features=features, split_datasets=split_datasets, data_dir=data_dir,
        disable_shuffling=True,
        description="WT5 demo data: synthetic examples in the schema of %s."
        % source.key)
    summary[source.full_name] = split_sizes
  shutil.rmtree(os.path.join(data_dir, "downloads"), ignore_errors=True)
  return summary


def _text_values(value: Any) -> Iterator[str]:
  if isinstance(value, bytes):
    yield value.decode("utf-8")
  elif isinstance(value, str):
    yield value
  elif isinstance(value, Mapping):
    for v in value.values():
      yield from _text_values(v)
  elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
    items = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(items, list):
      for v in items:
        yield from _text_values(v)


def iter_demo_text(data_dir: str, max_per_split: int = 2000) -> Iterator[str]:
  """Every text feature of the prepared demo datasets under `data_dir`."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from wt5 import tasks  # pylint: disable=g-import-not-at-top

  sources = list(SOURCES) + amazon_sources(tasks.amazon_configs())
  for source in sources:
    path = os.path.join(data_dir, source.name, *(
        [source.config] if source.config else []), source.version)
    if not os.path.isdir(path):
      continue
    builder = tfds.builder_from_directory(path)
    for split in builder.info.splits:
      ds = builder.as_dataset(split=split, shuffle_files=False)
      for example in tfds.as_numpy(ds.take(max_per_split)):
        yield from _text_values(example)


# Words of the WT5 prompts and labels, so that they get pieces of their own.
PROMPT_WORDS = ("explain", "explanation:", "hypothesis:", "premise:",
                "question:", "choice:", "review:", "passage:", "query:",
                "answer:", "sentiment", "nli", "cos_e", "multirc",
                "entailment", "neutral", "contradiction", "positive",
                "negative", "True", "False", "<unk>")


def train_demo_vocabulary(data_dir: str, model_prefix: str,
                          vocab_size: int = 2000) -> str:
  """Trains a SentencePiece model on the demo data; returns the .model path.

  T5's conventions (pad 0, EOS 1, unk 2, no BOS); identity normalization and
  byte fallback, so every text decodes back exactly.
  """
  import sentencepiece as spm  # pylint: disable=g-import-not-at-top

  directory = os.path.dirname(os.path.abspath(model_prefix))
  os.makedirs(directory, exist_ok=True)
  corpus = model_prefix + ".corpus.txt"
  with open(corpus, "w", encoding="utf-8") as f:
    f.write(" ".join(PROMPT_WORDS) + "\n")
    for text in iter_demo_text(data_dir):
      for line in text.splitlines():
        if line.strip():
          f.write(line + "\n")
  spm.SentencePieceTrainer.train(
      input=corpus, model_prefix=model_prefix, vocab_size=vocab_size,
      model_type="unigram", character_coverage=1.0, byte_fallback=True,
      normalization_rule_name="identity", remove_extra_whitespaces=False,
      split_digits=True, hard_vocab_limit=False, pad_id=0, eos_id=1,
      unk_id=2, bos_id=-1, num_threads=2, minloglevel=2)
  os.remove(corpus)
  return model_prefix + ".model"


# ---------------------------------------------------------------------------
# `wt5 data`
# ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--data_dir", default="wt5_demo/data",
                      help="Directory to write the TFDS datasets into.")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--all_amazon", action="store_true",
                      help="Write all 46 amazon_us_reviews configurations "
                      "(default: Books_v1_00 only).")
  parser.add_argument("--vocab", action="store_true",
                      help="Also train a SentencePiece vocabulary into "
                      "DATA_DIR/vocab/wt5_demo.model.")


def run(args: argparse.Namespace) -> int:
  """Writes the demo data (and vocabulary) and says how to use them."""
  from wt5 import tasks  # pylint: disable=g-import-not-at-top

  configs = tasks.amazon_configs() if args.all_amazon else DEFAULT_AMAZON_CONFIGS
  data_dir = os.path.abspath(args.data_dir)
  summary = write_demo_data(data_dir, seed=args.seed, amazon_configs=configs)
  for name, splits in summary.items():
    print("%-40s %s" % (name, ", ".join("%s=%d" % kv for kv in splits.items())))
  print("\nWrote %d datasets to %s" % (len(summary), data_dir))
  print("Use them with: t5_mesh_transformer --t5_tfds_data_dir=%s ..." %
        data_dir)
  if args.vocab:
    model = train_demo_vocabulary(
        data_dir, os.path.join(data_dir, "vocab", "wt5_demo"))
    print("Vocabulary: export WT5_VOCAB_MODEL=%s" % model)
  return 0
