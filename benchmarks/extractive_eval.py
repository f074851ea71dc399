"""Times extractive scoring: the 2020 WT5 computation against wt5.

Run: `.venv/bin/python benchmarks/extractive_eval.py [--examples N]
[--checkpoints K] [--seed S] [--pipeline_examples M]`.

It generates movie-review-length examples (700-900 words, 4-8 rationales each
that occur in the text) and, per checkpoint, predictions that partly match
(exact, shifted, truncated, absent). An evaluation postprocesses the targets
once and the predictions of every checkpoint, then computes
`extractive_explanations_metric` per checkpoint.

The reference (tests/reference_2020.py, the oracle the tests use too)
computes what the 2020 WT5 code computes, the way it computes it: spaCy on
the whole input for every target and prediction, spaCy on every explanation, a first-match scan over token lists (an empty explanation is
the empty run (0, 0)), predictions located by that scan alone, and the metric
with `sklearn.metrics.accuracy_score`, span F1 over the span lists' lengths
and `sklearn.metrics.f1_score` per example for "partial match f1". Where the
2020 code stopped with an error (a ground-truth rationale whose tokens do not
occur as a run) it applies the library's documented ground-truth fallback.
The library starts with an empty token cache. The script checks that both
give identical postprocessed dicts and metric values equal to 1e-9 (exit
status 1 if not), and prints per-phase times and peak memory.

The 2020 code ran the full `en_core_web_sm` pipeline (tok2vec, tagger,
parser, NER) where only its tokens were used. On the first
`--pipeline_examples` examples the reference runs again with a pipeline of
those components built from spaCy's default configuration (untrained
weights, the same kind of network, so the same compute; no model download),
against the library on the same examples, printed as
`speedup_vs_2020_pipeline: X`. The last line is `speedup: X.XX` (reference
time / library time on all examples, spaCy tokenizer in both).
"""

import argparse
import gc
import os
import resource
import sys
import time
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import spacy

from wt5 import metrics
from wt5 import postprocessors
from wt5 import word_spans

# The 2020 oracle and the example generator live with the tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "tests"))
from reference_2020 import make_examples
from reference_2020 import make_predictions
from reference_2020 import reference_extractive_explanations
from reference_2020 import reference_metric


def full_pipeline() -> Any:
  """An English spaCy pipeline with tok2vec, tagger, parser and NER.

  Built from spaCy's default configuration for these components (the one
  `spacy init config` writes) with untrained weights: the network of a
  small English model, so the same compute per word, without a download.
  """
  from spacy.cli.init_config import init_config
  config = init_config(lang="en", pipeline=["tok2vec", "tagger", "parser", "ner"],
                       optimize="efficiency", gpu=False)
  nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
  for component, labels in (("tagger", ("DT", "JJ", "NN", "VB")),
                            ("parser", ("ROOT", "det", "dobj", "nsubj")),
                            ("ner", ("ORG", "PERSON"))):
    for label in labels:
      nlp.get_pipe(component).add_label(label)
  nlp.initialize()
  return nlp


def _same_metrics(first: Mapping[str, float], second: Mapping[str, float]) -> bool:
  """Whether two metric dicts have the same keys and values to 1e-9."""
  return set(first) == set(second) and all(
      abs(float(first[key]) - float(second[key])) <= 1e-9 for key in first)


def _same_results(first: Sequence[Any], second: Sequence[Any]) -> bool:
  """Whether two `_evaluate` results agree: dicts equal, metrics to 1e-9."""
  return len(first) == len(second) and first[0] == second[0] and all(
      a[0] == b[0] and _same_metrics(a[1], b[1])
      for a, b in zip(first[1:], second[1:]))


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
  for text, entry in list(word_spans._cache.items()):
    total += (sys.getsizeof(text) + sys.getsizeof(entry) + sys.getsizeof(entry.starts)
              + sys.getsizeof(entry.ends) + sys.getsizeof(entry.codes) + 100)
  return total


def _library_times(examples, checkpoints, repeats: int) -> Tuple[List[Any], float]:
  """The library's results and its fastest total time, from an empty cache."""
  best = float("inf")
  for _ in range(repeats):
    word_spans.clear_cache()
    results, times = _evaluate(postprocessors.extractive_explanations,
                               metrics.extractive_explanations_metric,
                               examples, checkpoints)
    best = min(best, sum(times.values()))
  return results, best


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--examples", type=int, default=400)
  parser.add_argument("--checkpoints", type=int, default=5)
  parser.add_argument("--seed", type=int, default=2020)
  parser.add_argument("--pipeline_examples", type=int, default=12)
  args = parser.parse_args(argv)
  warnings.filterwarnings("ignore", module="sklearn")  # Zero-positive F1 notes.

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
  word_spans.clear_cache()
  start = time.perf_counter()
  word_spans.tokenize("warm up")  # Builds the spaCy tokenizer lazily.
  setup = time.perf_counter() - start
  word_spans.clear_cache()
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
  info = word_spans.cache_info()
  print(f"token cache: {info}, about {_cache_bytes() / 2**20:.1f} MiB")
  print(f"peak RSS: {rss_after_reference / 1024:.0f} MiB after the reference, "
        f"{rss_after_library / 1024:.0f} MiB after the library")
  same = _same_results(reference_results, library_results)
  dicts = len(examples) * (1 + len(checkpoints))
  print(f"identical results: {same} ({dicts} postprocessed dicts equal, "
        f"{len(checkpoints)} metric dicts equal to 1e-9)")

  subset = examples[:args.pipeline_examples]
  subset_checkpoints = [predictions[:len(subset)] for predictions in checkpoints]
  start = time.perf_counter()
  nlp = full_pipeline()
  setup = time.perf_counter() - start
  pipeline_results, pipeline_times = _evaluate(
      lambda output, example, is_target: reference_extractive_explanations(
          output, example, is_target, nlp),
      reference_metric, subset, subset_checkpoints)
  pipeline_total = sum(pipeline_times.values())
  subset_results, subset_total = _library_times(subset, subset_checkpoints, 3)
  pipeline_same = _same_results(pipeline_results, subset_results)
  print(f"2020 pipeline ({', '.join(nlp.pipe_names)}; set-up {setup:.1f} s, "
        f"not counted) on the first {len(subset)} examples: "
        f"{pipeline_total:.3f} s, library {subset_total:.3f} s (fastest of 3); "
        f"identical results: {pipeline_same}")
  print(f"speedup_vs_2020_pipeline: {pipeline_total / subset_total:.1f}")
  print(f"speedup: {reference_total / library_total:.2f}")
  return 0 if same and pipeline_same else 1


if __name__ == "__main__":
  sys.exit(main())
