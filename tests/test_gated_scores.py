"""Accuracy-gated explanation scores, on hand-computed examples."""

import argparse
import json
import math
import os

from mesh_tensorflow.transformer import utils as mtf_utils
import pytest

from wt5 import bleu
from wt5.scoring import gated as gated_scores
from wt5.scoring import score_command as scoring


def extractive(label, spans, array):
  return {"label": label, "overlap_spans": spans, "span_array": array,
          "explanations": ["e%d" % i for i in range(len(spans))]}


# Example 0: label right; spans {(0,2),(5,6)} vs {(0,2),(3,4)}: span F1 1/2;
#   tokens: 2 common of 3 gold and 3 predicted: token F1 2/3.
# Example 1: label wrong; identical spans: span F1 1, token F1 1.
# Example 2: label right; disjoint spans: span F1 0, token F1 0.
EXTRACTIVE_TARGETS = [
    extractive("positive", [(0, 2), (5, 6)], [1, 1, 0, 0, 0, 1]),
    extractive("negative", [(1, 3)], [0, 1, 1, 0]),
    extractive(b"negative", [(0, 1)], [1, 0, 0]),
]
EXTRACTIVE_PREDICTIONS = [
    extractive("positive", [(0, 2), (3, 4)], [1, 1, 0, 1, 0, 0]),
    extractive("positive", [(1, 3)], [0, 1, 1, 0]),
    extractive("negative", [(1, 2)], [0, 1, 0]),
]


def test_extractive_gated_scores_by_hand():
  scores = gated_scores.extractive_gated_scores(EXTRACTIVE_TARGETS,
                                                EXTRACTIVE_PREDICTIONS)
  assert scores == {
      # Mean over the 2 correctly labelled examples: (50 + 0) / 2.
      "f1_correct_pred": pytest.approx(25.0, abs=1e-9),
      # 0 for the wrong one, mean over all 3: (50 + 0 + 0) / 3.
      "f1_correct_normalized": pytest.approx(50 / 3, abs=1e-9),
      "partial match f1_correct_pred": pytest.approx(100 / 3, abs=1e-9),
      "partial match f1_correct_normalized": pytest.approx(200 / 9, abs=1e-9),
  }
  assert list(scores) == ["f1_correct_pred", "f1_correct_normalized",
                          "partial match f1_correct_pred",
                          "partial match f1_correct_normalized"]


def test_per_example_scores_are_the_metric_on_one_example():
  assert gated_scores.extractive_example_scores(
      EXTRACTIVE_TARGETS[0], EXTRACTIVE_PREDICTIONS[0]) == {
          "accuracy": 100.0, "f1": pytest.approx(50.0, abs=1e-9),
          "partial match f1": pytest.approx(200 / 3, abs=1e-9)}
  assert gated_scores.extractive_example_scores(
      EXTRACTIVE_TARGETS[1], EXTRACTIVE_PREDICTIONS[1])["accuracy"] == 0.0


def test_gate():
  assert gated_scores.gate([80.0, 40.0, 10.0], [True, True, False], "f1") == {
      "f1_correct_pred": 60.0, "f1_correct_normalized": 40.0}
  assert gated_scores.gate([80.0], [False], "x") == {
      "x_correct_pred": 0.0, "x_correct_normalized": 0.0}
  assert gated_scores.gate([], [], "x") == {
      "x_correct_pred": 0.0, "x_correct_normalized": 0.0}
  with pytest.raises(ValueError, match="gate: 1 scores but 2 label flags"):
    gated_scores.gate([1.0], [True, False], "x")


def abstractive(label, *explanations):
  return {"label": label, "explanations": list(explanations)}


# Example 0: label right, prediction "a b c d" against the reference
#   "a b c d e f g h": every n-gram precision is 1, the brevity penalty
#   exp(1 - 8/4) = 1/e, so sentence BLEU = 100/e.
# Example 1: label right, the prediction equals the reference: 100.
# Example 2: label wrong (the explanation would score 100): gated out.
ABSTRACTIVE_TARGETS = [
    abstractive("entailment", "a b c d e f g h"),
    abstractive("neutral", "x y z w"),
    abstractive("contradiction", "p q r s"),
]
ABSTRACTIVE_PREDICTIONS = [
    abstractive("entailment", "a b c d"),
    abstractive(b"neutral", "x y z w"),
    abstractive("neutral", "p q r s"),
]


def test_sentence_bleu_by_hand():
  assert bleu.sentence_bleu("a b c d", ["a b c d e f g h"]) == (
      pytest.approx(100 / math.e, abs=1e-9))
  assert bleu.sentence_bleu("x y z w", ["x y z w"]) == 100.0
  # The best of two references counts for the brevity penalty.
  assert bleu.sentence_bleu(
      "a b c d", ["a b c d e f g h", "a b c d"]) == 100.0
  assert gated_scores.bleu_references(abstractive("l", "a", "b", "c")) == [
      "a", "b"]
  assert gated_scores.bleu_references(abstractive("l")) == [""]


def test_abstractive_gated_scores_by_hand():
  scores = gated_scores.abstractive_gated_scores(ABSTRACTIVE_TARGETS,
                                                 ABSTRACTIVE_PREDICTIONS)
  assert scores == {
      # Corpus BLEU of examples 0 and 1: all n-grams match (8/8, 6/6, 4/4,
      # 2/2); hypothesis length 8, reference length 12: 100 * exp(1 - 12/8).
      "bleu_correct_pred": pytest.approx(100 * math.exp(-0.5), abs=1e-9),
      "sentence_bleu_correct_pred": pytest.approx((100 / math.e + 100) / 2,
                                                  abs=1e-9),
      "sentence_bleu_correct_normalized": pytest.approx(
          (100 / math.e + 100) / 3, abs=1e-9),
  }


def test_no_correct_label_gives_zeros():
  wrong = [abstractive("neutral", "p q r s")]
  assert gated_scores.abstractive_gated_scores(
      [abstractive("entailment", "p q r s")], wrong) == {
          "bleu_correct_pred": 0.0, "sentence_bleu_correct_pred": 0.0,
          "sentence_bleu_correct_normalized": 0.0}
  assert gated_scores.gated_scores([], []) == {
      "bleu_correct_pred": 0.0, "sentence_bleu_correct_pred": 0.0,
      "sentence_bleu_correct_normalized": 0.0}


def test_dispatch_and_length_check():
  assert sorted(gated_scores.gated_scores(
      EXTRACTIVE_TARGETS, EXTRACTIVE_PREDICTIONS)) == [
          "f1_correct_normalized", "f1_correct_pred",
          "partial match f1_correct_normalized",
          "partial match f1_correct_pred"]
  with pytest.raises(ValueError, match="got 3 targets but 2 predictions"):
    gated_scores.extractive_gated_scores(EXTRACTIVE_TARGETS,
                                         EXTRACTIVE_PREDICTIONS[:2])


def test_wt5_score_gated_adds_the_scores(tmp_path):
  """`wt5 score --gated` writes the gated keys beside the registered ones."""
  eval_dir = str(tmp_path / "validation_eval")
  mtf_utils.write_lines_to_file(ABSTRACTIVE_TARGETS,
                                os.path.join(eval_dir, "esnli_v010_targets"))
  mtf_utils.write_lines_to_file(
      ABSTRACTIVE_PREDICTIONS,
      os.path.join(eval_dir, "esnli_v010_300_predictions"))
  parser = argparse.ArgumentParser()
  scoring.add_arguments(parser)
  out = str(tmp_path / "out")
  assert scoring.run(parser.parse_args(
      [eval_dir, "--output_dir", out, "--no_plot", "--gated"])) == 0
  with open(os.path.join(out, "scores.json")) as f:
    values = json.load(f)["esnli_v010"]["300"]
  assert sorted(values) == [
      "accuracy", "bleu", "bleu_correct_pred", "expln1_length",
      "sentence_bleu_correct_normalized", "sentence_bleu_correct_pred"]
  assert values["bleu_correct_pred"] == pytest.approx(100 * math.exp(-0.5),
                                                      abs=1e-9)
  assert values["sentence_bleu_correct_normalized"] == pytest.approx(
      (100 / math.e + 100) / 3, abs=1e-9)
  assert scoring.run(parser.parse_args(
      [eval_dir, "--output_dir", out, "--no_plot"])) == 0
  with open(os.path.join(out, "scores.json")) as f:
    assert sorted(json.load(f)["esnli_v010"]["300"]) == [
        "accuracy", "bleu", "expln1_length"]
