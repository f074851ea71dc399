"""Embedded WT5 demo data: small synthetic datasets in the real TFDS format.

TFDS cannot download the WT5 datasets offline (and the Amazon reviews were
withdrawn upstream). `write_demo_data(data_dir)` writes, for every source the
WT5 tasks read, a small prepared TFDS dataset with that builder's real
`features`, name, config and version, so that `tfds.load("esnli:0.1.0",
data_dir=data_dir)`, seqio's `TfdsDataSource("glue/mnli:1.0.0",
tfds_data_dir=data_dir)` and `t5_mesh_transformer --t5_tfds_data_dir=data_dir`
read it as they would read the real one.

The examples are generated from templates, deterministically from a seed, and
carry learnable structure: labels follow from the words, explanations say why
in short formulaic sentences, and extractive rationales are substrings of the
input. No text comes from the real datasets.

`train_demo_vocabulary(data_dir, prefix)` trains a SentencePiece model that
covers every character of the data (byte fallback, identity normalization),
for use through `WT5_VOCAB_MODEL`.

Command line: `wt5 data --data_dir DIR [--all_amazon] [--vocab]`.
"""

import argparse
import contextlib
import dataclasses
import functools
import io
import json
import os
import random
import subprocess
import sys
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence)

Example = Dict[str, Any]
Generator = Callable[[random.Random, int, str], Example]

# ---------------------------------------------------------------------------
# Word lists. Every label is decided by which list a phrase comes from.
# ---------------------------------------------------------------------------

# NLI: agent -> its category (entailment replaces the agent by its category).
AGENTS = {
    "man": "person", "woman": "person", "boy": "child", "girl": "child",
    "chef": "cook", "farmer": "worker", "doctor": "person",
    "singer": "musician", "student": "person", "baby": "child",
    "dog": "animal", "horse": "animal",
}
ADJECTIVES = ("tall", "young", "old", "small", "happy", "tired", "quiet")
# (activity, another activity that rules the first one out).
ACTIVITIES = (
    ("sleeping", "running"), ("sitting", "dancing"), ("eating", "swimming"),
    ("resting", "jumping"), ("walking", "lying down"),
    ("standing", "sleeping"), ("waiting", "climbing"), ("playing", "sleeping"),
)
PLACES = ("park", "kitchen", "garden", "library", "field", "yard", "hall",
          "forest")
# Places of the "mismatched" MNLI configurations (a different domain).
OTHER_PLACES = ("office", "airport", "museum", "harbor", "market", "stadium")
EXTRAS = ("with a friend", "for a contest", "before lunch", "for money",
          "after work", "on a holiday", "to win a prize")
NLI_LABELS = ("entailment", "neutral", "contradiction")

# CoS-E: two kinds of commonsense questions.
OBJECT_PLACES = {  # object -> where it is usually found.
    "book": "library", "fish": "lake", "pillow": "bedroom", "car": "garage",
    "oven": "kitchen", "tree": "forest", "plane": "airport", "cow": "farm",
    "desk": "office", "shell": "beach", "swing": "playground",
    "train": "station", "painting": "museum", "nurse": "hospital",
    "lion": "zoo",
}
TOOL_USES = {  # tool -> what it is used for.
    "pen": "write a letter", "shovel": "dig a hole", "broom": "sweep the floor",
    "kettle": "boil water", "clock": "tell the time", "key": "open a door",
    "camera": "take a photo", "ladder": "reach a high shelf",
    "knife": "cut bread", "umbrella": "stay dry in the rain",
    "towel": "dry your hands", "map": "find the way",
}
PLACE_QUESTIONS = ("Where would you usually find {a_obj}?",
                   "Where is {a_obj} most likely to be?",
                   "If you want to see {a_obj}, where do you go?")
TOOL_QUESTIONS = ("What do you need to {use}?",
                  "What would you use to {use}?",
                  "What helps you {use}?")

# Movie reviews: sentiment phrases (the rationales) inside neutral filler.
ASPECTS = ("acting", "plot", "music", "dialogue", "ending", "camera work",
           "pacing", "script", "lead actor", "soundtrack", "story", "cast")
POSITIVE_WORDS = ("wonderful", "superb", "brilliant", "moving", "clever",
                  "excellent", "charming", "gripping")
NEGATIVE_WORDS = ("terrible", "awful", "dull", "boring", "clumsy", "lazy",
                  "painful", "weak")
INTENSIFIERS = ("truly", "really", "simply", "quite")
POSITIVE_VERDICTS = ("I loved every minute of it",
                     "I would gladly watch it again",
                     "it is worth every penny",
                     "it was the best film I saw this year")
NEGATIVE_VERDICTS = ("I hated every minute of it",
                     "I want those two hours back",
                     "it is a waste of money",
                     "it was the worst film I saw this year")
# Frames put a rationale inside a sentence; it never starts the sentence, so
# the rationale stays a literal substring of the review.
FRAMES = ("Honestly, {}.", "I have to say {}.", "In my opinion {}.",
          "To be fair, {}.", "I think {}.", "Overall {}.",
          "My friends agree {}.")
FILLERS = (
    "The film runs for {minutes} minutes.",
    "I saw it on a {day} with my {relative}.",
    "It came out in {year}.",
    "The story is set in a small town near the {geo}.",
    "The director made {count} films before this one.",
    "It is based on a {source}.",
    "Most of it was shot in {season}.",
    "The main character is a {job} named {name}.",
    "There are {count} songs in it.",
    "The cinema was {fullness} that night.",
    "My {relative} had read about it in a magazine.",
    "It is the {ordinal} film in a series.",
)
FILLER_WORDS = {
    "day": ("Monday", "Friday", "Sunday", "rainy evening", "holiday"),
    "relative": ("brother", "sister", "father", "mother", "cousin",
                 "neighbor"),
    "geo": ("sea", "mountains", "border", "river", "desert"),
    "source": ("novel", "true story", "comic book", "play", "short story"),
    "season": ("winter", "summer", "spring", "autumn"),
    "fullness": ("almost empty", "half full", "packed", "quiet"),
    "ordinal": ("second", "third", "fourth"),
}
NAMES = ("Ann", "Bob", "Carla", "Dev", "Emma", "Farid", "Gina", "Hugo", "Ines",
         "Jon", "Kemal", "Lena")
CITIES = ("Paris", "Lima", "Oslo", "Cairo", "Tokyo", "Quito", "Rome", "Delhi",
          "Accra", "Hanoi")
JOBS = ("nurse", "pilot", "baker", "teacher", "lawyer", "plumber", "farmer",
        "painter")
PETS = ("a dog", "a cat", "two birds", "a rabbit", "a turtle", "three fish")
HOBBIES = ("chess", "tennis", "cooking", "hiking", "singing", "painting")
PASSAGE_FILLERS = ("The weather there is mild.", "It rained all week.",
                   "The town has a new bridge.", "The market opens early.",
                   "Everyone knows each other there.")

# Amazon: headline and body sentences per star rating.
PRODUCTS = ("lamp", "kettle", "novel", "charger", "backpack", "blender",
            "headset", "notebook", "jacket", "watch", "toy car", "mug")
STAR_HEADLINES = {
    1: ("Awful", "Total waste", "Broken on arrival"),
    2: ("Disappointing", "Not great", "Could be better"),
    3: ("Okay", "Average", "It is fine"),
    4: ("Good", "Pretty good", "Happy with it"),
    5: ("Excellent", "Love it", "Perfect"),
}
STAR_SENTENCES = {
    1: ("It broke after one day.", "I want my money back.",
        "Do not buy this."),
    2: ("It works poorly.", "It feels cheap.", "I expected more."),
    3: ("It does the job.", "Nothing special.", "Some parts are good."),
    4: ("It works well.", "I would buy it again.", "Good value."),
    5: ("It works perfectly.", "Best purchase this year.",
        "I recommend it to everyone."),
}
AMAZON_STAR_WEIGHTS = (1, 1, 1, 2, 4)  # Skewed to 5 stars like real reviews.

# Words of the WT5 prompts and labels, so that the vocabulary has them.
PROMPT_WORDS = ("explain", "explanation:", "hypothesis:", "premise:",
                "question:", "choice:", "review:", "passage:", "query:",
                "answer:", "label:", "sentiment", "sentiment:", "nli", "cos_e",
                "multirc", "hyp", "nem", "_X_", "entailment", "neutral",
                "contradiction", "positive", "negative", "True", "False",
                "<unk>", "0 1 2 3 4 5 6 7 8 9")


def _cap(sentence: str) -> str:
  """_cap("a man.") -> "A man." """
  return sentence[:1].upper() + sentence[1:]


def _a(noun: str) -> str:
  """_a("oven") -> "an oven"; _a("man") -> "a man"."""
  return ("an " if noun[:1] in "aeiou" else "a ") + noun


# ---------------------------------------------------------------------------
# Example generators: (rng, index, split) -> one example in the TFDS schema.
# ---------------------------------------------------------------------------

def nli_pair(rng: random.Random, label: int,
             places: Sequence[str] = PLACES) -> Dict[str, Any]:
  """A premise/hypothesis pair whose NLI label follows from the words.

  Entailment names the agent by its category, neutral adds a detail the
  premise does not give, contradiction swaps the activity for one that rules
  it out. Three explanations, each saying why.

  nli_pair(rng, 2) -> {"premise": "A tall man is sleeping in the park.",
                       "hypothesis": "A man is running in the park.",
                       "explanations": ["Sleeping and running are different.", ...]}
  """
  if label not in (0, 1, 2):
    raise ValueError("nli_pair: label must be 0, 1 or 2, got %r" % (label,))
  agent = rng.choice(sorted(AGENTS))
  category = AGENTS[agent]
  adjective = rng.choice(ADJECTIVES)
  activity, other = rng.choice(ACTIVITIES)
  place = rng.choice(places)
  premise = "%s %s is %s in the %s." % (_cap(_a(adjective)), agent, activity,
                                        place)
  if label == 0:
    hypothesis = "%s is %s in the %s." % (_cap(_a(category)), activity, place)
    explanations = ["%s is %s." % (_cap(_a(agent)), _a(category)),
                    "Every %s is %s." % (agent, _a(category)),
                    "The %s is %s in the %s." % (agent, activity, place)]
  elif label == 1:
    extra = rng.choice(EXTRAS)
    hypothesis = "%s is %s %s." % (_cap(_a(agent)), activity, extra)
    explanations = ["Not every %s is %s %s." % (agent, activity, extra),
                    "The %s may not be %s %s." % (agent, activity, extra),
                    "We do not know if it is %s." % extra]
  else:
    hypothesis = "%s is %s in the %s." % (_cap(_a(agent)), other, place)
    explanations = ["%s and %s are different." % (_cap(activity), other),
                    "One cannot be %s and %s at once." % (activity, other),
                    "The %s is %s, not %s." % (agent, activity, other)]
  return {"premise": premise, "hypothesis": hypothesis,
          "explanations": explanations}


def esnli_example(rng: random.Random, index: int, split: str) -> Example:
  """An e-SNLI example; like e-SNLI, training examples have one explanation.

  esnli_example(rng, 0, "test") -> {"premise": ..., "hypothesis": ...,
      "label": 2, "explanation_1": "Sitting and dancing are different.",
      "explanation_2": ..., "explanation_3": ...}
  """
  del index  # Unused.
  label = rng.randrange(3)
  pair = nli_pair(rng, label)
  texts = pair["explanations"]
  if split == "train":
    texts = [texts[0], "", ""]
  return {"premise": pair["premise"], "hypothesis": pair["hypothesis"],
          "label": label, "explanation_1": texts[0],
          "explanation_2": texts[1], "explanation_3": texts[2]}


def mnli_example(rng: random.Random, index: int, split: str,
                 places: Optional[Sequence[str]] = None) -> Example:
  """A GLUE MNLI example; test labels are hidden (-1) as in GLUE.

  "Mismatched" splits (and `places=OTHER_PLACES`) set their scenes elsewhere.

  mnli_example(rng, 7, "train") -> {"premise": ..., "hypothesis": ...,
                                    "label": 1, "idx": 7}
  """
  if places is None:
    places = OTHER_PLACES if "mismatched" in split else PLACES
  label = rng.randrange(3)
  pair = nli_pair(rng, label, places)
  return {"premise": pair["premise"], "hypothesis": pair["hypothesis"],
          "label": -1 if split.startswith("test") else label, "idx": index}


def cos_e_example(rng: random.Random, index: int, split: str) -> Example:
  """A CoS-E example: a question, five choices and why the answer fits.

  cos_e_example(rng, 3, "train") -> {"id": "tr00003",
      "question": "What would you use to dig a hole?",
      "choices": ["map", "shovel", "pen", "clock", "key"], "answer": "shovel",
      "abstractive_explanation": "A shovel is used to dig a hole.",
      "extractive_explanation": "dig a hole"}
  """
  if rng.randrange(2):
    obj = rng.choice(sorted(OBJECT_PLACES))
    answer = OBJECT_PLACES[obj]
    pool = sorted(set(OBJECT_PLACES.values()) - {answer})
    question = rng.choice(PLACE_QUESTIONS).format(a_obj=_a(obj))
    abstractive = "%s is found in %s." % (_cap(_a(obj)), _a(answer))
    extractive = _a(obj)
  else:
    answer = rng.choice(sorted(TOOL_USES))
    use = TOOL_USES[answer]
    pool = sorted(set(TOOL_USES) - {answer})
    question = rng.choice(TOOL_QUESTIONS).format(use=use)
    abstractive = "%s is used to %s." % (_cap(_a(answer)), use)
    extractive = use
  choices = rng.sample(pool, 4)
  choices.insert(rng.randrange(5), answer)
  return {"id": "%s%05d" % (split[:2], index), "question": question,
          "choices": choices, "answer": answer,
          "abstractive_explanation": abstractive,
          "extractive_explanation": extractive}


def sentiment_phrase(rng: random.Random, label: int) -> str:
  """A 3 to 8 word phrase whose sentiment is `label` (1 positive, 0 negative).

  sentiment_phrase(rng, 1) -> "the music was truly superb"
  """
  words = POSITIVE_WORDS if label else NEGATIVE_WORDS
  kind = rng.randrange(4)
  if kind == 0:
    return "the %s was %s" % (rng.choice(ASPECTS), rng.choice(words))
  if kind == 1:
    return "the %s was %s %s" % (rng.choice(ASPECTS), rng.choice(INTENSIFIERS),
                                 rng.choice(words))
  if kind == 2:
    return "the %s is %s from start to finish" % (rng.choice(ASPECTS),
                                                 rng.choice(words))
  return rng.choice(POSITIVE_VERDICTS if label else NEGATIVE_VERDICTS)


def filler_sentence(rng: random.Random, template: str) -> str:
  """A sentence from one of FILLERS that says nothing about sentiment.

  filler_sentence(rng, FILLERS[0]) -> "The film runs for 104 minutes."
  """
  values = {key: rng.choice(options) for key, options in FILLER_WORDS.items()}
  values.update(minutes=rng.randrange(80, 160), year=rng.randrange(1960, 2020),
                count=rng.randrange(2, 9), job=rng.choice(JOBS),
                name=rng.choice(NAMES))
  return template.format(**values)


def review_with_rationales(rng: random.Random, label: int) -> Dict[str, Any]:
  """A movie review of about 45 to 100 words and its rationales, in order.

  The rationales are distinct sentiment phrases of polarity `label`, each
  inside a sentence of the review; the other sentences are neutral.

  review_with_rationales(rng, 1) -> {"review": "It came out in 1987. I think
      the cast was brilliant. ...", "evidences": ["the cast was brilliant", ...]}
  """
  num_evidences, num_fillers = rng.randint(2, 4), rng.randint(5, 7)
  evidences = []
  while len(evidences) < num_evidences:
    phrase = sentiment_phrase(rng, label)
    if phrase not in evidences:
      evidences.append(phrase)
  fillers = [filler_sentence(rng, template)
             for template in rng.sample(FILLERS, num_fillers)]
  # Rationale sentences go between fillers, keeping the rationales in order.
  slots = sorted(rng.sample(range(1, len(fillers) + 1), len(evidences)))
  sentences = list(fillers)
  for offset, (slot, phrase) in enumerate(zip(slots, evidences)):
    sentences.insert(slot + offset, rng.choice(FRAMES).format(phrase))
  return {"review": " ".join(sentences), "evidences": evidences}


def movie_example(rng: random.Random, index: int, split: str) -> Example:
  """A movie_rationales example; label 0 is NEG, 1 is POS.

  movie_example(rng, 0, "train") -> {"review": "...", "label": 1,
                                     "evidences": ["the plot was clever", ...]}
  """
  del index, split  # Unused.
  label = rng.randrange(2)
  return dict(review_with_rationales(rng, label), label=label)


def imdb_example(rng: random.Random, index: int, split: str) -> Example:
  """An imdb_reviews example; the unsupervised split has label -1.

  imdb_example(rng, 0, "unsupervised") -> {"text": "...", "label": -1}
  """
  del index  # Unused.
  label = rng.randrange(2)
  text = review_with_rationales(rng, label)["review"]
  return {"text": text, "label": -1 if split == "unsupervised" else label}


def multi_rc_example(rng: random.Random, index: int, split: str) -> Example:
  """An ERASER MultiRC example: passage, "question || answer", label, evidence.

  The passage describes two people. The label says whether the answer is
  right; the evidences are the passage sentences that decide it (two for
  questions that link two facts).

  multi_rc_example(rng, 0, "train") -> {"passage": "Ann lives in Oslo. ...",
      "query_and_answer": "Where does Ann live? || Rome", "label": 0,
      "evidences": ["Ann lives in Oslo."]}
  """
  del index, split  # Unused.
  people = rng.sample(NAMES, 2)
  facts = {}  # (person, kind) -> (value, sentence)
  cities, jobs = rng.sample(CITIES, 2), rng.sample(JOBS, 2)
  pets, hobbies = rng.sample(PETS, 2), rng.sample(HOBBIES, 2)
  for i, name in enumerate(people):
    facts[name, "city"] = cities[i], "%s lives in %s." % (name, cities[i])
    facts[name, "job"] = jobs[i], "%s works as %s." % (name, _a(jobs[i]))
    facts[name, "pet"] = pets[i], "%s has %s." % (name, pets[i])
    facts[name, "hobby"] = hobbies[i], "%s likes %s." % (name, hobbies[i])
  sentences = [sentence for _, sentence in facts.values()]
  sentences.append(rng.choice(PASSAGE_FILLERS))
  rng.shuffle(sentences)
  name = people[0]
  kind = rng.choice(("city", "job", "pet", "hobby", "job_city"))
  if kind == "job_city":
    query = "Where does the %s live?" % facts[name, "job"][0]
    right, wrong = cities
    evidence = [facts[name, "job"][1], facts[name, "city"][1]]
  else:
    query = {"city": "Where does %s live?", "job": "What is the job of %s?",
             "pet": "What pets does %s have?",
             "hobby": "What does %s like?"}[kind] % name
    right, wrong = facts[name, kind][0], facts[people[1], kind][0]
    evidence = [facts[name, kind][1]]
  label = rng.randrange(2)
  evidence.sort(key=sentences.index)
  return {"passage": " ".join(sentences),
          "query_and_answer": "%s || %s" % (query, right if label else wrong),
          "label": label, "evidences": evidence}


def amazon_example(rng: random.Random, index: int, split: str,
                   category: str = "Books") -> Example:
  """An amazon_us_reviews example, every feature filled, nested under "data".

  The first ten reviews cycle through all star ratings, so even tiny splits
  hold every rating (3-star reviews included).

  amazon_example(rng, 0, "train")["data"]["star_rating"] -> 5
  """
  del split  # Unused.
  stars = ((5, 1, 3, 4, 2)[index % 5] if index < 10 else
           rng.choices(range(1, 6), AMAZON_STAR_WEIGHTS)[0])
  product = rng.choice(PRODUCTS)
  body = " ".join(["This %s arrived on time." % product]
                  + rng.sample(STAR_SENTENCES[stars], 2))
  total_votes = rng.randrange(0, 12)
  return {"data": {
      "marketplace": "US",
      "customer_id": str(10000000 + rng.randrange(90000000)),
      "review_id": "R%013d" % rng.randrange(10 ** 13),
      "product_id": "B%09d" % rng.randrange(10 ** 9),
      "product_parent": str(rng.randrange(10 ** 8, 10 ** 9)),
      "product_title": "%s %s" % (rng.choice(("Classic", "Deluxe", "Basic",
                                              "Compact")), product),
      "product_category": category,
      "star_rating": stars,
      "helpful_votes": rng.randrange(total_votes + 1),
      "total_votes": total_votes,
      "vine": 1 if rng.randrange(20) else 0,  # ClassLabel ["Y", "N"].
      "verified_purchase": 0 if rng.randrange(5) else 1,  # ["Y", "N"].
      "review_headline": rng.choice(STAR_HEADLINES[stars]),
      "review_body": body,
      "review_date": "%d-%02d-%02d" % (rng.randrange(2005, 2016),
                                       rng.randint(1, 12), rng.randint(1, 28)),
  }}


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
  generate: Generator

  @property
  def key(self) -> str:
    """The name used in `sizes` and `sources`: "glue/mnli" or "esnli"."""
    return self.name + ("/" + self.config if self.config else "")

  @property
  def full_name(self) -> str:
    """Source("glue", "mnli", "1.0.0", ...).full_name -> "glue/mnli:1.0.0"."""
    return "%s:%s" % (self.key, self.version)

  def path(self, data_dir: str) -> str:
    """Where TFDS keeps the prepared data: DATA_DIR/glue/mnli/1.0.0."""
    return os.path.join(data_dir, self.key, self.version)


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
           functools.partial(mnli_example, places=OTHER_PLACES)),
    Source("imdb_reviews", "plain_text", "1.0.0",
           {"train": 200, "test": 100, "unsupervised": 50}, imdb_example),
)
AMAZON_VERSION = "0.1.0"
AMAZON_SIZES = {"train": 300}
DEFAULT_AMAZON_CONFIGS = ("Books_v1_00",)


def all_amazon_configs() -> List[str]:
  """Every `amazon_us_reviews` configuration TFDS defines, in TFDS order.

  -> ["Wireless_v1_00", "Watches_v1_00", ..., "Books_v1_02"] (46 names)
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return [c.name for c in tfds.builder_cls("amazon_us_reviews").BUILDER_CONFIGS]


def amazon_category(config: str) -> str:
  """amazon_category("Digital_Ebook_Purchase_v1_01") -> "Digital_Ebook_Purchase"."""
  return config.rsplit("_v", 1)[0]


def amazon_sources(configs: Sequence[str]) -> List[Source]:
  """Sources for `amazon_us_reviews/<config>:0.1.0`, one per configuration.

  amazon_sources(["Books_v1_00"])[0].full_name -> "amazon_us_reviews/Books_v1_00:0.1.0"
  """
  return [Source("amazon_us_reviews", config, AMAZON_VERSION, AMAZON_SIZES,
                 functools.partial(amazon_example,
                                   category=amazon_category(config)))
          for config in configs]


def generate_split(source: Source, split: str, size: int,
                   seed: int = 0) -> Iterator[Example]:
  """The first `size` examples of one split; the same for the same seed.

  next(generate_split(SOURCES[0], "test", 1))["label"] -> 0, 1 or 2
  """
  rng = random.Random("%s/%s/%d" % (source.key, split, seed))
  for index in range(size):
    yield source.generate(rng, index, split)


def select_sources(sources: Optional[Sequence[str]] = None,
                   amazon_configs: Sequence[str] = DEFAULT_AMAZON_CONFIGS
                   ) -> List[Source]:
  """The sources to write: all of SOURCES and the Amazon configurations given,
  narrowed to `sources` (keys like "glue/mnli" or dataset names like "glue").

  [s.key for s in select_sources(["glue"], [])] -> ["glue/mnli",
      "glue/mnli_matched", "glue/mnli_mismatched"]
  """
  if isinstance(amazon_configs, str):
    raise TypeError("amazon_configs: expected a sequence of configuration "
                    "names, got the string %r" % amazon_configs)
  known = set(all_amazon_configs())
  unknown = [c for c in amazon_configs if c not in known]
  if unknown:
    raise ValueError("amazon_configs: %s not among the amazon_us_reviews "
                     "configurations of TFDS (e.g. Books_v1_00)" % unknown)
  candidates = list(SOURCES) + amazon_sources(amazon_configs)
  if sources is None:
    return candidates
  if isinstance(sources, str):
    raise TypeError("sources: expected a sequence of names, got the string %r"
                    % sources)
  for wanted in sources:
    if not any(wanted in (s.key, s.name) for s in candidates):
      raise ValueError("sources: %r matches no demo dataset; known: %s" % (
          wanted, ", ".join(s.key for s in candidates)))
  return [s for s in candidates if s.key in sources or s.name in sources]


def split_sizes(source: Source,
                sizes: Optional[Mapping[str, Mapping[str, int]]] = None
                ) -> Dict[str, int]:
  """A source's split sizes with the overrides of `sizes[source.key]`.

  split_sizes(SOURCES[1], {"cos_e": {"train": 5}}) -> {"train": 5, "validation": 100}
  """
  override = dict((sizes or {}).get(source.key, {}))
  for split, size in override.items():
    if split not in source.sizes:
      raise ValueError("sizes[%r]: unknown split %r; %s has %s" % (
          source.key, split, source.full_name, sorted(source.sizes)))
    if not isinstance(size, int) or size < 0:
      raise ValueError("sizes[%r][%r]: expected a count >= 0, got %r" % (
          source.key, split, size))
  return dict(source.sizes, **override)


def write_demo_data(data_dir: str, *,
                    sizes: Optional[Mapping[str, Mapping[str, int]]] = None,
                    seed: int = 0,
                    amazon_configs: Sequence[str] = DEFAULT_AMAZON_CONFIGS,
                    sources: Optional[Sequence[str]] = None
                    ) -> Dict[str, Dict[str, int]]:
  """Writes the demo datasets under `data_dir`; returns {dataset: {split: n}}.

  `sizes` overrides split sizes per source key, e.g. {"esnli": {"train": 50},
  "amazon_us_reviews/Books_v1_00": {"train": 20}}. `amazon_configs` names the
  `amazon_us_reviews` configurations to write (`all_amazon_configs()` for all
  46); `sources` narrows what is written to some keys or dataset names. A
  dataset already prepared in `data_dir` under the same name, config and
  version is replaced; other datasets there are left alone.

  write_demo_data("/tmp/d", sources=["cos_e"]) -> {"cos_e:0.0.1": {"train": 1000, "validation": 100}}
  """
  import shutil  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  selected = select_sources(sources, amazon_configs)
  known_keys = {s.key for s in SOURCES} | {
      s.key for s in amazon_sources(all_amazon_configs())}
  for key in sizes or {}:
    if key not in known_keys:
      raise ValueError("sizes: unknown dataset %r; known: %s" % (
          key, ", ".join(sorted(known_keys))))
  plan = [(source, split_sizes(source, sizes)) for source in selected]

  tfds.disable_progress_bar()
  downloads = os.path.join(data_dir, "downloads")
  had_downloads = os.path.exists(downloads)
  summary = {}
  for source, counts in plan:
    target = source.path(data_dir)
    if os.path.exists(target):
      if not os.path.exists(os.path.join(target, "dataset_info.json")):
        raise FileExistsError("%s exists but is not a prepared TFDS dataset; "
                              "not replacing it" % target)
      shutil.rmtree(target)
    split_datasets = {
        split: [("%s-%07d" % (split, i), example) for i, example in enumerate(
            generate_split(source, split, count, seed))]
        for split, count in counts.items()}
    with contextlib.redirect_stdout(io.StringIO()):  # TFDS's "Downloading".
      tfds.dataset_builders.store_as_tfds_dataset(
          name=source.name, config=source.config, version=source.version,
          features=tfds.builder(source.key).info.features,
          split_datasets=split_datasets, data_dir=data_dir,
          # Shuffled by key like real TFDS data: t5_mesh_transformer reads
          # training data with shuffle_files=True, which TFDS refuses for
          # datasets written in order.
          disable_shuffling=False,
          description="WT5 demo data: synthetic examples in the schema of "
          "%s." % source.key)
    summary[source.full_name] = counts
  if not had_downloads:
    shutil.rmtree(downloads, ignore_errors=True)
  return summary


def _text_values(value: Any) -> Iterator[str]:
  """The strings in a (nested) numpy example.

  list(_text_values({"a": b"x", "b": [b"y", b"z"], "c": 3})) -> ["x", "y", "z"]
  """
  if isinstance(value, bytes):
    yield value.decode("utf-8")
  elif isinstance(value, str):
    yield value
  elif isinstance(value, Mapping):
    for key in sorted(value):
      yield from _text_values(value[key])
  elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
    items = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(items, list):
      for item in items:
        yield from _text_values(item)


def iter_demo_text(data_dir: str,
                   max_per_split: Optional[int] = None) -> Iterator[str]:
  """Every string feature of the demo datasets prepared under `data_dir`.

  Reads the sources of SOURCES and every Amazon configuration found there, in
  a fixed order.

  next(iter_demo_text("/tmp/d")) -> "A dog is an animal."
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  for source in list(SOURCES) + amazon_sources(all_amazon_configs()):
    path = source.path(data_dir)
    if not os.path.exists(os.path.join(path, "dataset_info.json")):
      continue
    builder = tfds.builder_from_directory(path)
    for split in sorted(builder.info.splits):
      ds = builder.as_dataset(split=split, shuffle_files=False)
      if max_per_split is not None:
        ds = ds.take(max_per_split)
      for example in tfds.as_numpy(ds):
        yield from _text_values(example)


def train_demo_vocabulary(data_dir: str, model_prefix: str,
                          vocab_size: int = 2000) -> str:
  """Trains a SentencePiece model on the demo data; returns the .model path.

  T5's conventions (pad 0, EOS 1, unk 2, no BOS); identity normalization,
  every character covered and byte fallback, so that every text decodes back
  exactly and never to unk. The prompt and label words of WT5
  (`PROMPT_WORDS`) are in the training text. Deterministic for the same data.

  train_demo_vocabulary("/tmp/d", "/tmp/d/vocab/wt5_demo") -> "/tmp/d/vocab/wt5_demo.model"
  """
  directory = os.path.dirname(os.path.abspath(model_prefix))
  os.makedirs(directory, exist_ok=True)
  corpus = model_prefix + ".corpus.txt"
  lines = 0
  with open(corpus, "w", encoding="utf-8") as f:
    for _ in range(1000):
      f.write(" ".join(PROMPT_WORDS) + "\n")
    for text in iter_demo_text(data_dir):
      for line in text.splitlines():
        if line.strip():
          f.write(line + "\n")
          lines += 1
  if not lines:
    os.remove(corpus)
    raise ValueError("train_demo_vocabulary: no demo datasets under %r; run "
                     "write_demo_data(%r) first" % (data_dir, data_dir))
  try:
    _train_sentencepiece(
        input=corpus, model_prefix=model_prefix, vocab_size=vocab_size,
        model_type="bpe", character_coverage=1.0, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        split_digits=True, hard_vocab_limit=False, pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
  finally:
    os.remove(corpus)
  return model_prefix + ".model"


_TRAIN_SENTENCEPIECE = (
    "import json, sys\n"
    "import sentencepiece\n"
    "sentencepiece.SentencePieceTrainer.train(**json.loads(sys.argv[1]))\n")


def _train_sentencepiece(**options: Any) -> None:
  """Runs `SentencePieceTrainer.train(**options)` in a fresh interpreter.

  sentencepiece's trainer can crash the process (SIGSEGV) when TensorFlow's
  shared libraries were loaded before sentencepiece's, which is the case in
  any process that has read TFDS data; a child that imports only
  sentencepiece is safe. _train_sentencepiece(input="c.txt",
  model_prefix="v", vocab_size=2000) writes v.model and v.vocab.
  """
  result = subprocess.run(
      [sys.executable, "-c", _TRAIN_SENTENCEPIECE, json.dumps(options)],
      stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise RuntimeError(
        "SentencePiece training of %s failed (exit code %d):\n%s" %
        (options.get("model_prefix"), result.returncode,
         result.stderr[-2000:]))


# ---------------------------------------------------------------------------
# `wt5 data`
# ---------------------------------------------------------------------------

VOCAB_PREFIX = os.path.join("vocab", "wt5_demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 data`."""
  parser.add_argument("--data_dir", default="wt5_demo/data",
                      help="Directory to write the TFDS datasets into "
                      "(datasets already there under the same names are "
                      "replaced).")
  parser.add_argument("--seed", type=int, default=0,
                      help="Seed of the generated examples.")
  parser.add_argument("--all_amazon", action="store_true",
                      help="Write all 46 amazon_us_reviews configurations "
                      "(default: Books_v1_00 only).")
  parser.add_argument("--vocab", action="store_true",
                      help="Also train a SentencePiece vocabulary on the data "
                      "into DATA_DIR/vocab/wt5_demo.model.")


def run(args: argparse.Namespace) -> int:
  """Writes the demo data (and vocabulary) and says how to use them."""
  configs = all_amazon_configs() if args.all_amazon else DEFAULT_AMAZON_CONFIGS
  data_dir = os.path.abspath(args.data_dir)
  summary = write_demo_data(data_dir, seed=args.seed, amazon_configs=configs)
  for name, counts in summary.items():
    print("%-40s %s" % (name, ", ".join("%s=%d" % kv for kv in counts.items())))
  print("\nWrote %d datasets to %s" % (len(summary), data_dir))
  print("Read them with tfds.load(NAME, data_dir=%r), or train with:\n"
        "  t5_mesh_transformer --t5_tfds_data_dir=%s "
        "--module_import=wt5.mixtures ..." % (data_dir, data_dir))
  if args.vocab:
    model = train_demo_vocabulary(data_dir,
                                  os.path.join(data_dir, VOCAB_PREFIX))
    print("Wrote the vocabulary %s; use it with:\n"
          "  export WT5_VOCAB_MODEL=%s" % (model, model))
  return 0
