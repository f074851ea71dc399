"""Times extractive scoring: a straightforward reference against wt5.

Run: `.venv/bin/python benchmarks/extractive_eval.py [--examples N]
[--checkpoints K] [--seed S]`.

It generates movie-review-length examples (700-900 words, 4-8 rationales each
that occur in the text) and, per checkpoint, predictions that partly match
(exact, shifted, truncated, absent). An evaluation postprocesses the targets
once and the predictions of every checkpoint, then computes
`extractive_explanations_metric` per checkpoint. The reference does this the
straightforward way (spaCy on the whole input for every target and
prediction, spaCy on every explanation, a first-match scan over token lists,
the character fallback); the library starts with an empty token cache. The
script checks that both give identical dicts and metric values (exit status 1
if not), prints per-phase times and peak memory, and ends with the line
`speedup: X.XX` (reference time / library time).
"""

import argparse
import gc
import random
import resource
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import spacy

from wt5 import metrics
from wt5 import postprocessors
from wt5 import tokenization

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


def reference_extractive_explanations(output: Any, example: Mapping[str, Any],
                                      is_target: bool, tokenizer: Any) -> Dict[str, Any]:
  """The SPEC §2 algorithm with no shortcuts; `tokenizer` is spaCy's."""
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
  offsets = [(token.idx, token.idx + len(token.text)) for token in doc]
  spans, found = [], []
  for explanation in explanations:
    searched = explanation.replace("\n", " ")
    explanation_tokens = [token.text for token in tokenizer(searched)]
    width = len(explanation_tokens)
    span: Optional[Tuple[int, int]] = None
    if width:
      for start in range(len(input_tokens) - width + 1):
        if input_tokens[start:start + width] == explanation_tokens:
          span = (start, start + width)
          break
    if span is None and searched:
      begin = text.find(searched)
      if begin >= 0:
        covered = [i for i, (s, e) in enumerate(offsets)
                   if s < begin + len(searched) and e > begin]
        if covered:
          span = (covered[0], covered[-1] + 1)
    if span is None:
      if is_target and searched not in text:
        raise postprocessors.RationaleNotFoundError(explanation)
      continue
    spans.append(span)
    found.append(explanation)
  span_array = [0] * len(input_tokens)
  for start, end in spans:
    for i in range(start, end):
      span_array[i] = 1
  return {"label": label, "overlap_spans": spans, "span_array": span_array,
          "explanations": found}


def reference_metric(targets: Sequence[Mapping[str, Any]],
                     predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """SPEC §3 `extractive_explanations_metric`, written out directly."""
  n = len(targets)
  correct, span_f1s, token_f1s, counts = 0, [], [], []
  for target, prediction in zip(targets, predictions):
    correct += target["label"] == prediction["label"]
    gold, predicted = set(target["overlap_spans"]), set(prediction["overlap_spans"])
    both = len(gold & predicted)
    precision = both / len(predicted) if predicted else 0.0
    recall = both / len(gold) if gold else 0.0
    span_f1s.append(2 * precision * recall / (precision + recall)
                    if precision > 0 and recall > 0 else 0.0)
    tp = sum(1 for t, p in zip(target["span_array"], prediction["span_array"])
             if t == 1 and p == 1)
    npred, ngold = sum(prediction["span_array"]), sum(target["span_array"])
    precision = tp / npred if npred else 0.0
    recall = tp / ngold if ngold else 0.0
    token_f1s.append(2 * precision * recall / (precision + recall)
                     if precision > 0 and recall > 0 else 0.0)
    counts.append(len(prediction["explanations"]))
  return {"accuracy": 100.0 * correct / n, "f1": 100.0 * sum(span_f1s) / n,
          "partial match f1": 100.0 * sum(token_f1s) / n,
          "avg_explanation_count": sum(counts) / n}


def _evaluate(postprocess, metric, examples, checkpoints) -> Tuple[List[Any], Dict[str, float]]:
  """Postprocesses targets once, then each checkpoint's predictions + metric."""
  times: Dict[str, float] = {}
  start = time.perf_counter()
  targets = [postprocess(e["targets"], example=e, is_target=True) for e in examples]
  times["targets"] = time.perf_counter() - start
  results = [targets]
  for index, predictions in enumerate(checkpoints):
    start = time.perf_counter()
    processed = [postprocess(p, example=e, is_target=False)
                 for p, e in zip(predictions, examples)]
    times[f"checkpoint {index} predictions"] = time.perf_counter() - start
    start = time.perf_counter()
    scores = metric(targets, processed)
    times[f"checkpoint {index} metric"] = time.perf_counter() - start
    results.append((processed, scores))
  return results, times


def _cache_bytes() -> int:
  """Approximate bytes held by the token cache's entries."""
  total = 0
  for text, entry in list(tokenization._cache.items()):  # pylint: disable=protected-access
    total += (sys.getsizeof(text) + sys.getsizeof(entry) + sys.getsizeof(entry.starts)
              + sys.getsizeof(entry.ends) + sys.getsizeof(entry.codes) + 100)
  return total


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--examples", type=int, default=400)
  parser.add_argument("--checkpoints", type=int, default=5)
  parser.add_argument("--seed", type=int, default=2020)
  args = parser.parse_args(argv)

  examples = make_examples(args.examples, args.seed)
  checkpoints = [make_predictions(examples, c, args.seed)
                 for c in range(args.checkpoints)]
  words = sum(len(e["words"]) for e in examples) / len(examples)
  rationales = sum(len(e["rationales"]) for e in examples) / len(examples)
  print(f"{len(examples)} examples, {words:.0f} words and {rationales:.1f} "
        f"rationales on average, {len(checkpoints)} checkpoints")

  gc.collect()
  gc.freeze()  # Keeps the generated data out of the timed collections.
  start = time.perf_counter()
  reference_tokenizer = spacy.blank("en").tokenizer
  setup = time.perf_counter() - start
  reference_results, reference_times = _evaluate(
      lambda output, example, is_target: reference_extractive_explanations(
          output, example, is_target, reference_tokenizer),
      reference_metric, examples, checkpoints)
  reference_times["spaCy set-up"] = setup
  rss_after_reference = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

  gc.collect()
  gc.freeze()  # Keeps the reference results out of the timed collections.
  tokenization.clear_cache()
  start = time.perf_counter()
  tokenization.tokenize("warm up")  # Builds the spaCy tokenizer lazily.
  setup = time.perf_counter() - start
  tokenization.clear_cache()
  library_results, library_times = _evaluate(
      postprocessors.extractive_explanations,
      metrics.extractive_explanations_metric, examples, checkpoints)
  library_times["spaCy set-up"] = setup
  rss_after_library = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

  print(f"{'phase':32s} {'reference s':>12s} {'library s':>10s}")
  for phase in reference_times:
    print(f"{phase:32s} {reference_times[phase]:12.3f} {library_times[phase]:10.3f}")
  reference_total = sum(reference_times.values())
  library_total = sum(library_times.values())
  print(f"{'total':32s} {reference_total:12.3f} {library_total:10.3f}")
  for index in range(len(checkpoints)):
    print(f"checkpoint {index}: {library_results[index + 1][1]}")
  info = tokenization.cache_info()
  print(f"token cache: {info}, about {_cache_bytes() / 2**20:.1f} MiB")
  print(f"peak RSS: {rss_after_reference / 1024:.0f} MiB after the reference, "
        f"{rss_after_library / 1024:.0f} MiB after the library")

  same = reference_results[0] == library_results[0] and all(
      r == l for r, l in zip(reference_results[1:], library_results[1:]))
  dicts = len(examples) * (1 + len(checkpoints))
  print(f"identical results: {same} ({dicts} postprocessed dicts, "
        f"{len(checkpoints)} metric dicts)")
  print(f"speedup: {reference_total / library_total:.2f}")
  return 0 if same else 1


if __name__ == "__main__":
  sys.exit(main())
