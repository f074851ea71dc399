"""The 2020 WT5 extractive computation, as the oracle of tests and benchmarks.

`reference_extractive_explanations` postprocesses as the published 2020 code
does: spaCy on the whole input for every target and prediction, spaCy on
every explanation, a first-match scan over token lists (an empty explanation
is the empty run (0, 0)), predictions located by that scan alone; for ground
truth the 2020 code could not locate, the library's documented fallback.
`reference_metric` is the 2020 `extractive_explanations_metric`, with
`sklearn.metrics.accuracy_score`, span F1 over the span lists' lengths and
`sklearn.metrics.f1_score` per example for "partial match f1".

`make_examples` and `make_predictions` generate movie-review-length examples
(700-900 words, 4-8 rationales each that occur in the text) and partly
matching predictions, on which tests and benchmarks/extractive_eval.py
compare the library with the oracle:

    examples = make_examples(2, seed=3)
    reference_extractive_explanations(examples[0]["targets"], examples[0],
                                      True, spacy.blank("en").tokenizer)
      -> {"label": ..., "overlap_spans": [...], "span_array": [...], "explanations": [...]}
"""

import random
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import sklearn.metrics

from wt5 import postprocessors

SEPARATOR = " explanation: "
PREFIX = "explain sentiment review: "
_WORDS = (
    "the a an and but or so of to in on at with for from by as is was were be "
    "been it this that these those he she they we you I film movie story plot "
    "acting actor actress director script scene scenes character characters "
    "ending music score camera dialogue performance cast screen audience "
    "great good bad terrible awful wonderful boring dull brilliant funny sad "
    "slow fast predictable original clever stupid beautiful ugly memorable "
    "really very quite rather too never always often sometimes just only "
    "seems feels looks makes made gets got takes took plays played shows "
    "it's don't doesn't isn't can't won't I'm they're we've you'll "
    "Mr. Dr. Mrs. U.S. etc. e.g. well-known low-budget half-hearted "
    "1999 2.5 $10 100% 3-star"
).split()
_PUNCTUATION = ["", "", "", "", "", "", ",", ",", ";", ":", "!", "?", ")"]


def _sentence(rng: random.Random) -> str:
  """Returns one sentence of 6-20 words with punctuation."""
  words = []
  for _ in range(rng.randint(6, 20)):
    word = rng.choice(_WORDS)
    roll = rng.random()
    if roll < 0.03:
      word = '"' + word + '"'
    elif roll < 0.05:
      word = "(" + word
    words.append(word + rng.choice(_PUNCTUATION))
  words[0] = words[0][:1].upper() + words[0][1:]
  return " ".join(words) + rng.choice([".", ".", ".", "!", "?", "..."])


def _review(rng: random.Random) -> str:
  """Returns a review of 700-900 words in paragraphs separated by newlines."""
  target = rng.randint(700, 900)
  sentences, count = [], 0
  while count < target:
    sentence = _sentence(rng)
    sentences.append(sentence)
    count += len(sentence.split())
    if rng.random() < 0.1:
      sentences.append(rng.choice(["\n", "\n\n"]))
  text = " ".join(sentences)
  return text.replace(" \n ", "\n").replace(" \n\n ", "\n\n")


def _word_offsets(text: str) -> List[Tuple[int, int]]:
  """Returns the (start, end) character offsets of white-space separated words."""
  offsets, position = [], 0
  for word in text.split():
    start = text.index(word, position)
    position = start + len(word)
    offsets.append((start, position))
  return offsets


def _rationale(rng: random.Random, text: str, words: Sequence[Tuple[int, int]],
               first: int, length: int) -> str:
  """Returns the text of `length` words from word `first`, sometimes trimmed."""
  first = max(0, min(first, len(words) - length))
  start, end = words[first][0], words[first + length - 1][1]
  roll = rng.random()
  if roll < 0.08 and end - start > 3:
    end -= 1  # Drops a final character (often punctuation): a fallback case.
  elif roll < 0.12 and end - start > 3:
    start += 1  # Starts inside a word.
  return text[start:end]


def make_examples(num_examples: int, seed: int) -> List[Dict[str, Any]]:
  """Returns examples {"inputs_pretokenized", "targets", "rationales", "label"}."""
  rng = random.Random(seed)
  examples = []
  for _ in range(num_examples):
    text = _review(rng)
    words = _word_offsets(text)
    rationales = []
    for _ in range(rng.randint(4, 8)):
      rationales.append(_rationale(rng, text, words, rng.randrange(len(words)),
                                   rng.randint(3, 15)))
    label = rng.choice(["negative", "positive"])
    examples.append({
        "inputs_pretokenized": (PREFIX + text).encode("utf-8"),
        "targets": SEPARATOR.join([label] + rationales).encode("utf-8"),
        "label": label,
        "rationales": rationales,
        "words": words,
        "text": text,
    })
  return examples


def make_predictions(examples: Sequence[Mapping[str, Any]], checkpoint: int,
                     seed: int) -> List[str]:
  """Returns one decoded prediction per example for `checkpoint`.

  Per target rationale: exact (about half), shifted by 1-3 words, a shorter
  part of it, a phrase that does not occur, or left out; sometimes repeated.
  Later checkpoints are a little more accurate.
  """
  rng = random.Random(seed * 1000 + checkpoint)
  predictions = []
  for example in examples:
    text, words = example["text"], example["words"]
    label = example["label"]
    if rng.random() < 0.2 - 0.02 * checkpoint:
      label = "positive" if label == "negative" else "negative"
    parts = [label]
    for rationale in example["rationales"]:
      roll = rng.random() - 0.03 * checkpoint
      start = text.find(rationale)
      first = max(0, sum(1 for s, _ in words if s <= start) - 1)
      length = max(3, len(rationale.split()))
      if roll < 0.45:
        parts.append(rationale)
      elif roll < 0.65:
        parts.append(_rationale(rng, text, words,
                                first + rng.choice([-3, -2, -1, 1, 2, 3]), length))
      elif roll < 0.8:
        parts.append(_rationale(rng, text, words, first + 1, max(1, length - 2)))
      elif roll < 0.9:
        parts.append(" ".join(rng.choice(_WORDS) for _ in range(length)) + " zzz")
      if rng.random() < 0.05:
        parts.append(parts[-1])
    predictions.append(SEPARATOR.join(parts))
  return predictions


def _first_run(input_tokens: Sequence[str],
               explanation_tokens: Sequence[str]) -> Optional[Tuple[int, int]]:
  """The first start at which the explanation tokens equal a slice."""
  width = len(explanation_tokens)
  for start in range(len(input_tokens) - width + 1):
    if input_tokens[start:start + width] == explanation_tokens:
      return (start, start + width)
  return None


def reference_extractive_explanations(output: Any, example: Mapping[str, Any],
                                      is_target: bool, tokenizer: Any) -> Dict[str, Any]:
  """The 2020 postprocessor's computation; `tokenizer` maps text to a Doc.

  Plus, for ground truth the 2020 code could not locate, the documented
  fallback (token run of the text with newlines as spaces, else the input
  tokens its characters touch).
  """
  if isinstance(output, bytes):
    output = output.decode("utf-8", errors="replace")
  parts = output.split(SEPARATOR)
  label, explanations = parts[0], []
  for explanation in parts[1:]:
    if explanation not in explanations:
      explanations.append(explanation)
  text = example["inputs_pretokenized"]
  if isinstance(text, bytes):
    text = text.decode("utf-8", errors="replace")
  text = text.replace("\n", " ")
  doc = tokenizer(text)
  input_tokens = [token.text for token in doc]
  spans, found = [], []
  for explanation in explanations:
    span = _first_run(input_tokens, [token.text for token in tokenizer(explanation)])
    if span is None and is_target:
      searched = explanation.replace("\n", " ")
      span = _first_run(input_tokens, [token.text for token in tokenizer(searched)])
      begin = text.find(searched)
      if span is None and searched and begin >= 0:
        end = begin + len(searched)
        covered = [token.i for token in doc
                   if token.idx < end and token.idx + len(token.text) > begin]
        if covered:
          span = (covered[0], covered[-1] + 1)
      if span is None and begin < 0:
        raise postprocessors.RationaleNotFoundError(explanation)
    if span is None:
      continue
    spans.append(span)
    found.append(explanation)
  span_array = np.zeros(len(input_tokens), int)
  for start, end in spans:
    span_array[start:end] = 1
  return {"label": label, "overlap_spans": spans,
          "span_array": span_array.tolist(), "explanations": found}


def reference_metric(targets: Sequence[Mapping[str, Any]],
                     predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """The 2020 `extractive_explanations_metric` computation, with scikit-learn."""
  span_f1s = []
  for target, prediction in zip(targets, predictions):
    gold, predicted = target["overlap_spans"], prediction["overlap_spans"]
    both = len(set(gold) & set(predicted))
    precision = both / len(predicted) if predicted else 0
    recall = both / len(gold) if gold else 0
    span_f1s.append(2 * precision * recall / (precision + recall)
                    if precision and recall else 0)
  token_f1s = [sklearn.metrics.f1_score(t["span_array"], p["span_array"])
               for t, p in zip(targets, predictions)]
  counts = [len(p["explanations"]) for p in predictions]
  return {
      "accuracy": 100 * sklearn.metrics.accuracy_score(
          [t["label"] for t in targets], [p["label"] for p in predictions]),
      "f1": np.mean(span_f1s) * 100,
      "partial match f1": 100 * np.mean(token_f1s),
      "avg_explanation_count": float(sum(counts)) / len(counts),
  }
