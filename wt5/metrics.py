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
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Set, Tuple

from wt5 import answers
from wt5 import bleu as bleu_lib
from wt5 import metrics_2020

Span = Tuple[int, int]


def _values(dicts: Sequence[Any], key: str, side: str,
            metric: str) -> List[Any]:
  """Returns `answer[key]` for every answer; a clear error if one lacks it.

  `_values([{"label": "a"}], "label", "targets", "m")` -> ["a"];
  `_values([{"x": 1}], "label", "targets", "m")` raises ValueError
  "m: targets[0] has no 'label' (its keys: ['x'])".
  """
  message = metrics_2020.missing_key(dicts, key, side, metric)
  if message:
    raise ValueError(message)
  return [d[key] for d in dicts]


def _label_key(label: Any) -> Any:
  """Returns a hashable key under which equal labels compare equal.

  `_label_key(b"positive")` -> "positive"; `_label_key(["x"])` -> "['x']"
  (unhashable labels compare by their repr).
  """
  if isinstance(label, bytes):
    return answers.as_text(label, errors="surrogateescape")
  try:
    hash(label)
  except TypeError:
    return ("unhashable", type(label).__name__, repr(label))
  return label


def accuracy_percent(target_labels: Sequence[Any],
                     prediction_labels: Sequence[Any]) -> float:
  """Percent of positions whose labels are equal; 0.0 for empty lists.

  `accuracy_percent(["a", "b"], ["a", "c"])` -> 50.0. This is
  `100 * sklearn.metrics.accuracy_score`, the 2020 code's accuracy (so
  ["1", "a"] against [1, "a"] is 100.0: numpy reads both as strings). Labels
  scikit-learn rejects are compared with `==`, bytes read as UTF-8 text:
  [b"a", None] against ["a", None] is 100.0.
  """
  if not target_labels:
    return 0.0
  import sklearn.metrics
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


def nth_explanation(explanations: Any, index: int) -> str:
  """Returns explanation `index` as str, "" if there is none.

  `nth_explanation(["a", "b"], 1)` -> "b"; `nth_explanation([], 0)` -> "";
  `nth_explanation(None, 0)` -> "".
  """
  explanations = explanations or []
  if len(explanations) <= index:
    return ""
  return answers.as_text(explanations[index])


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
  Where one lacks a key, the result is the 2020 code's
  (`wt5.metrics_2020.esnli_2020`) and a warning is logged; where the 2020
  code fails, a ValueError names the key, e.g. "esnli_metric: predictions[0]
  has no 'explanations' (its keys: ['label'])". Empty lists give {"accuracy": 0.0, "bleu": 0.0,
  "expln1_length": 0}. The arguments are not modified.
  """
  metric = "esnli_metric"
  missing = metrics_2020.first_missing(
      targets, predictions, ("label", "explanations"), metric)
  if missing:
    return metrics_2020.as_2020(
        metric, missing, targets, predictions,
        lambda: metrics_2020.esnli_2020(targets, predictions))
  answers.check_lengths(targets, predictions, metric)
  target_labels = _values(targets, "label", "targets", metric)
  prediction_labels = _values(predictions, "label", "predictions", metric)
  target_explanations = _values(targets, "explanations", "targets", metric)
  prediction_explanations = _values(predictions, "explanations", "predictions",
                                    metric)
  if not targets:
    return {"accuracy": 0.0, "bleu": 0.0, "expln1_length": 0}
  predicted = [nth_explanation(e, 0) for e in prediction_explanations]
  references = [[nth_explanation(e, 0) for e in target_explanations]]
  if any(len(e or []) > 1 for e in target_explanations):
    references.append([nth_explanation(e, 1) for e in target_explanations])
  return {
      "accuracy": accuracy_percent(target_labels, prediction_labels),
      "bleu": min(100.0, max(0.0, bleu_lib.corpus_bleu(references,
                                                        predicted))),
      "expln1_length": len(predicted[0]),
  }


def _span_set(spans: Iterable[Any]) -> Set[Span]:
  """Returns spans as a set of (start, end) int tuples.

  `_span_set([[1, 3], (1, 3), (4, 5)])` -> {(1, 3), (4, 5)}.
  """
  return {(int(start), int(end)) for start, end in spans}


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
  return precision, recall, metrics_2020.f1(precision, recall)


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
  2020 code's (`wt5.metrics_2020.extractive_2020`: values paired in order,
  nan for a mean of nothing) and a warning is logged; where the 2020 code fails, a ValueError
  names the key. Empty lists give 0.0 for every key.
  """
  metric = "extractive_explanations_metric"
  missing = metrics_2020.first_missing(
      targets, predictions, ("label", "overlap_spans", "span_array"), metric)
  if missing:
    return metrics_2020.as_2020(
        metric, missing, targets, predictions,
        lambda: metrics_2020.extractive_2020(targets, predictions))
  answers.check_lengths(targets, predictions, metric)
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
    span_f1s.append(metrics_2020.f1(
        common / len(predicted) if len(predicted) else 0.0,
        common / len(gold) if len(gold) else 0.0))
    token_f1s.append(_token_scores(gold_array, predicted_array)[2])
  n = len(targets)
  return {
      "accuracy": accuracy_percent(target_labels, prediction_labels),
      "f1": 100.0 * sum(span_f1s) / n,
      "partial match f1": 100.0 * sum(token_f1s) / n,
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
  answers.check_lengths(targets, predictions, metric)
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
      "iou_f1": metrics_2020.f1(precision, recall),
      "token_precision": mean(0),
      "token_recall": mean(1),
      "token_f1": mean(2),
  }
