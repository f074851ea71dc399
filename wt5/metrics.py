"""Metrics for WT5 explanations.

Each metric takes the lists of postprocessed targets and predictions (the
dicts that `wt5.postprocessors` returns), aligned by position, and returns a
dict of floats. Labels may be of any type (str, bytes, int, None, ...): two
labels are equal when they are `==`, with bytes read as UTF-8 text first, so
b"positive" equals "positive". Empty lists give 0 for every value.

    esnli_metric(
        [{"label": "entailment", "explanations": ["Snow is white."]}],
        [{"label": "entailment", "explanations": ["Snow is white."]}])
      -> {"accuracy": 100.0, "bleu": 100.0, "expln1_length": 14}
"""

import itertools
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Set, Tuple

Span = Tuple[int, int]


def _check_lengths(targets: Sequence[Any], predictions: Sequence[Any],
                   metric: str) -> None:
  """Raises ValueError when targets and predictions differ in number."""
  if len(targets) != len(predictions):
    raise ValueError(f"{metric}: got {len(targets)} targets but "
                     f"{len(predictions)} predictions")


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


def _label_ids(targets: Sequence[Mapping[str, Any]],
               predictions: Sequence[Mapping[str, Any]]) -> Tuple[List[int], List[int]]:
  """Maps the target and prediction labels to ints, equal labels to equal ints.

  `_label_ids([{"label": "a"}, {"label": b"b"}], [{"label": "b"}, {"label": 7}])`
  -> ([0, 1], [1, 2]).
  """
  ids: Dict[Any, int] = {}
  def to_ids(items):
    return [ids.setdefault(_label_key(x["label"]), len(ids)) for x in items]
  return to_ids(targets), to_ids(predictions)


def _accuracy_percent(targets, predictions) -> float:
  """Percent of positions whose labels are equal; 0.0 for empty lists."""
  if not targets:
    return 0.0
  target_ids, prediction_ids = _label_ids(targets, predictions)
  return 100.0 * sum(t == p for t, p in zip(target_ids, prediction_ids)) / len(targets)


def _explanation(answer: Mapping[str, Any], index: int) -> str:
  """Returns explanation `index` of `answer` as str, "" if there is none.

  `_explanation({"explanations": ["a", "b"]}, 1)` -> "b";
  `_explanation({"explanations": []}, 0)` -> "".
  """
  explanations = answer.get("explanations") or []
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
  explanation ("" where missing, so the streams stay aligned). Returns:

  - "accuracy": `t5.evaluation.metrics.accuracy` of the labels (percent);
  - "bleu": `t5.evaluation.metrics.bleu` (sacrebleu corpus BLEU, "intl"
    tokenizer, exponential smoothing) of the predicted first explanations
    against the reference streams, clamped to 0..100 (sacrebleu can return
    100.00000000000004 for a perfect match);
  - "expln1_length": the number of characters of the first prediction's first
    explanation.

  Empty lists give {"accuracy": 0.0, "bleu": 0.0, "expln1_length": 0}.
  """
  _check_lengths(targets, predictions, "esnli_metric")
  if not targets:
    return {"accuracy": 0.0, "bleu": 0.0, "expln1_length": 0}
  from t5.evaluation import metrics as t5_metrics  # pylint: disable=g-import-not-at-top

  target_ids, prediction_ids = _label_ids(targets, predictions)
  predicted = [_explanation(p, 0) for p in predictions]
  references = [[_explanation(t, 0) for t in targets]]
  if any(len(t.get("explanations") or []) > 1 for t in targets):
    references.append([_explanation(t, 1) for t in targets])
  return {
      "accuracy": float(t5_metrics.accuracy(target_ids, prediction_ids)["accuracy"]),
      "bleu": min(100.0, max(0.0, float(
          t5_metrics.bleu(references, predicted)["bleu"]))),
      "expln1_length": len(predicted[0]),
  }


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
  - "f1": mean over examples of the exact-span F1 between the sets of target
    spans G and predicted spans P (precision |G∩P|/|P|, recall |G∩P|/|G|,
    0 when a set is empty), as a percentage;
  - "partial match f1": mean over examples of the token-level F1 of the
    `span_array`s (positive class 1, 0 without positives), as a percentage;
  - "avg_explanation_count": mean number of predicted (found) explanations.

  One example, target spans {(0, 2), (5, 6)}, predicted {(0, 2), (3, 4)},
  arrays [1,1,0,0,0,1] and [1,1,0,1,0,0], labels equal:
  {"accuracy": 100.0, "f1": 50.0, "partial match f1": 66.66..,
   "avg_explanation_count": 2.0}. Empty lists give 0.0 for every key.
  """
  _check_lengths(targets, predictions, "extractive_explanations_metric")
  if not targets:
    return {"accuracy": 0.0, "f1": 0.0, "partial match f1": 0.0,
            "avg_explanation_count": 0.0}
  span_f1s, token_f1s, counts = [], [], []
  for target, prediction in zip(targets, predictions):
    gold = _span_set(target["overlap_spans"])
    predicted = _span_set(prediction["overlap_spans"])
    common = len(gold & predicted)
    span_f1s.append(_f1(common / len(predicted) if predicted else 0.0,
                        common / len(gold) if gold else 0.0))
    token_f1s.append(_token_scores(target["span_array"],
                                   prediction["span_array"])[2])
    counts.append(len(prediction["explanations"]))
  n = len(targets)
  return {
      "accuracy": _accuracy_percent(targets, predictions),
      "f1": 100.0 * sum(span_f1s) / n,
      "partial match f1": 100.0 * sum(token_f1s) / n,
      "avg_explanation_count": sum(counts) / n,
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
  spans counted once per example). A predicted span matches a target span of
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
  _check_lengths(targets, predictions, "eraser_rationale_metrics")
  matched_predicted = matched_gold = total_predicted = total_gold = 0
  token_scores = []
  for target, prediction in zip(targets, predictions):
    gold = sorted(_span_set(target["overlap_spans"]))
    predicted = sorted(_span_set(prediction["overlap_spans"]))
    total_gold += len(gold)
    total_predicted += len(predicted)
    matches = {(p, g) for p in predicted for g in gold
               if _iou(p, g) >= iou_threshold and _iou(p, g) > 0}
    matched_predicted += len({p for p, _ in matches})
    matched_gold += len({g for _, g in matches})
    token_scores.append(_token_scores(target["span_array"],
                                      prediction["span_array"]))
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
