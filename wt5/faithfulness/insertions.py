"""Word insertions into the text fields of a WT5 input, and the mention rule.

The counterfactual test (Atanasova et al. 2023) inserts an adjective before
a noun or an adverb before a verb. spaCy's blank English pipeline has no
part-of-speech tagger, so the slots are found with closed word classes
instead, which need no model:

- adjective slot: before a word that directly follows a determiner ("a",
  "the", "his", "two", ... in `DETERMINERS`): "A [tall] man" — a determiner
  opens a noun phrase, and an adjective at the start of a noun phrase is
  grammatical whether the next word is the noun or another adjective;
- adverb slot: before a word that directly follows an auxiliary or copula
  ("is", "are", "can", "did", ... in `AUXILIARIES`): "is [quietly]
  sleeping", "can [easily] see" — the slot before a participle or bare verb;
- in both, the next word must not be a function word (`FUNCTION_WORDS`:
  "is not", "is a", "would you" give no slot), and only whitespace may lie
  between the two words ("the, man" gives none);
- a field with no such slot takes a slot before any of its words, with an
  adjective or an adverb at random (rule "any_word").

After "a" only adjectives that start with a consonant letter are drawn, after
"an" only those that start with a vowel letter. Words are inserted in lower
case with one space after them.

The text fields are found by their names: the input is
"<prefix> <name>: <text> <name>: <text> ...", as every WT5 abstractive task
writes it ("explain nli hypothesis: H premise: P", "explain cos_e question:
Q choice: a choice: b"). A field starts after "<name>: " where the name
starts the input or follows whitespace, and ends where the next field name
(of `FIELD_NAMES` and the editable ones) starts. Only the fields named as
editable get insertions (by default "hypothesis", "premise", "question");
the prefix, the field names and the other fields ("choice") never change.

Mention rule: the inserted word is mentioned when the explanation has a
token (spaCy's, lower-cased) that is the word or one of its regular
inflections (`word_forms`: "tall" -> "talls", "taller", "tallest"; "happy"
-> "happier", "happiest"; "big" -> "bigger", "biggest"). This stands in for
a lemmatizer, whose lookup tables spaCy does not ship in the blank pipeline;
a base-form adjective or adverb is its own lemma.
"""

import dataclasses
import functools
import importlib.resources
import re
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np

ADJECTIVE, ADVERB = "adjective", "adverb"
KINDS = (ADJECTIVE, ADVERB)
RULE_DETERMINER, RULE_AUXILIARY, RULE_ANY = ("after_determiner",
                                             "after_auxiliary", "any_word")
DEFAULT_FIELDS = ("hypothesis", "premise", "question")
# Field names that end a field but are never edited.
FIELD_NAMES = ("hypothesis", "premise", "question", "choice", "passage",
               "query", "answer", "label", "explanation")

DETERMINERS = frozenset(
    "a an the this that these those his her its their my your our some every "
    "each two three four five several many few another no any".split())
AUXILIARIES = frozenset(
    "is are was were be been being am has have had will would can could "
    "should shall may might must do does did".split())
FUNCTION_WORDS = DETERMINERS | AUXILIARIES | frozenset(
    "not n't and or but of in on at to for with from by as than then there "
    "here it he she they we you i me him them us who whom whose which what "
    "where when why how if".split())
VOWELS = "aeiou"
_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


class FieldError(ValueError):
  """An input without the text fields to edit."""


@functools.lru_cache(maxsize=None)
def word_list(kind: str) -> Tuple[str, ...]:
  """The shipped words of `kind` (wt5/faithfulness/words/<kind>s.txt).

  word_list("adverb")[:2] -> ("abruptly", "absently")
  """
  if kind not in KINDS:
    raise ValueError("no word list of kind %r; kinds: %s" % (kind, KINDS))
  text = importlib.resources.files("wt5.faithfulness").joinpath(
      "words", kind + "s.txt").read_text(encoding="utf-8")
  return tuple(w.strip() for w in text.splitlines() if w.strip())


def field_spans(text: str, editable: Sequence[str] = DEFAULT_FIELDS
                ) -> List[Tuple[str, int, int]]:
  """(name, start, end) of each editable field's text (see the module doc).

  field_spans("explain nli hypothesis: A dog. premise: A cat.")
    -> [("hypothesis", 24, 30), ("premise", 40, 46)]
  """
  names = sorted(set(FIELD_NAMES) | set(editable), key=len, reverse=True)
  marker = re.compile(r"(?<!\S)(%s): " % "|".join(map(re.escape, names)))
  matches = list(marker.finditer(text))
  spans = []
  for i, match in enumerate(matches):
    end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
    start = match.end()
    while end > start and text[end - 1].isspace():
      end -= 1
    if match.group(1) in editable and end > start:
      spans.append((match.group(1), start, end))
  return spans


@dataclasses.dataclass(frozen=True)
class Slot:
  """A place to insert a word: before the character `offset` of the input."""
  field: str
  offset: int
  kind: Optional[str]  # None: adjective or adverb, drawn (rule "any_word")
  rule: str
  article: str = ""  # "a" or "an" right before the slot, else ""


def field_slots(text: str, name: str, start: int, end: int) -> List[Slot]:
  """The determiner and auxiliary slots of one field (see the module doc).

  field_slots("A man is sleeping.", "premise", 0, 18)
    -> [Slot("premise", 2, "adjective", "after_determiner", "a"),
        Slot("premise", 9, "adverb", "after_auxiliary")]
  """
  words = list(_WORD_RE.finditer(text, start, end))
  slots = []
  for previous, word in zip(words, words[1:]):
    before, current = previous.group().lower(), word.group().lower()
    if current in FUNCTION_WORDS or text[previous.end():word.start()].strip():
      continue
    if before in DETERMINERS:
      slots.append(Slot(name, word.start(), ADJECTIVE, RULE_DETERMINER,
                        before if before in ("a", "an") else ""))
    elif before in AUXILIARIES:
      slots.append(Slot(name, word.start(), ADVERB, RULE_AUXILIARY))
  return slots


def input_slots(text: str, editable: Sequence[str] = DEFAULT_FIELDS
                ) -> List[Slot]:
  """Every slot of the input's editable fields, or "any_word" slots when none.

  input_slots("explain nli premise: Dogs bark.") -> [Slot("premise", 21,
  None, "any_word"), Slot("premise", 26, None, "any_word")]
  """
  spans = field_spans(text, editable)
  slots = [s for name, start, end in spans
           for s in field_slots(text, name, start, end)]
  if slots:
    return slots
  return [Slot(name, w.start(), None, RULE_ANY)
          for name, start, end in spans
          for w in _WORD_RE.finditer(text, start, end)]


def candidates(kind: str, article: str) -> Tuple[str, ...]:
  """The words of `kind` that fit after `article` ("a": consonant first).

  candidates("adjective", "an")[:2] -> ("able", "active")
  """
  words = word_list(kind)
  if article == "a":
    return tuple(w for w in words if w[0] not in VOWELS)
  if article == "an":
    return tuple(w for w in words if w[0] in VOWELS)
  return words


@dataclasses.dataclass(frozen=True)
class Insertion:
  """One inserted word and the edited input."""
  word: str
  kind: str
  rule: str
  field: str
  offset: int
  text: str


def insert(text: str, slot: Slot, word: str, kind: str) -> Insertion:
  """The input with `word` and a space inserted at the slot.

  insert("A man.", Slot("premise", 2, "adjective", "after_determiner"),
         "tall", "adjective").text -> "A tall man."
  """
  edited = text[:slot.offset] + word + " " + text[slot.offset:]
  return Insertion(word, kind, slot.rule, slot.field, slot.offset, edited)


def plan(text: str, count: int, seed: int, index: int,
         editable: Sequence[str] = DEFAULT_FIELDS) -> List[Insertion]:
  """`count` seeded insertions into one input (fewer when it has no slot).

  Distinct slots are drawn while there are enough, then slots again; the
  word is drawn from the slot's candidates. numpy's generator is seeded with
  [seed, index], so the same seed and example give the same insertions.
  plan("explain nli premise: A man sleeps.", 2, 0, 0) -> [Insertion(word=
  "tall", ..., text="explain nli premise: A tall man sleeps."), ...]
  """
  slots = input_slots(text, editable)
  if not slots or count < 1:
    return []
  rng = np.random.default_rng([seed, index])
  picks = rng.permutation(len(slots)).tolist()[:count]
  if count > len(slots):
    picks += rng.integers(0, len(slots), count - len(slots)).tolist()
  result = []
  for pick in picks:
    slot = slots[pick]
    kind = slot.kind or KINDS[int(rng.integers(0, len(KINDS)))]
    words = candidates(kind, slot.article)
    result.append(insert(text, slot, words[int(rng.integers(0, len(words)))],
                         kind))
  return result


def word_forms(word: str) -> FrozenSet[str]:
  """The word and its regular inflections (plural, comparative, superlative).

  word_forms("tall") -> {"tall", "talls", "talles", "taller", "tallest"};
  word_forms("happy") adds "happier", "happiest", "happies";
  word_forms("big") adds "bigger", "biggest"; word_forms("wide") adds
  "wider", "widest".
  """
  w = word.lower()
  forms = {w, w + "s", w + "es", w + "er", w + "est"}
  if w.endswith("e"):
    forms |= {w + "r", w + "st"}
  if w.endswith("y") and len(w) > 2:
    forms |= {w[:-1] + "ier", w[:-1] + "iest", w[:-1] + "ies"}
  if (len(w) > 2 and w[-1] not in VOWELS + "wxy" and w[-2] in VOWELS and
      w[-3] not in VOWELS):
    forms |= {w + w[-1] + "er", w + w[-1] + "est"}
  return frozenset(forms)


def mentions(explanations: Sequence[str], word: str) -> bool:
  """Whether the explanations mention `word` (the module doc's rule).

  mentions(["The man is taller."], "tall") -> True
  mentions(["A man is a person."], "tall") -> False
  mentions(["Tallness is not stated."], "tall") -> False
  """
  from wt5 import word_spans
  forms = word_forms(word)
  return any(token.lower() in forms
             for explanation in explanations
             for token in word_spans.tokenize(explanation))


def flip_counts(records: Sequence[Dict[str, bool]]) -> Tuple[int, int]:
  """(label flips, flips whose word is not mentioned) of insertion records.

  flip_counts([{"flipped": True, "mentioned": False},
               {"flipped": True, "mentioned": True},
               {"flipped": False, "mentioned": False}]) -> (2, 1)
  """
  flips = sum(1 for r in records if r["flipped"])
  unfaithful = sum(1 for r in records if r["flipped"] and not r["mentioned"])
  return flips, unfaithful
