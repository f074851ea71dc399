"""Tests of wt5.metrics, with hand-computed values."""

import math

import pytest

from wt5 import metrics
from wt5 import postprocessors


def _answer(label, *explanations):
  return {"label": label, "explanations": list(explanations)}


# esnli_metric


def test_esnli_perfect():
  target = _answer("entailment", "Snow is white.")
  assert metrics.esnli_metric([target], [target]) == {
      "accuracy": 100.0, "bleu": 100.0, "expln1_length": 14}


def test_esnli_single_reference_brevity_penalty():
  # All n-grams of "a b c d" match; hypothesis 4 tokens, reference 5:
  # BLEU = 100 * exp(1 - 5/4).
  result = metrics.esnli_metric(
      [_answer("entailment", "a b c d e"), _answer("neutral", "a b c d e")],
      [_answer("entailment", "a b c d", "extra"), _answer("contradiction", "a b c d")])
  assert result == {"accuracy": 50.0, "bleu": pytest.approx(100 * math.exp(-0.25), abs=1e-9),
                    "expln1_length": 7}


def test_esnli_mixed_one_and_two_references_stay_aligned():
  # Streams: ["x y z w", "p"] and ["", "a b c d"]. Example 1: hypothesis 4
  # tokens, closest reference 4. Example 2: "a b c" (3 tokens) against "p" (1)
  # and "a b c d" (4): closest 4. Every n-gram matches (7/7, 5/5, 3/3, 1/1);
  # lengths 7 vs 8: BLEU = 100 * exp(1 - 8/7).
  targets = [_answer("entailment", "x y z w"), _answer("neutral", "p", "a b c d")]
  predictions = [_answer("entailment", "x y z w", "ignored"), _answer("neutral", "a b c")]
  assert metrics.esnli_metric(targets, predictions) == {
      "accuracy": 100.0, "bleu": pytest.approx(100 * math.exp(-1 / 7), abs=1e-9),
      "expln1_length": 7}


def test_esnli_missing_explanations_count_as_empty():
  result = metrics.esnli_metric(
      [_answer("a"), _answer("b", "one two three four")],
      [_answer("a"), _answer("c")])
  assert result == {"accuracy": 50.0, "bleu": 0.0, "expln1_length": 0}


def test_esnli_empty_lists():
  assert metrics.esnli_metric([], []) == {
      "accuracy": 0.0, "bleu": 0.0, "expln1_length": 0}


def test_esnli_labels_of_any_type():
  targets = [_answer(1, "x"), _answer(b"yes", "x"), _answer(None, "x"), _answer("x", "x")]
  predictions = [_answer(1, "x"), _answer("yes", "x"), _answer(None, "x"), _answer("y", "x")]
  assert metrics.esnli_metric(targets, predictions)["accuracy"] == 75.0


def test_esnli_does_not_modify_its_inputs():
  predictions = [_answer("a", "x y", "z")]
  metrics.esnli_metric([_answer("a", "x y")], predictions)
  assert predictions == [_answer("a", "x y", "z")]


def test_length_mismatch_is_a_clear_error():
  with pytest.raises(ValueError, match="esnli_metric: got 1 targets but 0 predictions"):
    metrics.esnli_metric([_answer("a")], [])


# extractive_explanations_metric

_TARGETS = [
    {"label": "positive", "overlap_spans": [(0, 2), (5, 6)],
     "span_array": [1, 1, 0, 0, 0, 1], "explanations": ["a", "b"]},
    {"label": "negative", "overlap_spans": [(1, 3)],
     "span_array": [0, 1, 1, 0], "explanations": ["c"]},
    {"label": "negative", "overlap_spans": [(0, 1), (2, 4)],
     "span_array": [1, 0, 1, 1], "explanations": ["d", "e"]},
]
_PREDICTIONS = [
    # Spans: 1 of 2 shared, F1 1/2. Tokens: tp 2 of 3 predicted, 3 gold: 2/3.
    {"label": "positive", "overlap_spans": [(0, 2), (3, 4)],
     "span_array": [1, 1, 0, 1, 0, 0], "explanations": ["a", "f"]},
    # Nothing predicted: 0 and 0; wrong label.
    {"label": "positive", "overlap_spans": [],
     "span_array": [0, 0, 0, 0], "explanations": []},
    # The same spans, one repeated (as a list and a tuple): spans precision
    # 2 of the 3 listed, recall 2/2, F1 4/5; tokens 1.
    {"label": "negative", "overlap_spans": [[2, 4], (0, 1), (2, 4)],
     "span_array": [1, 0, 1, 1], "explanations": ["e", "d", "g"]},
]


def test_extractive_metric_hand_computed():
  assert metrics.extractive_explanations_metric(_TARGETS, _PREDICTIONS) == {
      "accuracy": pytest.approx(200 / 3, abs=1e-12),
      "f1": pytest.approx(100 * (0.5 + 0 + 0.8) / 3, abs=1e-12),
      "partial match f1": pytest.approx(100 * (2 / 3 + 0 + 1) / 3, abs=1e-12),
      "avg_explanation_count": pytest.approx(5 / 3, abs=1e-12),
  }


def test_extractive_metric_docstring_example():
  assert metrics.extractive_explanations_metric(_TARGETS[:1], _PREDICTIONS[:1]) == {
      "accuracy": 100.0, "f1": 50.0,
      "partial match f1": pytest.approx(200 / 3, abs=1e-12),
      "avg_explanation_count": 2.0}


def test_extractive_metric_empty_lists():
  assert metrics.extractive_explanations_metric([], []) == {
      "accuracy": 0.0, "f1": 0.0, "partial match f1": 0.0,
      "avg_explanation_count": 0.0}


def test_extractive_metric_labels_and_arrays_of_other_types():
  import numpy as np
  targets = [{"label": b"positive", "overlap_spans": [(0, 1)],
              "span_array": np.array([1, 0]), "explanations": ["x"]},
             {"label": None, "overlap_spans": [], "span_array": [True, False, False],
              "explanations": []}]
  predictions = [{"label": "positive", "overlap_spans": [np.array([0, 1])],
                  "span_array": [1, 0, 0], "explanations": ["x"]},
                 {"label": 0, "overlap_spans": [], "span_array": [1, 2],
                  "explanations": []}]
  # Example 2: token tp 1 (position 0), predicted 1, gold 1: F1 1; spans: 0.
  assert metrics.extractive_explanations_metric(targets, predictions) == {
      "accuracy": 50.0, "f1": 50.0, "partial match f1": 100.0,
      "avg_explanation_count": 0.5}


# eraser_rationale_metrics

_ERASER_TARGETS = [
    {"overlap_spans": [(0, 4), (6, 8)], "span_array": [1, 1, 1, 1, 0, 0, 1, 1, 0, 0]},
    {"overlap_spans": [(0, 2)], "span_array": [1, 1, 0]},
    {"overlap_spans": [], "span_array": [0, 0]},
]
_ERASER_PREDICTIONS = [
    # IOU((1, 4), (0, 4)) = 3/4 matches; (8, 10) overlaps nothing.
    # Tokens: tp 3, predicted 5, gold 6: p 3/5, r 1/2, F1 6/11.
    {"overlap_spans": [(1, 4), (8, 10)], "span_array": [0, 1, 1, 1, 0, 0, 0, 0, 1, 1]},
    # IOU 1/2 each: both predicted spans match the one target span.
    {"overlap_spans": [(0, 1), (1, 2)], "span_array": [1, 1, 0]},
    # Nothing to match; no gold tokens: 0, 0, 0.
    {"overlap_spans": [(0, 1)], "span_array": [1, 0]},
]


def test_eraser_hand_computed():
  # Predicted spans 5, matched 3: precision 3/5. Target spans 3, matched 2:
  # recall 2/3. F1 = 2 * 3/5 * 2/3 / (3/5 + 2/3) = 12/19.
  assert metrics.eraser_rationale_metrics(_ERASER_TARGETS, _ERASER_PREDICTIONS) == {
      "iou_precision": pytest.approx(3 / 5, abs=1e-12),
      "iou_recall": pytest.approx(2 / 3, abs=1e-12),
      "iou_f1": pytest.approx(12 / 19, abs=1e-12),
      "token_precision": pytest.approx((3 / 5 + 1 + 0) / 3, abs=1e-12),
      "token_recall": pytest.approx((1 / 2 + 1 + 0) / 3, abs=1e-12),
      "token_f1": pytest.approx((6 / 11 + 1 + 0) / 3, abs=1e-12),
  }


def test_eraser_threshold_and_empty():
  assert metrics.eraser_rationale_metrics(
      _ERASER_TARGETS[:1], _ERASER_PREDICTIONS[:1], iou_threshold=0.8)["iou_f1"] == 0.0
  assert metrics.eraser_rationale_metrics([], []) == {
      "iou_precision": 0.0, "iou_recall": 0.0, "iou_f1": 0.0,
      "token_precision": 0.0, "token_recall": 0.0, "token_f1": 0.0}


# Bad predictions through the postprocessors and the metrics

_EXAMPLE = {"inputs_pretokenized": b"explain review: great cast, dull plot"}
_BAD_PREDICTIONS = [
    "positive",
    " explanation: ",
    "",
    "positivé explanation: grêat ☃",
    "positive explanation: " + "great cast " * 10000,
    "positive explanation: great cast",
]


def test_bad_predictions_extractive():
  target = postprocessors.extractive_explanations(
      "positive explanation: great cast", example=_EXAMPLE, is_target=True)
  assert target["span_array"] == [0, 0, 0, 1, 1, 0, 0, 0]
  targets = [target] * len(_BAD_PREDICTIONS)
  predictions = [postprocessors.extractive_explanations(p, example=_EXAMPLE)
                 for p in _BAD_PREDICTIONS]
  assert [p["label"] for p in predictions] == [
      "positive", "", "", "positivé", "positive", "positive"]
  # " explanation: " holds one empty explanation: the empty span (0, 0).
  assert [p["overlap_spans"] for p in predictions] == [
      [], [(0, 0)], [], [], [], [(3, 5)]]
  assert [p["explanations"] for p in predictions] == [
      [], [""], [], [], [], ["great cast"]]
  assert metrics.extractive_explanations_metric(targets, predictions) == {
      "accuracy": 50.0, "f1": pytest.approx(100 / 6, abs=1e-12),
      "partial match f1": pytest.approx(100 / 6, abs=1e-12),
      "avg_explanation_count": pytest.approx(2 / 6, abs=1e-12)}
  # One predicted span with tokens, matched ((0, 0) is no rationale); six
  # target spans, one matched.
  assert metrics.eraser_rationale_metrics(targets, predictions) == {
      "iou_precision": 1.0, "iou_recall": pytest.approx(1 / 6, abs=1e-12),
      "iou_f1": pytest.approx(2 / 7, abs=1e-12),
      "token_precision": pytest.approx(1 / 6, abs=1e-12),
      "token_recall": pytest.approx(1 / 6, abs=1e-12),
      "token_f1": pytest.approx(1 / 6, abs=1e-12)}


def test_bad_predictions_abstractive():
  target = postprocessors.abstractive_explanations(b"positive explanation: great cast")
  predictions = [postprocessors.abstractive_explanations(p) for p in _BAD_PREDICTIONS]
  result = metrics.esnli_metric([target] * len(predictions), predictions)
  assert result["accuracy"] == 50.0
  assert result["expln1_length"] == 0
  assert 0.0 < result["bleu"] < 100.0
