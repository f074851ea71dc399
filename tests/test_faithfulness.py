"""`wt5 faithfulness`: ERASER's formulas, the label scorer, passage edits, and
whether the scores measure what they claim on the demo movie reviews.

In the demo movie data a review's label is carried by its rationale sentences
by construction (the other sentences are neutral filler), so for a model
that learned the labels, removing the annotated rationale must lower the
predicted label's probability far more than removing as many random tokens,
and keeping it alone must keep the probability better. Two controls: the
annotated rationale's tokens shuffled within the passage score as random
tokens do, and a model blind to the passage (the trained one with its
cross-attention outputs zeroed) gives exactly 0 for every source.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import no_tensorflow
from wt5 import cli
from wt5.faithfulness import eraser as faith
from wt5.faithfulness import erase
from wt5.faithfulness import label_scorer
from wt5.faithfulness import scores

# ERASER's names of the two fields, as its documented output format spells
# them (rationale_benchmark/metrics.py in ERASER's repository reads them).
C = "comprehensiveness_classification_scores"
S = "sufficiency_classification_scores"


# ---------------------------------------------------------------------------
# ERASER's formulas, with numbers worked out by hand.


def test_comprehensiveness_and_sufficiency_by_hand():
  full = {"neg": 0.2, "pos": 0.8}
  assert scores.comprehensiveness(full, {"neg": 0.7, "pos": 0.3},
                                  "pos") == pytest.approx(0.5, abs=1e-12)
  assert scores.sufficiency(full, {"neg": 0.1, "pos": 0.9},
                            "pos") == pytest.approx(-0.1, abs=1e-12)
  # The predicted class decides which probability is read.
  assert scores.comprehensiveness(full, {"neg": 0.7, "pos": 0.3},
                                  "neg") == pytest.approx(-0.5, abs=1e-12)


def test_aopc_is_the_mean_drop_over_the_thresholds_by_hand():
  record = {
      "classification": "pos",
      "classification_scores": {"neg": 0.1, "pos": 0.9},
      C: {"neg": 0.6, "pos": 0.4},
      S: {"neg": 0.3, "pos": 0.7},
      "thresholded_scores": [
          {"threshold": 0.01, C: {"pos": 0.9}, S: {"pos": 0.5}},
          {"threshold": 0.05, C: {"pos": 0.8}, S: {"pos": 0.5}},
          {"threshold": 0.1, C: {"pos": 0.7}, S: {"pos": 0.6}},
          {"threshold": 0.2, C: {"pos": 0.5}, S: {"pos": 0.6}},
          {"threshold": 0.5, C: {"pos": 0.1}, S: {"pos": 0.8}},
      ]}
  # Comprehensiveness drops: 0, 0.1, 0.2, 0.4, 0.8 -> mean 1.5 / 5 = 0.3.
  # Sufficiency drops: 0.4, 0.4, 0.3, 0.3, 0.1 -> mean 1.5 / 5 = 0.3.
  got = scores.example_scores(record)
  assert got == pytest.approx({"comprehensiveness": 0.5, "sufficiency": 0.2,
                               "comprehensiveness_aopc": 0.3,
                               "sufficiency_aopc": 0.3}, abs=1e-12)
  with pytest.raises(ValueError, match="at least one thresholded score"):
    scores.aopc({"pos": 1.0}, [], "pos", C)


def test_top_counts_round_up_as_erasers_baselines():
  # ceil(n * k): 87 tokens -> 1, 5, 9, 18, 44 tokens at ERASER's thresholds.
  assert [scores.top_count(87, k) for k in scores.THRESHOLDS] == [
      1, 5, 9, 18, 44]
  assert scores.top_count(100, 0.07) == 7  # 0.07 * 100 = 7.000000000000001
  assert scores.top_count(0, 0.5) == 0
  assert scores.top_count(3, 1.0) == 3
  with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
    scores.top_count(3, 1.5)


def test_ranking_puts_rationale_tokens_first_and_breaks_ties_by_seed():
  membership = [0, 1, 0, 1, 1, 0]
  order = scores.rank_tokens(membership, np.random.default_rng(3))
  assert sorted(order[:3]) == [1, 3, 4] and sorted(order[3:]) == [0, 2, 5]
  again = scores.rank_tokens(membership, np.random.default_rng(3))
  assert order == again
  orders = {tuple(scores.rank_tokens(membership, np.random.default_rng(s)))
            for s in range(20)}
  assert len(orders) > 1  # ties are not broken by position


def test_bootstrap_intervals():
  assert scores.bootstrap_interval([0.25, 0.25, 0.25]) == (0.25, 0.25)
  # Two values: the resampled means are 0, 0.5 or 1 with chances 1/4, 1/2,
  # 1/4, so the central 95% runs from 0 to 1.
  assert scores.bootstrap_interval([0.0, 1.0], num_samples=2000) == (0.0, 1.0)
  low, high = scores.bootstrap_interval(list(range(100)), seed=1)
  assert 40 < low < 49.5 < high < 59
  summary = scores.summarize([{"sufficiency": 0.1}, {"sufficiency": 0.3}])
  assert summary["sufficiency"]["mean"] == pytest.approx(0.2, abs=1e-12)
  assert summary["sufficiency"]["n"] == 2
  diff = scores.paired_difference([0.5, 0.7], [0.1, 0.3])
  assert diff == pytest.approx({"mean": 0.4, "low": 0.4, "high": 0.4, "n": 2},
                               abs=1e-12)
  assert scores.format_interval(
      {"mean": 0.41, "low": 0.38, "high": 0.45}) == "0.410 [0.380, 0.450]"
  with pytest.raises(ValueError, match="at least one value"):
    scores.bootstrap_interval([])


# ---------------------------------------------------------------------------
# Passage edits.

MOVIE_INPUT = "explain sentiment review: dull plot, great cast"
MULTIRC_INPUT = ("explain multirc passage: Ann sings. Bob reads. query: Who "
                 "reads? answer: Bob")


def test_passage_bounds_keep_prefix_question_and_answer():
  assert erase.passage_bounds(MOVIE_INPUT) == (26, 47)
  begin, end = erase.passage_bounds(MULTIRC_INPUT)
  assert MULTIRC_INPUT[begin:end] == "Ann sings. Bob reads."
  begin, end = erase.passage_bounds("explain sentiment: fine film")
  assert "explain sentiment: fine film"[begin:end] == "fine film"
  with pytest.raises(erase.PassageError, match="no ': ' ending a task prefix"):
    erase.passage_bounds("no prefix here")


def test_edited_inputs():
  passage = erase.split_input(MOVIE_INPUT)
  assert (passage.first, passage.stop, passage.num_tokens) == (4, 9, 9)
  assert erase.edited_text(passage, [1, 1, 1, 1, 1]) == MOVIE_INPUT
  assert erase.edited_text(passage, [0, 0, 0, 1, 1]) == (
      "explain sentiment review: great cast")
  assert erase.edited_text(passage, [1, 0, 1, 1, 0]) == (
      "explain sentiment review: dull , great")
  assert erase.edited_text(passage, [0, 0, 0, 0, 0]) == (
      "explain sentiment review: ")
  multirc = erase.split_input(MULTIRC_INPUT)
  assert multirc.size == 6  # Ann sings . Bob reads .
  assert erase.edited_text(multirc, [0, 0, 0, 1, 1, 1]) == (
      "explain multirc passage: Bob reads. query: Who reads? answer: Bob")
  assert erase.edited_text(multirc, [0] * 6) == (
      "explain multirc passage:  query: Who reads? answer: Bob")
  # Marks outside the passage (a predicted span in the question) are dropped.
  marks = [0] * multirc.num_tokens
  marks[-1] = 1
  assert multirc.membership(marks, "p") == [0] * 6
  with pytest.raises(erase.PassageError, match=r"has 3 token marks but the "
                     r"input has 9 spaCy tokens"):
    passage.membership([0, 1, 0], "the prediction")
  assert erase.runs([0, 1, 1, 0, 1]) == [(1, 3), (4, 5)]
  assert erase.runs([]) == []


def test_variants_cover_rationale_and_thresholds():
  passage = erase.split_input(MOVIE_INPUT)
  texts = erase.variants(passage, [0, 0, 0, 1, 1], seed=0, index=0, stream=1)
  assert texts["comprehensiveness",] == "explain sentiment review: dull plot,"
  assert texts["sufficiency",] == "explain sentiment review: great cast"
  # 5 tokens: 1% and 5% and 10% and 20% -> 1 token, 50% -> 3 tokens; the
  # top tokens are the rationale's ("great" or "cast"), then one more.
  for k in (0.01, 0.05, 0.1, 0.2):
    assert texts["sufficiency", k] in ("explain sentiment review: great",
                                       "explain sentiment review: cast")
  kept = texts["sufficiency", 0.5][len("explain sentiment review: "):]
  assert "great cast" in kept and len(kept.split()) == 3
  marks = faith.random_membership(20, 6, seed=0, index=4)
  assert sum(marks) == 6 and marks == faith.random_membership(20, 6, 0, 4)
  assert marks != faith.random_membership(20, 6, 0, 5)
  assert faith.random_membership(3, 5, 0, 0) == [1, 1, 1]


# ---------------------------------------------------------------------------
# The label scorer.


@pytest.fixture(scope="module")
def random_model():
  from wt5.pytorch import model as model_lib
  model = model_lib.load_model("tiny", 50, dropout_rate=0.0, seed=7)[0]
  return model.eval()


def _direct_log_likelihood(model, inputs, label):
  """log P(label | inputs) from one plain forward pass with `labels=`."""
  import torch
  with torch.no_grad():
    logits = model(input_ids=torch.tensor([inputs]),
                   labels=torch.tensor([label])).logits[0]
  log_probs = torch.log_softmax(logits.double(), dim=-1)
  return float(sum(log_probs[t, token] for t, token in enumerate(label)))


def test_label_scorer_equals_a_direct_softmax(random_model):
  import torch
  inputs = [[5, 9, 13, 1], [7, 1], [20, 21, 22, 23, 24, 25, 1]]
  # Single-token labels: the softmax of the first step's logits at the labels.
  scorer = label_scorer.LabelScorer(random_model, ["a", "b", "c"],
                                    [[11], [17], [3]], "cpu", batch_size=2)
  got = scorer.probabilities(inputs)
  for row, ids in zip(got, inputs):
    with torch.no_grad():
      logits = random_model(input_ids=torch.tensor([ids]),
                            decoder_input_ids=torch.tensor([[0]])).logits
    direct = torch.softmax(logits[0, 0, [11, 17, 3]].double(), dim=-1)
    np.testing.assert_allclose(row, direct.numpy(), rtol=0, atol=1e-5)
    assert math.isclose(row.sum(), 1.0, abs_tol=1e-12)
  # Labels of several tokens: a softmax over the summed label-token scores.
  labels = [[11, 4], [17], [3, 8, 30]]
  scorer = label_scorer.LabelScorer(random_model, ["a", "b", "c"], labels,
                                    "cpu", batch_size=2)
  got = scorer.probabilities(inputs)
  for row, ids in zip(got, inputs):
    direct = [_direct_log_likelihood(random_model, ids, l) for l in labels]
    expected = np.exp(direct) / np.exp(direct).sum()
    np.testing.assert_allclose(row, expected, rtol=0, atol=1e-5)
    assert math.isclose(row.sum(), 1.0, abs_tol=1e-12)
  assert scorer.as_dicts(got[:1])[0].keys() == {"a", "b", "c"}
  with pytest.raises(ValueError, match="at least two labels"):
    label_scorer.LabelScorer(random_model, ["a"], [[11]], "cpu")


def test_command_line_options():
  args = cli.build_parser("faithfulness").parse_args(
      ["faithfulness", "--model_dir", "m", "--export", "e", "--step", "100",
       "--step", "200", "--task", "movie_rationales_v010"])
  assert (args.model_dir, args.export_dir, args.step, args.task, args.split,
          args.batch_size, args.seed, args.bootstrap) == (
              "m", "e", [100, 200], ["movie_rationales_v010"], "validation",
              32, 0, 1000)


def test_missing_predictions_say_how_to_make_them(tmp_path):
  with pytest.raises(Exception, match=r"movie_rationales_v010_5_predictions "
                     r"is missing: decode the checkpoint first with `wt5 "
                     r"evaluate --model_dir m --export EXPORT --step 5`"):
    faith.load_predictions(str(tmp_path), "movie_rationales_v010", 5, 3, "m")


# ---------------------------------------------------------------------------
# A tiny model trained on the demo movie reviews, and the same model blind to
# its input.

TASK = "movie_rationales_v010"
LENGTHS = {"inputs": 192, "targets": 32}
TRAIN_EXAMPLES = 600
VALIDATION_EXAMPLES = 60
STEPS = 200
SEED = 0  # model initialisation, random rationales, tie-breaks, bootstrap
# The annotated rationales' comprehensiveness must exceed the random ones' by
# at least this much (mean of the paired differences; the probabilities are
# in [0, 1]).
MARGIN = 0.1
# Shuffled and random rationales may differ by at most this much (half the
# margin).
NOISE = 0.05


def _summary_and_scores(records_list):
  from wt5.faithfulness import records
  per_source = {
      source: [scores.example_scores(records.source_view(r, source))
               for r in records_list]
      for source in records.SOURCES}
  return records.summarize_records(records_list), per_source


@pytest.fixture(scope="module")
def movies(demo_registry):
  """Demo movie reviews exported; a tiny model trained; both models scored."""
  import io
  from wt5.export import export_command as export
  from wt5.faithfulness import records
  from wt5.pytorch import evaluate as evaluate_lib
  from wt5.pytorch import model as model_lib
  from wt5.pytorch import train as train_lib

  with demo_registry("wt5_faithfulness", sources=["movie_rationales"],
                     sizes={"movie_rationales": {
                         "train": TRAIN_EXAMPLES,
                         "validation": VALIDATION_EXAMPLES, "test": 2}},
                     own_vocab=True) as reg:
    root, spm_model = reg.root, reg.vocab_model
    export_dir = str(root / "export")
    export.export(TASK, "train", export_dir, LENGTHS,
                  num_examples=TRAIN_EXAMPLES, data_dir=reg.data_dir)
    export.export(TASK, "validation", export_dir, LENGTHS,
                  data_dir=reg.data_dir)
  trained = str(root / "trained")
  # The model these tests score, fixed: with the attention path pinned its
  # weights do not move with float rounding (wt5_segments, the CPU's default
  # path, trains a model whose shuffled-vs-random mean is 0.055, its 95%
  # interval -0.015 to 0.128: within noise, but past NOISE).
  train_lib.train(train_lib.TrainOptions(
      export_dir, trained, model="tiny", steps=STEPS, batch_size=16,
      learning_rate=5e-3, dropout_rate=0.0, save_steps=STEPS,
      logging_steps=STEPS, seed=SEED, attn_implementation="sdpa"),
      out=io.StringIO())
  blind = str(root / "blind")
  blind_model(os.path.join(trained, "checkpoint-%d" % STEPS)).save_pretrained(
      os.path.join(blind, "checkpoint-0"))
  for model_dir in (trained, blind):
    evaluate_lib.evaluate(model_dir, export_dir, out=io.StringIO())
  # The trained model is scored by the command line where TensorFlow, t5 and
  # seqio cannot be imported.
  code = no_tensorflow.PRELUDE + (
      "from wt5 import cli\n"
      "assert cli.main(['faithfulness', '--model_dir', %r, '--export', %r, "
      "'--no_progress', '--batch_size', '16']) == 0\n" % (
          trained, export_dir)) + no_tensorflow.CHECK
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False, timeout=240)
  log = io.StringIO()
  blind_results = faith.faithfulness(blind, export_dir, out=log,
                                     progress=False)
  eval_dir = os.path.join(trained, "validation_eval")
  path = records.output_path(eval_dir, TASK, STEPS)
  return {"root": root, "export": export_dir, "spm": spm_model,
          "trained": trained, "blind": blind, "cli": result,
          "trained_records": (records.read_records(path)
                              if os.path.exists(path) else None),
          "blind_results": blind_results, "blind_log": log.getvalue(),
          "blind_records": records.read_records(
              records.output_path(os.path.join(blind, "validation_eval"),
                                  TASK, 0))}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_command_runs_without_tensorflow(movies):
  result = movies["cli"]
  assert result.returncode == 0, result.stderr[-3000:]
  assert ("%s, step %d, validation: %d examples, labels negative/positive; "
          "predicted class = greedy label for" % (
              TASK, STEPS, VALIDATION_EXAMPLES)) in result.stdout
  assert ("input(s) cut at the sequence limit; 0 re-encoded input(s) differ "
          "from the export's ids." in result.stdout)
  assert ("source     tokens  comprehensiveness (up)  sufficiency (down)"
          in result.stdout)
  assert len(movies["trained_records"]) == VALIDATION_EXAMPLES


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_annotated_rationales_are_faithful_for_a_trained_model(movies):
  summary, per_source = _summary_and_scores(movies["trained_records"])
  correct = sum(r["classification"] == r["wt5"]["gold_label"]
                for r in movies["trained_records"])
  assert correct >= 0.7 * VALIDATION_EXAMPLES  # the model learned the labels
  comprehensiveness = scores.paired_difference(
      [s["comprehensiveness"] for s in per_source["annotated"]],
      [s["comprehensiveness"] for s in per_source["random"]], seed=SEED)
  assert comprehensiveness["mean"] >= MARGIN, (comprehensiveness, summary)
  assert comprehensiveness["low"] > 0, comprehensiveness
  sufficiency = scores.paired_difference(
      [s["sufficiency"] for s in per_source["random"]],
      [s["sufficiency"] for s in per_source["annotated"]], seed=SEED)
  assert sufficiency["mean"] > 0 and sufficiency["low"] > 0, (sufficiency,
                                                               summary)
  # Random rationales are as long as the annotated ones.
  assert (summary["random"]["rationale_fraction"] ==
          summary["annotated"]["rationale_fraction"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_source_scores_zero_for_a_model_blind_to_the_passage(movies):
  records_list = movies["blind_records"]
  summary, per_source = _summary_and_scores(records_list)
  assert len({r["classification"] for r in records_list}) == 1
  for source in per_source:
    for metric in scores.METRICS:
      values = [s[metric] for s in per_source[source]]
      assert max(abs(v) for v in values) <= 1e-6, (source, metric, values)
  assert summary["annotated"]["rationale_fraction"] > 0
  step_result = movies["blind_results"][TASK][0]
  assert step_result["examples"] == VALIDATION_EXAMPLES
  assert step_result["summary"] == summary
  assert "%s, step 0, validation" % TASK in movies["blind_log"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_shuffled_rationale_scores_as_random_tokens(movies):
  """The annotated rationale's tokens, shuffled within the passage, as the
  predicted rationale: as faithful as random tokens, less than annotated."""
  examples = _validation_examples(movies)
  data = faith.TaskData(TASK, examples, ["negative", "positive"])
  rng = np.random.default_rng(SEED)
  span_arrays = []
  for passage, annotated in zip(data.passages, data.annotated):
    marks = [0] * passage.num_tokens
    marks[passage.first:passage.stop] = rng.permutation(annotated).tolist()
    span_arrays.append(marks)
  records_list = _scored_records(movies, examples, span_arrays, 192,
                                 _trained_model(movies))
  _, per_source = _summary_and_scores(records_list)
  def paired(a, b):
    return scores.paired_difference(
        [s["comprehensiveness"] for s in per_source[a]],
        [s["comprehensiveness"] for s in per_source[b]], seed=SEED)
  shuffled_vs_random = paired("predicted", "random")
  assert abs(shuffled_vs_random["mean"]) < NOISE, shuffled_vs_random
  assert shuffled_vs_random["low"] < 0 < shuffled_vs_random["high"]
  annotated_vs_shuffled = paired("annotated", "predicted")
  assert annotated_vs_shuffled["mean"] >= MARGIN, annotated_vs_shuffled
  assert annotated_vs_shuffled["low"] > 0, annotated_vs_shuffled


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_records_are_in_erasers_format(movies):
  for record in movies["trained_records"]:
    assert set(record) == {
        "annotation_id", "rationales", "classification",
        "classification_scores", C, S, "thresholded_scores", "wt5"}
    labels = {"negative", "positive"}
    assert record["classification"] in labels
    for probabilities in ([record["classification_scores"], record[C],
                           record[S]] +
                          [t[k] for t in record["thresholded_scores"]
                           for k in (C, S)]):
      assert set(probabilities) == labels
      assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-9)
    assert [t["threshold"] for t in record["thresholded_scores"]] == list(
        scores.THRESHOLDS)
    (rationale,) = record["rationales"]
    assert rationale["docid"] == record["annotation_id"]
    spans = rationale["hard_rationale_predictions"]
    covered = [i for s in spans for i in range(s["start_token"],
                                               s["end_token"])]
    assert len(covered) == len(set(covered)) == (
        record["wt5"]["sources"]["predicted"]["rationale_tokens"])
    assert all(0 <= i < record["wt5"]["passage_tokens"] for i in covered)
    for source in ("annotated", "random"):
      part = record["wt5"]["sources"][source]
      assert sum(s["end_token"] - s["start_token"]
                 for s in part["rationales"]) == part["rationale_tokens"]
  # The edited inputs are encoded as seqio encodes: the unedited input gives
  # the export's ids exactly.
  assert all(r["wt5"]["input_ids_match_export"]
             for r in movies["trained_records"])
  first = movies["trained_records"][0]
  assert first["annotation_id"] == "%s:validation:0" % TASK
  assert first["wt5"]["classification_from"] == "greedy"


def blind_model(checkpoint):
  """The model of `checkpoint` with every cross-attention output projection
  zeroed: its decoder never sees the encoder, so its predictions do not
  depend on the input."""
  import torch
  from wt5.pytorch import model as model_lib
  model = model_lib.load_model(checkpoint, 600)[0]
  with torch.no_grad():
    for block in model.decoder.block:
      block.layer[1].EncDecAttention.o.weight.zero_()
  return model


def _trained_model(movies):
  from wt5.pytorch import model as model_lib
  return model_lib.load_model(os.path.join(movies["trained"],
                                           "checkpoint-%d" % STEPS), 600)[0]


def _validation_examples(movies):
  from wt5.formats import export as export_data
  return export_data.read_split(movies["export"], "validation", TASK)


def _scored_records(movies, examples, span_arrays, inputs_length, model):
  """The records of `examples` with the given predicted spans, by `model`."""
  import sentencepiece as spm
  data = faith.TaskData(TASK, examples, ["negative", "positive"])
  processor = spm.SentencePieceProcessor()
  processor.Load(movies["spm"])
  scorer = label_scorer.LabelScorer(
      model, data.labels, label_scorer.label_token_ids(processor, data.labels),
      "cpu", batch_size=8)
  predictions = [{"label": "positive", "span_array": a} for a in span_arrays]
  return list(faith.score_task(data, predictions, scorer, processor,
                               {"inputs": inputs_length}, 1, SEED,
                               {"split": "validation", "step": STEPS}))


def _edge_case_records(movies, span_arrays, inputs_length):
  """Scores the first validation example with the given predicted spans."""
  examples = _validation_examples(movies)[:1]
  return _scored_records(movies, examples * len(span_arrays), span_arrays,
                         inputs_length, _trained_model(movies))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_empty_whole_and_overlong_rationales_give_defined_results(movies):
  passage = erase.split_input(_first_example(movies)[0]["inputs_pretokenized"])
  none = [0] * passage.num_tokens
  whole = [1 if passage.first <= i < passage.stop else 0
           for i in range(passage.num_tokens)]
  empty, full_passage = _edge_case_records(movies, [none, whole], 192)
  label = empty["classification"]
  p = empty["classification_scores"][label]
  p_empty_passage = full_passage[C][label]
  # No predicted rationale: removing it changes nothing; keeping it alone
  # leaves the empty passage.
  assert empty[C][label] == p
  assert empty[S][label] == p_empty_passage
  assert empty["rationales"][0]["hard_rationale_predictions"] == []
  # The whole passage as the rationale: the converse.
  assert full_passage[S][label] == p
  assert full_passage["rationales"][0]["hard_rationale_predictions"] == [
      {"start_token": 0, "end_token": passage.size}]
  assert scores.example_scores(empty)["comprehensiveness"] == 0.0
  assert scores.example_scores(full_passage)["sufficiency"] == 0.0
  # 16 input ids: the review's first sentence (never a rationale in the demo
  # data) fills them, so the annotated rationale lies past the limit and
  # removing it changes nothing the model sees.
  (short,) = _edge_case_records(movies, [whole], 16)
  assert short["wt5"]["input_truncated"] is True
  annotated = short["wt5"]["sources"]["annotated"]
  assert annotated["rationale_tokens"] > 0
  assert annotated[C] == short["classification_scores"]
  assert math.isclose(sum(short[S].values()), 1.0, abs_tol=1e-9)


def _first_example(movies):
  return _validation_examples(movies)[:1]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_report_shows_the_faithfulness_table_and_probabilities(movies):
  from wt5.report import report_command as report
  eval_dir = os.path.join(movies["trained"], "validation_eval")
  html, problems = report.build_page([eval_dir])
  assert problems == []
  assert ("<caption>Faithfulness (ERASER) at step %d, %d examples of the "
          "first run" % (STEPS, VALIDATION_EXAMPLES)) in html
  for source in ("predicted", "annotated", "random"):
    assert '<tr data-source="%s"><th>%s</th>' % (source, source) in html
  data = json.loads(html.split('<script type="application/json" '
                               'id="wt5-data">')[1].split("</script>")[0])
  (examples,) = data["tasks"].values()
  first = examples["examples"][0]["faithfulness"]
  record = movies["trained_records"][0]
  assert first == {"label": record["classification"],
                   "full": record["classification_scores"][
                       record["classification"]],
                   "without": record[C][record["classification"]],
                   "only": record[S][record["classification"]]}
