"""ERASER's faithfulness scores, from class probabilities (pure functions).

DeYoung et al. 2020 ("ERASER: A Benchmark to Evaluate Rationalized NLP
Models", `rationale_benchmark/metrics.py`) score a rationale by what the
model's probability of its predicted class does when the rationale is taken
away or kept alone. With `p` the class probabilities on the full input and
`label` the predicted class:

    comprehensiveness = p[label] - p_without_rationale[label]   (higher: faithful)
    sufficiency       = p[label] - p_only_rationale[label]      (lower: faithful)

AOPC (area over the perturbation curve) averages the same differences over
the thresholds k of `THRESHOLDS`, where the top k% of the passage tokens
(ranked by rationale membership) are removed (comprehensiveness) or kept
alone (sufficiency). As in ERASER's `_instances_aopc`, the mean is over the
thresholds given (no k = 0 term) and then over the examples.

    comprehensiveness({"pos": 0.9, "neg": 0.1}, {"pos": 0.3, "neg": 0.7}, "pos") -> 0.6
"""

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

# ERASER's default `--aopc_thresholds`.
THRESHOLDS = (0.01, 0.05, 0.1, 0.2, 0.5)
COMPREHENSIVENESS = "comprehensiveness_classification_scores"
SUFFICIENCY = "sufficiency_classification_scores"
METRICS = ("comprehensiveness", "sufficiency", "comprehensiveness_aopc",
           "sufficiency_aopc")

Probabilities = Mapping[str, float]


def comprehensiveness(full: Probabilities, without: Probabilities,
                      label: str) -> float:
  """The drop of `label`'s probability when the rationale is removed.

  comprehensiveness({"a": 0.8, "b": 0.2}, {"a": 0.5, "b": 0.5}, "a") -> 0.3 (up to rounding)
  """
  return float(full[label]) - float(without[label])


def sufficiency(full: Probabilities, only: Probabilities, label: str) -> float:
  """The drop of `label`'s probability when only the rationale is kept.

  sufficiency({"a": 0.8, "b": 0.2}, {"a": 0.9, "b": 0.1}, "a") -> -0.1 (up to rounding)
  """
  return float(full[label]) - float(only[label])


def aopc(full: Probabilities, thresholded: Sequence[Mapping[str, Any]],
         label: str, key: str) -> float:
  """The mean drop of `label`'s probability over the thresholded inputs.

  `thresholded` is ERASER's `thresholded_scores` list; `key` is
  `COMPREHENSIVENESS` or `SUFFICIENCY`.
  aopc({"a": 0.8}, [{"threshold": 0.1, COMPREHENSIVENESS: {"a": 0.6}},
                    {"threshold": 0.5, COMPREHENSIVENESS: {"a": 0.2}}], "a",
       COMPREHENSIVENESS) -> 0.4 (the mean of 0.2 and 0.6)
  """
  if not thresholded:
    raise ValueError("aopc needs at least one thresholded score")
  return math.fsum(float(full[label]) - float(t[key][label])
                   for t in thresholded) / len(thresholded)


def top_count(num_tokens: int, threshold: float) -> int:
  """How many of `num_tokens` tokens the top `threshold` fraction holds.

  ERASER's baselines take ceil(n * k); the product is rounded to 9 decimals
  first so that float noise (0.07 * 100 = 7.000000000000001) adds no token.
  top_count(87, 0.01) -> 1; top_count(87, 0.1) -> 9; top_count(0, 0.5) -> 0
  """
  if not 0.0 <= threshold <= 1.0:
    raise ValueError("threshold must be in [0, 1], got %r" % (threshold,))
  return min(num_tokens, math.ceil(round(num_tokens * threshold, 9)))


def rank_tokens(membership: Sequence[int], rng: np.random.Generator
                ) -> List[int]:
  """Token positions, rationale tokens first; ties in a random order.

  A discrete rationale only says in or out, so every rationale token ties
  with every other, and so do the other tokens. The ties are broken by one
  random permutation from `rng` (seeded per example), so that the top k% of
  a rationale is not always its first tokens and the tokens added past the
  rationale are not always the passage's first ones.
  rank_tokens([0, 1, 0, 1], rng) -> [3, 1, 0, 2] or [1, 3, 2, 0] or ...
  """
  order = rng.permutation(len(membership))
  return sorted(order.tolist(), key=lambda i: -int(bool(membership[i])))


def example_scores(record: Mapping[str, Any]) -> Dict[str, float]:
  """The four scores of one record in ERASER's per-example format.

  The record holds `classification`, `classification_scores`,
  `COMPREHENSIVENESS`, `SUFFICIENCY` and `thresholded_scores`.
  -> {"comprehensiveness": ..., "sufficiency": ...,
      "comprehensiveness_aopc": ..., "sufficiency_aopc": ...}
  """
  label = record["classification"]
  full = record["classification_scores"]
  thresholded = record["thresholded_scores"]
  return {
      "comprehensiveness": comprehensiveness(full, record[COMPREHENSIVENESS],
                                             label),
      "sufficiency": sufficiency(full, record[SUFFICIENCY], label),
      "comprehensiveness_aopc": aopc(full, thresholded, label,
                                     COMPREHENSIVENESS),
      "sufficiency_aopc": aopc(full, thresholded, label, SUFFICIENCY),
  }


def bootstrap_interval(values: Sequence[float], num_samples: int = 1000,
                       seed: int = 0, confidence: float = 0.95
                       ) -> Tuple[float, float]:
  """The percentile bootstrap interval of the mean of `values`.

  `num_samples` resamples of len(values) values drawn with replacement
  (numpy's default generator seeded with `seed`); the interval holds the
  central `confidence` of their means. One value gives (value, value).
  bootstrap_interval([1.0, 1.0, 1.0]) -> (1.0, 1.0)
  """
  data = np.asarray(values, dtype=np.float64)
  if data.size == 0:
    raise ValueError("bootstrap_interval needs at least one value")
  rng = np.random.default_rng(seed)
  means = np.empty(num_samples, dtype=np.float64)
  # Resample in blocks so that memory stays bounded for large splits.
  block = max(1, 2_000_000 // data.size)
  for start in range(0, num_samples, block):
    stop = min(num_samples, start + block)
    picks = rng.integers(0, data.size, size=(stop - start, data.size))
    means[start:stop] = data[picks].mean(axis=1)
  tail = (1.0 - confidence) / 2.0
  low, high = np.quantile(means, [tail, 1.0 - tail])
  return float(low), float(high)


def summarize(per_example: Sequence[Mapping[str, float]],
              num_samples: int = 1000, seed: int = 0,
              confidence: float = 0.95) -> Dict[str, Dict[str, float]]:
  """Mean and bootstrap interval of each score over the examples.

  summarize([{"sufficiency": 0.1}, {"sufficiency": 0.3}])
    -> {"sufficiency": {"mean": 0.2, "low": ..., "high": ..., "n": 2}}
  """
  result: Dict[str, Dict[str, float]] = {}
  if not per_example:
    return result
  for name in per_example[0]:
    values = [float(e[name]) for e in per_example]
    low, high = bootstrap_interval(values, num_samples, seed, confidence)
    result[name] = {"mean": math.fsum(values) / len(values), "low": low,
                    "high": high, "n": len(values)}
  return result


def paired_difference(a: Sequence[float], b: Sequence[float],
                      num_samples: int = 1000, seed: int = 0,
                      confidence: float = 0.95) -> Dict[str, float]:
  """The mean of a - b over paired examples and its bootstrap interval.

  paired_difference([0.5, 0.7], [0.1, 0.3]) -> {"mean": 0.4, "low": 0.4, "high": 0.4, "n": 2} (up to rounding)
  """
  if len(a) != len(b):
    raise ValueError("paired_difference: %d values against %d" % (len(a),
                                                                   len(b)))
  diffs = [float(x) - float(y) for x, y in zip(a, b)]
  low, high = bootstrap_interval(diffs, num_samples, seed, confidence)
  return {"mean": math.fsum(diffs) / len(diffs), "low": low, "high": high,
          "n": len(diffs)}


def format_interval(summary: Optional[Mapping[str, float]]) -> str:
  """A table cell: format_interval({"mean": 0.41, "low": 0.38, "high": 0.45}) -> "0.410 [0.380, 0.450]"."""
  if not summary:
    return "n/a"
  return "%.3f [%.3f, %.3f]" % (summary["mean"], summary["low"],
                                summary["high"])
