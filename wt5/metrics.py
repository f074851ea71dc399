"""Metrics for WT5 explanations.

Each metric takes the lists of postprocessed targets and predictions (the
dicts that `wt5.postprocessors` returns), aligned by position, and returns a
dict of floats, the values the 2020 WT5 code computes on the same dicts.

Label accuracy is scikit-learn's `accuracy_score`, as in the 2020 code
(labels compared as numpy compares them). Where scikit-learn rejects the
labels (bytes, None, NaN, mixed strings and numbers that numpy cannot
compare) two labels are equal when they are `==`, with bytes read as UTF-8
text first, so b"positive" equals "positive". Empty lists give 0 for every
value. Where a dict lacks a key the metric reads, `esnli_metric` and
`extractive_explanations_metric` return what the 2020 code returns (it keeps
each key's values from the dicts that have it and pairs those lists in
order), with a warning, or raise a ValueError naming the key where the 2020
code fails; `eraser_rationale_metrics` always raises that error.

    esnli_metric(
        [{"label": "entailment", "explanations": ["Snow is white."]}],
        [{"label": "entailment", "explanations": ["Snow is white."]}])
      -> {"accuracy": 100.0, "bleu": 100.0, "expln1_length": 14}
"""

import itertools
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Set, Tuple)
import warnings

from absl import logging

Span = Tuple[int, int]


def _check_lengths(targets: Sequence[Any], predictions: Sequence[Any],
                   metric: str) -> None:
  """Raises ValueError when targets and predictions differ in number."""
  if len(targets) != len(predictions):
    raise ValueError(f"{metric}: got {len(targets)} targets but "
                     f"{len(predictions)} predictions")


def _has(answer: Any, key: str) -> bool:
  """Whether `answer[key]` exists. `_has({"a": 1}, "a")` -> True."""
  try:
    answer[key]  # pylint: disable=pointless-statement
  except (KeyError, TypeError, IndexError):
    return False
  return True


def _missing_key(answers: Sequence[Any], key: str, side: str,
                 metric: str) -> Optional[str]:
  """Names the first answer that lacks `key`; None if every answer has it.

  `_missing_key([{"label": "a"}, {"x": 1}], "label", "targets", "m")` ->
  "m: targets[1] has no 'label' (its keys: ['x'])".
  """
  for index, answer in enumerate(answers):
    if not _has(answer, key):
      keys = (sorted(map(str, answer.keys())) if hasattr(answer, "keys")
              else type(answer).__name__)
      return f"{metric}: {side}[{index}] has no {key!r} (its keys: {keys})"
  return None


def _first_missing(targets: Sequence[Any], predictions: Sequence[Any],
                   keys: Sequence[str], metric: str) -> Optional[str]:
  """`_missing_key` over `keys` in order, targets before predictions."""
  for key in keys:
    for side, answers in (("targets", targets), ("predictions", predictions)):
      message = _missing_key(answers, key, side, metric)
      if message:
        return message
  return None


def _values(answers: Sequence[Any], key: str, side: str,
            metric: str) -> List[Any]:
  """Returns `answer[key]` for every answer; a clear error if one lacks it.

  `_values([{"label": "a"}], "label", "targets", "m")` -> ["a"];
  `_values([{"x": 1}], "label", "targets", "m")` raises ValueError
  "m: targets[0] has no 'label' (its keys: ['x'])".
  """
  message = _missing_key(answers, key, side, metric)
  if message:
    raise ValueError(message)
  return [answer[key] for answer in answers]


def _present(answers: Sequence[Any], key: str) -> List[Any]:
  """`answer[key]` of the answers that have `key`, in order.

  `_present([{"a": 1}, {}, {"a": 3}], "a")` -> [1, 3].
  """
  return [answer[key] for answer in answers if _has(answer, key)]


def _warn_paired_in_order(message: str) -> None:
  """Logs that values of a dict lacking a key go to other examples."""
  logging.warning(
      "%s; as in the 2020 code, each key's values are taken from the dicts "
      "that have it and the remaining values are paired in order, so they "
      "may belong to other examples", message)


def _as_2020(metric: str, message: str, targets: Sequence[Any],
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
  except Exception:  # pylint: disable=broad-except
    _check_lengths(targets, predictions, metric)
    raise ValueError(message) from None
  _warn_paired_in_order(message)
  return result


def _np_errstate():
  """numpy error state of the 2020 computation: nan for an empty mean."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  return np.errstate(all="ignore")


def _label_key(label: Any) -> Any:
  """Returns a hashable key under which equal labels compare equal.

  `_label_key(b"positive")` -> "positive"; `_label_key(["x"])` -> "['x']"
  (unhashable labels compare by their repr).
  """
  if isinstance(label, bytes):
    return bytes(label).decode("utf-8", errors="surrogateescape")
  try:
    hash(label)
  except TypeError:
    return ("unhashable", type(label).__name__, repr(label))
  return label


def _accuracy_percent(target_labels: Sequence[Any],
                      prediction_labels: Sequence[Any]) -> float:
  """Percent of positions whose labels are equal; 0.0 for empty lists.

  `_accuracy_percent(["a", "b"], ["a", "c"])` -> 50.0. This is
  `100 * sklearn.metrics.accuracy_score`, the 2020 code's accuracy (so
  ["1", "a"] against [1, "a"] is 100.0: numpy reads both as strings). Labels
  scikit-learn rejects are compared with `==`, bytes read as UTF-8 text:
  [b"a", None] against ["a", None] is 100.0.
  """
  if not target_labels:
    return 0.0
  import sklearn.metrics  # pylint: disable=g-import-not-at-top
  try:
    return float(100 * sklearn.metrics.accuracy_score(
        list(target_labels), list(prediction_labels)))
  except (TypeError, ValueError):
    pass
  ids: Dict[Any, int] = {}
  targets = [ids.setdefault(_label_key(x), len(ids)) for x in target_labels]
  predictions = [ids.setdefault(_label_key(x), len(ids))
                 for x in prediction_labels]
  return 100.0 * sum(t == p for t, p in zip(targets, predictions)) / len(targets)


def _explanation(explanations: Any, index: int) -> str:
  """Returns explanation `index` as str, "" if there is none.

  `_explanation(["a", "b"], 1)` -> "b"; `_explanation([], 0)` -> "";
  `_explanation(None, 0)` -> "".
  """
  explanations = explanations or []
  if len(explanations) <= index:
    return ""
  value = explanations[index]
  if isinstance(value, bytes):
    return value.decode("utf-8", errors="replace")
  return str(value)


def esnli_metric(targets: Sequence[Mapping[str, Any]],
                 predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """Label accuracy and BLEU of the first explanation (e-SNLI, CoS-E, MNLI).

  Each prediction is cut to its first explanation. The first reference
  stream holds every target's first explanation ("" if none); when any target
  has a second explanation, a second stream holds every target's second
  explanation. Where only some targets have one, the missing ones are ""
  so that the streams stay aligned (the 2020 code passed a shorter second
  stream, which sacrebleu 2 scores against the wrong hypotheses). Returns:

  - "accuracy": `t5.evaluation.metrics.accuracy` of the labels (percent;
    labels it rejects are compared as the module docstring says);
  - "bleu": `t5.evaluation.metrics.bleu` (sacrebleu corpus BLEU, "intl"
    tokenizer, exponential smoothing) of the predicted first explanations
    against the reference streams, clamped to 0..100 (sacrebleu can return
    100.00000000000004 for a perfect match);
  - "expln1_length": the number of characters of the first prediction's first
    explanation.

  Every dict should have "label" and "explanations" (None or [] for none).
  Where one lacks a key, the result is the 2020 code's (`_esnli_2020`) and a
  warning is logged; where the 2020 code fails, a ValueError names the key,
  e.g. "esnli_metric: predictions[0] has no 'explanations' (its keys:
  ['label'])". Empty lists give {"accuracy": 0.0, "bleu": 0.0,
  "expln1_length": 0}. The arguments are not modified.
  """
  metric = "esnli_metric"
  missing = _first_missing(targets, predictions, ("label", "explanations"),
                           metric)
  if missing:
    return _as_2020(metric, missing, targets, predictions,
                    lambda: _esnli_2020(targets, predictions))
  _check_lengths(targets, predictions, metric)
  target_labels = _values(targets, "label", "targets", metric)
  prediction_labels = _values(predictions, "label", "predictions", metric)
  target_explanations = _values(targets, "explanations", "targets", metric)
  prediction_explanations = _values(predictions, "explanations", "predictions",
                                    metric)
  if not targets:
    return {"accuracy": 0.0, "bleu": 0.0, "expln1_length": 0}
  from t5.evaluation import metrics as t5_metrics  # pylint: disable=g-import-not-at-top

  predicted = [_explanation(e, 0) for e in prediction_explanations]
  references = [[_explanation(e, 0) for e in target_explanations]]
  if any(len(e or []) > 1 for e in target_explanations):
    references.append([_explanation(e, 1) for e in target_explanations])
  return {
      "accuracy": _accuracy_percent(target_labels, prediction_labels),
      "bleu": min(100.0, max(0.0, float(
          t5_metrics.bleu(references, predicted)["bleu"]))),
      "expln1_length": len(predicted[0]),
  }


def _esnli_2020(targets: Sequence[Mapping[str, Any]],
                predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """`esnli_metric` on dicts that may lack keys, as the 2020 code computes it.

  Labels and explanations come from the dicts that have them; accuracy pairs
  the two label lists in order (scikit-learn rejects lists of different
  lengths); the reference streams hold the targets that have "explanations"
  (the second one "" where such a target has one explanation) and sacrebleu
  scores the first hypotheses against them, as many as the streams hold.
  Raises where the 2020 code raises: a prediction without "explanations",
  no target with "explanations", `None` explanations, no prediction.
  `_esnli_2020([{"label": "a", "explanations": ["x y z w"]}, {"label": "b"}],
  [{"label": "a", "explanations": ["x y z w"]}, {"label": "b",
  "explanations": ["q"]}])` -> {"accuracy": 100.0, "bleu": 100.0,
  "expln1_length": 7} ("q" is not scored: the stream holds one reference).
  """
  import sklearn.metrics  # pylint: disable=g-import-not-at-top
  from t5.evaluation import metrics as t5_metrics  # pylint: disable=g-import-not-at-top

  target_explanations = _present(targets, "explanations")
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
      _present(targets, "label"), _present(predictions, "label"))
  # sacrebleu pairs hypotheses with the reference streams in order and stops
  # at the shortest, so extra hypotheses are not scored.
  bleu = t5_metrics.bleu(references, predicted[:len(first)])["bleu"]
  return {"accuracy": float(accuracy),
          "bleu": min(100.0, max(0.0, float(bleu))),
          "expln1_length": len(predicted[0])}


def _span_set(spans: Iterable[Any]) -> Set[Span]:
  """Returns spans as a set of (start, end) int tuples.

  `_span_set([[1, 3], (1, 3), (4, 5)])` -> {(1, 3), (4, 5)}.
  """
  return {(int(start), int(end)) for start, end in spans}


def _f1(precision: float, recall: float) -> float:
  """Harmonic mean of precision and recall; 0.0 when either is 0."""
  if precision <= 0 or recall <= 0:
    return 0.0
  return 2 * precision * recall / (precision + recall)


def _token_counts(target_array: Sequence[int],
                  predicted_array: Sequence[int]) -> Tuple[int, int, int]:
  """Returns (true positives, predicted positives, target positives).

  Arrays of different lengths are compared as if the shorter one were padded
  with zeros. `_token_counts([1, 1, 0], [0, 1, 1, 1])` -> (1, 3, 2).
  """
  target_array = list(target_array)
  predicted_array = list(predicted_array)
  gold = target_array.count(1)
  predicted = predicted_array.count(1)
  if gold + target_array.count(0) == len(target_array):
    # Only 0s and 1s: the predicted values where the target is 1.
    true_positives = list(
        itertools.compress(predicted_array, target_array)).count(1)
  else:
    true_positives = sum(
        1 for t, p in zip(target_array, predicted_array) if t == 1 and p == 1)
  return true_positives, predicted, gold


def _token_scores(target_array, predicted_array) -> Tuple[float, float, float]:
  """Token-level (precision, recall, F1) of the positive class (1).

  `_token_scores([1, 1, 0, 0], [0, 1, 1, 0])` -> (0.5, 0.5, 0.5); each is 0.0
  when its denominator is 0.
  """
  true_positives, predicted, gold = _token_counts(target_array, predicted_array)
  precision = true_positives / predicted if predicted else 0.0
  recall = true_positives / gold if gold else 0.0
  return precision, recall, _f1(precision, recall)


def extractive_explanations_metric(
    targets: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """Label accuracy and rationale overlap of extractive explanations.

  - "accuracy": percent of examples whose predicted label equals the target's;
  - "f1": mean over examples of the exact-span F1 between target spans G and
    predicted spans P: |set(G) ∩ set(P)| divided by the list lengths, i.e.
    precision |set(G) ∩ set(P)| / len(P) and recall ... / len(G) (0 when a
    list is empty), as the 2020 code counts (a repeated predicted span lowers
    precision), as a percentage;
  - "partial match f1": mean over examples of the token-level F1 of the
    `span_array`s (positive class 1, 0 without positives; the value of
    `sklearn.metrics.f1_score`), as a percentage;
  - "avg_explanation_count": mean number of predicted (found) explanations,
    over the predictions that have "explanations" (0.0 if none has).

  One example, target spans [(0, 2), (5, 6)], predicted [(0, 2), (3, 4)],
  arrays [1,1,0,0,0,1] and [1,1,0,1,0,0], labels equal:
  {"accuracy": 100.0, "f1": 50.0, "partial match f1": 66.66..,
   "avg_explanation_count": 2.0}. Every dict should have "label",
  "overlap_spans" and "span_array"; where one lacks a key, the result is the
  2020 code's (`_extractive_2020`: values paired in order, nan for a mean of
  nothing) and a warning is logged; where the 2020 code fails, a ValueError
  names the key. Empty lists give 0.0 for every key.
  """
  metric = "extractive_explanations_metric"
  missing = _first_missing(targets, predictions,
                           ("label", "overlap_spans", "span_array"), metric)
  if missing:
    return _as_2020(metric, missing, targets, predictions,
                    lambda: _extractive_2020(targets, predictions))
  _check_lengths(targets, predictions, metric)
  target_labels = _values(targets, "label", "targets", metric)
  prediction_labels = _values(predictions, "label", "predictions", metric)
  target_spans = _values(targets, "overlap_spans", "targets", metric)
  predicted_spans = _values(predictions, "overlap_spans", "predictions", metric)
  target_arrays = _values(targets, "span_array", "targets", metric)
  predicted_arrays = _values(predictions, "span_array", "predictions", metric)
  counts = [len(p["explanations"]) for p in predictions if "explanations" in p]
  if not targets:
    return {"accuracy": 0.0, "f1": 0.0, "partial match f1": 0.0,
            "avg_explanation_count": 0.0}
  span_f1s, token_f1s = [], []
  for gold, predicted, gold_array, predicted_array in zip(
      target_spans, predicted_spans, target_arrays, predicted_arrays):
    common = len(_span_set(gold) & _span_set(predicted))
    span_f1s.append(_f1(common / len(predicted) if len(predicted) else 0.0,
                        common / len(gold) if len(gold) else 0.0))
    token_f1s.append(_token_scores(gold_array, predicted_array)[2])
  n = len(targets)
  return {
      "accuracy": _accuracy_percent(target_labels, prediction_labels),
      "f1": 100.0 * sum(span_f1s) / n,
      "partial match f1": 100.0 * sum(token_f1s) / n,
      "avg_explanation_count": sum(counts) / len(counts) if counts else 0.0,
  }


def _extractive_2020(
    targets: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """`extractive_explanations_metric` on dicts that may lack keys, as in 2020.

  Each key's values come from the dicts that have it; the target and
  prediction lists are paired in order up to the shorter one, and a mean
  over no pairs is nan. Raises where the 2020 code raises (label lists of
  different lengths, span arrays scikit-learn rejects, unhashable spans).
  `_extractive_2020([{"label": "a", "span_array": [1]}, {"label": "a",
  "overlap_spans": [(0, 1)], "span_array": [1]}], [{"label": "a",
  "overlap_spans": [(0, 1)], "span_array": [1]}] * 2)` -> {"accuracy": 100.0,
  "f1": 100.0, "partial match f1": 100.0, "avg_explanation_count": 0.0}.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import sklearn.metrics  # pylint: disable=g-import-not-at-top

  span_f1s = []
  for gold, predicted in zip(_present(targets, "overlap_spans"),
                             _present(predictions, "overlap_spans")):
    common = len(set(gold) & set(predicted))
    span_f1s.append(_f1(common / len(predicted) if predicted else 0,
                        common / len(gold) if gold else 0))
  token_f1s = [sklearn.metrics.f1_score(t, p) for t, p in zip(
      _present(targets, "span_array"), _present(predictions, "span_array"))]
  counts = [len(e) for e in _present(predictions, "explanations")]
  return {
      "accuracy": float(100 * sklearn.metrics.accuracy_score(
          _present(targets, "label"), _present(predictions, "label"))),
      "f1": float(np.mean(span_f1s) * 100),
      "partial match f1": float(100 * np.mean(token_f1s)),
      "avg_explanation_count": sum(counts) / len(counts) if counts else 0.0,
  }


def _iou(first: Span, second: Span) -> float:
  """Token intersection over union of two half-open spans.

  `_iou((0, 4), (2, 6))` -> 2 / 6; 0.0 for two empty spans.
  """
  intersection = max(0, min(first[1], second[1]) - max(first[0], second[0]))
  union = (max(0, first[1] - first[0]) + max(0, second[1] - second[0]) -
           intersection)
  return intersection / union if union > 0 else 0.0


def eraser_rationale_metrics(
    targets: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]],
    iou_threshold: float = 0.5) -> Dict[str, float]:
  """ERASER hard-rationale scores (DeYoung et al., 2020), as fractions 0..1.

  Spans are the `overlap_spans` of the extractive postprocessor (repeated
  spans counted once per example; spans that cover no token, such as the
  (0, 0) of an empty explanation, are not rationales and are left out). A predicted span matches a target span of
  the same example when they overlap and their token IOU is at least
  `iou_threshold`:

  - "iou_precision": matched predicted spans / all predicted spans;
  - "iou_recall": matched target spans / all target spans;
  - "iou_f1": their harmonic mean (micro over all examples);
  - "token_precision", "token_recall", "token_f1": token-level scores of the
    `span_array`s (positive class 1), computed per example (0 where a
    denominator is 0) and averaged over examples (macro).

  One example with target spans {(0, 4), (6, 8)} and predicted spans
  {(1, 4), (8, 10)}: IOU((1, 4), (0, 4)) = 0.75 matches, (8, 10) matches
  nothing, so iou_precision = iou_recall = iou_f1 = 0.5. Empty lists, or no
  spans at all, give 0.0.
  """
  metric = "eraser_rationale_metrics"
  _check_lengths(targets, predictions, metric)
  matched_predicted = matched_gold = total_predicted = total_gold = 0
  token_scores = []
  for target_spans, predicted_spans, target_array, predicted_array in zip(
      _values(targets, "overlap_spans", "targets", metric),
      _values(predictions, "overlap_spans", "predictions", metric),
      _values(targets, "span_array", "targets", metric),
      _values(predictions, "span_array", "predictions", metric)):
    gold = sorted(span for span in _span_set(target_spans) if span[0] < span[1])
    predicted = sorted(span for span in _span_set(predicted_spans)
                       if span[0] < span[1])
    total_gold += len(gold)
    total_predicted += len(predicted)
    matches = {(p, g) for p in predicted for g in gold
               if _iou(p, g) >= iou_threshold and _iou(p, g) > 0}
    matched_predicted += len({p for p, _ in matches})
    matched_gold += len({g for _, g in matches})
    token_scores.append(_token_scores(target_array, predicted_array))
  precision = matched_predicted / total_predicted if total_predicted else 0.0
  recall = matched_gold / total_gold if total_gold else 0.0
  n = len(token_scores)
  def mean(index):
    return sum(s[index] for s in token_scores) / n if n else 0.0
  return {
      "iou_precision": precision,
      "iou_recall": recall,
      "iou_f1": _f1(precision, recall),
      "token_precision": mean(0),
      "token_recall": mean(1),
      "token_f1": mean(2),
  }
