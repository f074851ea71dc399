"""Templates of the embedded WT5 demo data: word lists and example generators.

Each generator maps `(rng, index, split)` to one example in the schema of a
TFDS builder (`esnli`, `cos_e`, `glue/mnli`, `movie_rationales`,
`imdb_reviews`, `eraser_multi_rc`, `amazon_us_reviews`). Labels follow from
which word list a phrase comes from, explanations say why in short formulaic
sentences, and extractive rationales are substrings of the input, so a small
model learns both. `wt5.datasets.demo_data` writes them as TFDS datasets.

    esnli_example(random.Random(0), 0, "train")["label"] -> 0, 1 or 2
"""

import random
from typing import Any, Callable, Dict, Optional, Sequence

FeatureDict = Dict[str, Any]
Generator = Callable[[random.Random, int, str], FeatureDict]

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


def esnli_example(rng: random.Random, index: int, split: str) -> FeatureDict:
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
                 places: Optional[Sequence[str]] = None) -> FeatureDict:
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


def cos_e_example(rng: random.Random, index: int, split: str) -> FeatureDict:
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


def movie_example(rng: random.Random, index: int, split: str) -> FeatureDict:
  """A movie_rationales example; label 0 is NEG, 1 is POS.

  movie_example(rng, 0, "train") -> {"review": "...", "label": 1,
                                     "evidences": ["the plot was clever", ...]}
  """
  del index, split  # Unused.
  label = rng.randrange(2)
  return dict(review_with_rationales(rng, label), label=label)


def imdb_example(rng: random.Random, index: int, split: str) -> FeatureDict:
  """An imdb_reviews example; the unsupervised split has label -1.

  imdb_example(rng, 0, "unsupervised") -> {"text": "...", "label": -1}
  """
  del index  # Unused.
  label = rng.randrange(2)
  text = review_with_rationales(rng, label)["review"]
  return {"text": text, "label": -1 if split == "unsupervised" else label}


def multi_rc_example(rng: random.Random, index: int, split: str) -> FeatureDict:
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
                   category: str = "Books") -> FeatureDict:
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
