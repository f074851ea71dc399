"""Accuracy-gated explanation scores: the explanation counted only where the label is right.

An explanation of a wrong prediction explains nothing useful, so FEB
(Marasović, Beltagy, Downey and Peters, "Few-Shot Self-Rationalization with
Natural Language Prompts", Findings of NAACL 2022; allenai/feb,
scripts/metrics.py) reports, next to the plain explanation score, two gated
versions built from one score per example:

- "correct_pred": the mean of the per-example scores over the examples whose
  predicted label equals the target's;
- "correct_normalized" (the paper's "normalized" score): the per-example
  score where the label is right and 0 where it is wrong, averaged over ALL
  examples. It equals correct_pred * accuracy / 100.

Here the per-example scores are:

- extractive tasks (`wt5.postprocessors.extractive_explanations` outputs):
  the example's exact-span F1 and token F1, i.e. "f1" and "partial match f1"
  of `wt5.metrics.extractive_explanations_metric` computed on that example
  alone (both metrics are means of these per-example values);
- abstractive tasks: sacrebleu's `sentence_bleu` of the first predicted
  explanation against the target's first two explanations
  (`wt5.bleu.sentence_bleu`, with the settings of T5's corpus BLEU). Corpus
  BLEU is not a mean of per-example values, so
  "bleu_correct_pred" is, in addition, the corpus BLEU of
  `wt5.metrics.esnli_metric` computed on the correctly labelled examples only.

Label equality is the metrics' own (`wt5.metrics`, scikit-learn's accuracy on
the one example).
Every value is a percentage (0..100). With no examples, or no correctly
labelled example, every value is 0.0 (FEB's numpy mean would give NaN).

    extractive_gated_scores(targets, predictions) ->
      {"f1_correct_pred", "f1_correct_normalized",
       "partial match f1_correct_pred", "partial match f1_correct_normalized"}
    abstractive_gated_scores(targets, predictions) ->
      {"bleu_correct_pred", "sentence_bleu_correct_pred",
       "sentence_bleu_correct_normalized"}
"""

from typing import Any, Dict, List, Mapping, Sequence

from wt5 import answers
from wt5 import bleu
from wt5 import metrics

EXTRACTIVE_KEYS = ("f1", "partial match f1")
CORRECT_PRED = "_correct_pred"
CORRECT_NORMALIZED = "_correct_normalized"


def label_correct(target: Mapping[str, Any], prediction: Mapping[str, Any]) -> bool:
  """Whether the predicted label equals the target's, as the metrics compare them.

  label_correct({"label": b"positive"}, {"label": "positive"}) -> True.
  """
  return metrics.accuracy_percent(
      [target["label"]], [prediction["label"]]) == 100.0


def explanation_text(answer: Mapping[str, Any], index: int) -> str:
  """Explanation `index` of `answer` as text, "" if there is none.

  explanation_text({"explanations": ["a", b"b"]}, 1) -> "b".
  """
  return metrics.nth_explanation(answer.get("explanations"), index)


def bleu_references(target: Mapping[str, Any]) -> List[str]:
  """The references of one target: its first two explanations ([""] if none).

  As in `wt5.metrics.esnli_metric`, which uses at most two reference streams.
  bleu_references({"explanations": ["a", "b", "c"]}) -> ["a", "b"].
  """
  explanations = target.get("explanations") or []
  return [explanation_text(target, i) for i in range(min(2, len(explanations)))
         ] or [""]


def example_sentence_bleu(target: Mapping[str, Any],
                          prediction: Mapping[str, Any]) -> float:
  """`sentence_bleu` of the prediction's first explanation against the target's.

  example_sentence_bleu({"label": "a", "explanations": ["x y z w"]},
                        {"label": "b", "explanations": ["x y z w"]}) -> 100.0.
  """
  return bleu.sentence_bleu(explanation_text(prediction, 0),
                            bleu_references(target))


def extractive_example_scores(target: Mapping[str, Any],
                              prediction: Mapping[str, Any]) -> Dict[str, float]:
  """One example's "accuracy", "f1" and "partial match f1" (percentages).

  `wt5.metrics.extractive_explanations_metric` on this example alone, e.g.
  target spans [(0, 2)], predicted [(0, 2), (3, 4)], arrays [1,1,0,0] and
  [1,1,0,1], equal labels -> accuracy 100.0, f1 66.67, partial match f1 80.0.
  """
  values = metrics.extractive_explanations_metric([target], [prediction])
  return {k: float(values[k]) for k in ("accuracy",) + EXTRACTIVE_KEYS}


def gate(scores: Sequence[float], correct: Sequence[bool], name: str
         ) -> Dict[str, float]:
  """FEB's two gated means of per-example `scores` under the label mask.

  gate([80.0, 40.0, 10.0], [True, True, False], "f1") ->
  {"f1_correct_pred": 60.0, "f1_correct_normalized": 40.0}.
  """
  if len(scores) != len(correct):
    raise ValueError("gate: %d scores but %d label flags" %
                     (len(scores), len(correct)))
  kept = [s for s, ok in zip(scores, correct) if ok]
  return {
      name + CORRECT_PRED: sum(kept) / len(kept) if kept else 0.0,
      name + CORRECT_NORMALIZED: sum(kept) / len(scores) if scores else 0.0,
  }


def extractive_gated_scores(targets: Sequence[Mapping[str, Any]],
                            predictions: Sequence[Mapping[str, Any]]
                            ) -> Dict[str, float]:
  """Span F1 and token F1 gated by label correctness (see the module doc).

  Two examples: the first labelled right with f1 50 and partial match f1 80,
  the second labelled wrong -> {"f1_correct_pred": 50.0,
  "f1_correct_normalized": 25.0, "partial match f1_correct_pred": 80.0,
  "partial match f1_correct_normalized": 40.0}.
  """
  answers.check_lengths(targets, predictions, "extractive_gated_scores")
  per_example = [extractive_example_scores(t, p)
                 for t, p in zip(targets, predictions)]
  correct = [s["accuracy"] == 100.0 for s in per_example]
  result: Dict[str, float] = {}
  for key in EXTRACTIVE_KEYS:
    result.update(gate([s[key] for s in per_example], correct, key))
  return result


def abstractive_gated_scores(targets: Sequence[Mapping[str, Any]],
                             predictions: Sequence[Mapping[str, Any]]
                             ) -> Dict[str, float]:
  """BLEU gated by label correctness (see the module doc).

  - "bleu_correct_pred": `esnli_metric`'s corpus BLEU over the correctly
    labelled examples only;
  - "sentence_bleu_correct_pred" / "sentence_bleu_correct_normalized": FEB's
    means of `example_sentence_bleu`.
  """
  answers.check_lengths(targets, predictions, "abstractive_gated_scores")
  correct = [label_correct(t, p) for t, p in zip(targets, predictions)]
  kept_targets = [t for t, ok in zip(targets, correct) if ok]
  kept_predictions = [p for p, ok in zip(predictions, correct) if ok]
  corpus = (metrics.esnli_metric(kept_targets, kept_predictions)["bleu"]
            if kept_targets else 0.0)
  result = {"bleu" + CORRECT_PRED: float(corpus)}
  result.update(gate([example_sentence_bleu(t, p) if ok else 0.0
                      for t, p, ok in zip(targets, predictions, correct)],
                     correct, "sentence_bleu"))
  return result


def gated_scores(targets: Sequence[Mapping[str, Any]],
                 predictions: Sequence[Mapping[str, Any]]) -> Dict[str, float]:
  """`extractive_gated_scores` for extractive targets, else `abstractive_gated_scores`.

  The function `wt5 score` adds for every task whose targets are WT5 answers.
  """
  if answers.is_extractive(targets):
    return extractive_gated_scores(targets, predictions)
  return abstractive_gated_scores(targets, predictions)
