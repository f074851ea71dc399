"""The 2020 WT5 computations of the metrics, for dicts that lack a key.

`wt5.metrics` computes each metric on well-formed answers (every dict with
every key it reads). Where a dict lacks a key, the 2020 code still returned
numbers: it kept each key's values from the dicts that have it and paired
those lists in order. `as_2020` runs those computations (`esnli_2020`,
`extractive_2020`) with a warning, or raises a ValueError naming the key
where the 2020 code fails. The key-presence helpers and `f1` (the harmonic
mean both versions use) live here too.

    first_missing([{"label": "a"}], [{"x": 1}], ("label",), "m")
      -> "m: predictions[0] has no 'label' (its keys: ['x'])"
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence
import warnings

from absl import logging

from wt5 import answers
from wt5 import bleu as bleu_lib


def f1(precision: float, recall: float) -> float:
  """Harmonic mean of precision and recall; 0.0 when either is 0."""
  if precision <= 0 or recall <= 0:
    return 0.0
  return 2 * precision * recall / (precision + recall)


def has_key(answer: Any, key: str) -> bool:
  """Whether `answer[key]` exists. `has_key({"a": 1}, "a")` -> True."""
  try:
    answer[key]
  except (KeyError, TypeError, IndexError):
    return False
  return True


def missing_key(dicts: Sequence[Any], key: str, side: str,
                metric: str) -> Optional[str]:
  """Names the first dict that lacks `key`; None if every one has it.

  `missing_key([{"label": "a"}, {"x": 1}], "label", "targets", "m")` ->
  "m: targets[1] has no 'label' (its keys: ['x'])".
  """
  for index, answer in enumerate(dicts):
    if not has_key(answer, key):
      keys = (sorted(map(str, answer.keys())) if hasattr(answer, "keys")
              else type(answer).__name__)
      return f"{metric}: {side}[{index}] has no {key!r} (its keys: {keys})"
  return None


def first_missing(targets: Sequence[Any], predictions: Sequence[Any],
                  keys: Sequence[str], metric: str) -> Optional[str]:
  """`missing_key` over `keys` in order, targets before predictions."""
  for key in keys:
    for side, dicts in (("targets", targets), ("predictions", predictions)):
      message = missing_key(dicts, key, side, metric)
      if message:
        return message
  return None


def present(dicts: Sequence[Any], key: str) -> List[Any]:
  """`d[key]` of the dicts `d` that have `key`, in order.

  `present([{"a": 1}, {}, {"a": 3}], "a")` -> [1, 3].
  """
  return [d[key] for d in dicts if has_key(d, key)]


def _warn_paired_in_order(message: str) -> None:
  """Logs that values of a dict lacking a key go to other examples."""
  logging.warning(
      "%s; as in the 2020 code, each key's values are taken from the dicts "
      "that have it and the remaining values are paired in order, so they "
      "may belong to other examples", message)


def as_2020(metric: str, message: str, targets: Sequence[Any],
            predictions: Sequence[Any], compute) -> Dict[str, float]:
  """Returns `compute()` (the 2020 computation) and logs `message`.

  `message` names the first dict lacking a key. Where the computation fails,
  as the 2020 code does, raises ValueError(`message`), or the error about the
  numbers of targets and predictions where those differ.
  """
  if not all(hasattr(a, "keys") for a in list(targets) + list(predictions)):
    raise ValueError(message)
  try:
    with warnings.catch_warnings(), _np_errstate():
      warnings.simplefilter("ignore")
      result = compute()
  except Exception:
    answers.check_lengths(targets, predictions, metric)
    raise ValueError(message) from None
  _warn_paired_in_order(message)
  return result


def _np_errstate():
  """numpy error state of the 2020 computation: nan for an empty mean."""
  import numpy as np
  return np.errstate(all="ignore")


def esnli_2020(targets: Sequence[Mapping[str, Any]],
               predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """`esnli_metric` on dicts that may lack keys, as the 2020 code computes it.

  Labels and explanations come from the dicts that have them; accuracy pairs
  the two label lists in order (scikit-learn rejects lists of different
  lengths); the reference streams hold the targets that have "explanations"
  (the second one "" where such a target has one explanation) and sacrebleu
  scores the first hypotheses against them, as many as the streams hold.
  Raises where the 2020 code raises: a prediction without "explanations",
  no target with "explanations", `None` explanations, no prediction.
  `esnli_2020([{"label": "a", "explanations": ["x y z w"]}, {"label": "b"}],
  [{"label": "a", "explanations": ["x y z w"]}, {"label": "b",
  "explanations": ["q"]}])` -> {"accuracy": 100.0, "bleu": 100.0,
  "expln1_length": 7} ("q" is not scored: the stream holds one reference).
  """
  import sklearn.metrics

  target_explanations = present(targets, "explanations")
  first = ["" if not e else e[0] for e in target_explanations]
  references = [first]
  if any(len(e) > 1 for e in target_explanations):
    references.append([e[1] if len(e) > 1 else "" for e in target_explanations])
  predicted = []
  for prediction in predictions:
    explanations = prediction["explanations"]
    len(explanations)  # None fails here, as in the 2020 code.
    predicted.append(explanations[0] if explanations else "")
  if not first or not predicted:
    raise ValueError("no explanations to score")
  accuracy = 100 * sklearn.metrics.accuracy_score(
      present(targets, "label"), present(predictions, "label"))
  # sacrebleu pairs hypotheses with the reference streams in order and stops
  # at the shortest, so extra hypotheses are not scored.
  bleu = bleu_lib.corpus_bleu(references, predicted[:len(first)])
  return {"accuracy": float(accuracy),
          "bleu": min(100.0, max(0.0, float(bleu))),
          "expln1_length": len(predicted[0])}


def extractive_2020(
    targets: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """`extractive_explanations_metric` on dicts that may lack keys, as in 2020.

  Each key's values come from the dicts that have it; the target and
  prediction lists are paired in order up to the shorter one, and a mean
  over no pairs is nan. Raises where the 2020 code raises (label lists of
  different lengths, span arrays scikit-learn rejects, unhashable spans).
  `extractive_2020([{"label": "a", "span_array": [1]}, {"label": "a",
  "overlap_spans": [(0, 1)], "span_array": [1]}], [{"label": "a",
  "overlap_spans": [(0, 1)], "span_array": [1]}] * 2)` -> {"accuracy": 100.0,
  "f1": 100.0, "partial match f1": 100.0, "avg_explanation_count": 0.0}.
  """
  import numpy as np
  import sklearn.metrics

  span_f1s = []
  for gold, predicted in zip(present(targets, "overlap_spans"),
                             present(predictions, "overlap_spans")):
    common = len(set(gold) & set(predicted))
    span_f1s.append(f1(common / len(predicted) if predicted else 0,
                       common / len(gold) if gold else 0))
  token_f1s = [sklearn.metrics.f1_score(t, p) for t, p in zip(
      present(targets, "span_array"), present(predictions, "span_array"))]
  counts = [len(e) for e in present(predictions, "explanations")]
  return {
      "accuracy": float(100 * sklearn.metrics.accuracy_score(
          present(targets, "label"), present(predictions, "label"))),
      "f1": float(np.mean(span_f1s) * 100),
      "partial match f1": float(100 * np.mean(token_f1s)),
      "avg_explanation_count": sum(counts) / len(counts) if counts else 0.0,
  }
