"""`wt5 score`: re-scoring t5_mesh_transformer eval directories offline.

The eval files are written with mesh_tensorflow's own `write_lines_to_file`
(the writer `t5_mesh_transformer` evaluation uses) from the values that wt5's
and t5's postprocessors return, so the format is the real one.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import textwrap

from mesh_tensorflow.transformer import utils as mtf_utils
import pytest
import seqio
from t5.data import postprocessors as t5_postprocessors

from wt5 import cli
from wt5 import dotted
from wt5 import postprocessors
from wt5.scoring import score_command as scoring
from wt5.scoring import eval_dir as eval_dir_lib
from wt5.formats import eval_files
from wt5.scoring import metric_fns
from wt5.scoring import output

ESNLI = "esnli_v010"
MOVIE = "movie_rationales_eval_v010"
IMDB = "imdb_reviews_v100"

MOVIE_INPUTS = [
    "explain sentiment review: great cast and a fun plot",
    "explain sentiment review: a dull story indeed",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_task(eval_dir, task, targets, predictions_by_step, inputs):
  """Writes a task's files as t5_mesh_transformer's eval_model does."""
  mtf_utils.write_lines_to_file(
      targets, os.path.join(eval_dir, "%s_targets" % task))
  mtf_utils.write_lines_to_file(
      [s.encode("utf-8") for s in inputs],
      os.path.join(eval_dir, "%s_inputs" % task))
  for step, predictions in predictions_by_step.items():
    mtf_utils.write_lines_to_file(
        predictions, os.path.join(eval_dir, "%s_%d_predictions" % (task, step)))


def score(argv):
  """Runs `wt5 score ARGV` through the subcommand's own parser."""
  parser = argparse.ArgumentParser(prog="wt5 score")
  scoring.add_arguments(parser)
  return scoring.run(parser.parse_args(argv))


def esnli_values(outputs):
  return [postprocessors.abstractive_explanations(o) for o in outputs]


def movie_values(outputs, is_target):
  return [
      postprocessors.extractive_explanations(
          o, tokenizer_fn=str.split, is_target=is_target,
          example={"inputs_pretokenized": i.encode("utf-8")})
      for o, i in zip(outputs, MOVIE_INPUTS)
  ]


def imdb_values(outputs):
  return [t5_postprocessors.string_label_to_class_id(
      o, label_classes=["negative", "positive"]) for o in outputs]


ESNLI_TARGETS = [
    "entailment explanation: Snow is white.",
    "neutral explanation: Not every dog runs.",
    "contradiction explanation: A cat is not a dog.",
]
MOVIE_TARGETS = [
    "positive explanation: great cast explanation: fun plot",
    "negative explanation: dull story",
]


def write_esnli(eval_dir):
  write_task(eval_dir, ESNLI, esnli_values(ESNLI_TARGETS), {
      100: esnli_values(["entailment", "entailment", "entailment"]),
      200: esnli_values(ESNLI_TARGETS),
  }, ["explain nli hypothesis: h%d premise: p%d" % (i, i) for i in range(3)])


def write_movie(eval_dir):
  write_task(eval_dir, MOVIE, movie_values(MOVIE_TARGETS, True), {
      100: movie_values(["positive explanation: great cast",
                         "positive explanation: boring"], False),
      200: movie_values(MOVIE_TARGETS, False),
  }, MOVIE_INPUTS)


def write_imdb(eval_dir):
  write_task(eval_dir, IMDB, imdb_values(
      ["positive", "negative", "positive", "positive"]), {
          100: imdb_values(["positive"] * 4),
          200: imdb_values(["negative"] * 4),
          300: imdb_values(["positive", "negative", "meh", "positive"]),
      }, ["sentiment: r%d" % i for i in range(4)])


@pytest.fixture
def eval_dir(tmp_path):
  path = str(tmp_path / "validation_eval")
  write_esnli(path)
  write_movie(path)
  write_imdb(path)
  return path


THIRD = 1 / 3
EXPECTED = {
    ESNLI: {
        "100": {"accuracy": 100 * THIRD, "bleu": 0.0, "expln1_length": 0.0},
        "200": {"accuracy": 100.0, "bleu": 100.0, "expln1_length": 14.0},
    },
    IMDB: {
        "100": {"accuracy": 75.0},
        "200": {"accuracy": 25.0},
        "300": {"accuracy": 75.0},
    },
    MOVIE: {
        # Step 100, example 1: spans {(3, 5)} of {(3, 5), (7, 9)}; example 2:
        # the predicted "boring" is not in the input, so nothing is found.
        "100": {"accuracy": 50.0, "f1": 100 * THIRD,
                "partial match f1": 100 * THIRD,
                "avg_explanation_count": 0.5,
                "iou_precision": 1.0, "iou_recall": THIRD, "iou_f1": 0.5,
                "token_precision": 0.5, "token_recall": 0.25,
                "token_f1": THIRD},
        "200": {"accuracy": 100.0, "f1": 100.0, "partial match f1": 100.0,
                "avg_explanation_count": 1.5,
                "iou_precision": 1.0, "iou_recall": 1.0, "iou_f1": 1.0,
                "token_precision": 1.0, "token_recall": 1.0, "token_f1": 1.0},
    },
}


def approx_nested(expected):
  return {task: {step: {k: pytest.approx(v, abs=1e-9) for k, v in m.items()}
                 for step, m in steps.items()}
          for task, steps in expected.items()}


def png_size(path):
  with open(path, "rb") as f:
    head = f.read(24)
  assert head[:8] == PNG_SIGNATURE
  assert head[12:16] == b"IHDR"
  return struct.unpack(">II", head[16:24])


# ---------------------------------------------------------------------------
# The file format.


def test_written_lines_are_python_literals(eval_dir):
  with open(os.path.join(eval_dir, MOVIE + "_100_predictions")) as f:
    assert f.read() == (
        "{'label': 'positive', 'overlap_spans': [(3, 5)], "
        "'span_array': [0, 0, 0, 1, 1, 0, 0, 0, 0], "
        "'explanations': ['great cast']}\n"
        "{'label': 'positive', 'overlap_spans': [], "
        "'span_array': [0, 0, 0, 0, 0, 0, 0], 'explanations': []}\n")
  with open(os.path.join(eval_dir, IMDB + "_300_predictions")) as f:
    assert f.read() == "1\n0\n-1\n1\n"


def test_find_eval_files_groups_by_task_and_step(tmp_path):
  names = ["cos_e_v001_0_expln_like_esnli_targets",
           "cos_e_v001_0_expln_like_esnli_inputs",
           "cos_e_v001_0_expln_like_esnli_1000_predictions",
           "cos_e_v001_0_expln_like_esnli_20_predictions",
           "cos_e_v001_0_expln_like_esnli_20_outputs",
           "only_predictions_v1_5_predictions",
           "events.out.tfevents.1700000000.host"]
  for name in names:
    (tmp_path / name).write_text("")
  d = str(tmp_path)
  task = "cos_e_v001_0_expln_like_esnli"
  assert eval_files.find_eval_files(d) == {
      task: eval_files.EvalFiles(
          task, os.path.join(d, task + "_targets"),
          {20: os.path.join(d, task + "_20_predictions"),
           1000: os.path.join(d, task + "_1000_predictions")}),
      "only_predictions_v1": eval_files.EvalFiles(
          "only_predictions_v1", None,
          {5: os.path.join(d, "only_predictions_v1_5_predictions")}),
  }
  assert list(eval_files.find_eval_files(d)[task].predictions) == [20, 1000]


def test_find_eval_files_rejects_a_missing_directory(tmp_path):
  with pytest.raises(eval_files.EvalFileError) as e:
    eval_files.find_eval_files(str(tmp_path / "nope"))
  assert str(e.value) == "%s: not a directory" % (tmp_path / "nope")


@pytest.mark.parametrize("text,lines", [
    ("", []),
    ("1\n0\n", ["1", "0"]),
    ("1\n0", ["1", "0"]),
    ("\n", [""]),
    ("a\rb\n\n", ["a\rb", ""]),
])
def test_split_lines(text, lines):
  assert eval_files.split_lines(text) == lines


@pytest.mark.parametrize("lines,line_format", [
    (["{'label': 'a', 'explanations': []}", "{'label': 'b'"], "literal"),
    (["0", "1", "-1"], "literal"),
    (["positive", "0"], "text"),
    (["'quoted'"], "text"),
    ([], "text"),
])
def test_detect_line_format(lines, line_format):
  assert eval_files.detect_line_format(lines) == line_format


def test_parse_literal_never_evaluates_code():
  with pytest.raises(eval_files.EvalFileError) as e:
    eval_files.parse_literal("__import__('os').getcwd()", "f", 3)
  assert str(e.value) == (
      "f:3: cannot parse as a Python literal (code or names, not a literal "
      "value): \"__import__('os').getcwd()\"")
  assert eval_files.parse_literal(
      "{'label': 'x', 'overlap_spans': [(1, 2)]}", "f", 1) == {
          "label": "x", "overlap_spans": [(1, 2)]}


def test_parse_lines_truncated_line_names_file_and_line():
  lines = ["{'label': 'positive', 'explanations': []}",
           "{'label': 'negative', 'explanations': ['a dull st"]
  with pytest.raises(eval_files.EvalFileError) as e:
    eval_files.parse_lines(lines, "/d/t_5_predictions", "literal")
  assert str(e.value) == (
      "/d/t_5_predictions:2: cannot parse as a Python literal "
      "(unterminated string literal): "
      "\"{'label': 'negative', 'explanations': ['a dull st\"")
  assert isinstance(e.value, ValueError)


def test_t5_writer_format_is_read_too(tmp_path):
  from t5.models import utils as t5_utils
  path = str(tmp_path / "t_1_predictions")
  t5_utils.write_lines_to_file(esnli_values(["neutral explanation: x"]), path)
  with open(path) as f:
    assert f.read() == "{'label': 'neutral', 'explanations': ['x']}"
  assert eval_files.read_values(path) == [
      {"label": "neutral", "explanations": ["x"]}]


# ---------------------------------------------------------------------------
# Scoring.


def test_compute_metrics_merges_and_checks():
  from t5.evaluation import metrics as t5_metrics
  assert metric_fns.compute_metrics([0, 1], [0, 0], [t5_metrics.accuracy]) == {
      "accuracy": 50.0}
  with pytest.raises(metric_fns.ScoringError) as e:
    metric_fns.compute_metrics([0], [0], [t5_metrics.accuracy,
                                       t5_metrics.accuracy])
  assert str(e.value) == (
      "metrics t5.evaluation.metrics.accuracy and "
      "t5.evaluation.metrics.accuracy both return 'accuracy'")


def test_score_eval_dir_recomputes_registered_metrics(eval_dir):
  report = eval_dir_lib.score_eval_dir(eval_dir)
  assert report.problems == []
  assert output.scores_to_nested(report.scores) == approx_nested(EXPECTED)
  no_eraser = eval_dir_lib.score_eval_dir(eval_dir, tasks=[MOVIE], eraser=False)
  assert sorted(output.scores_to_nested(no_eraser.scores)[MOVIE]["100"]) == [
      "accuracy", "avg_explanation_count", "f1", "partial match f1"]
  assert [(s.task, s.step) for s in report.scores][:4] == [
      (ESNLI, 100)] * 3 + [(ESNLI, 200)]


def test_cli_writes_table_csv_json_and_plots(eval_dir, tmp_path, capsys):
  out = str(tmp_path / "out")
  assert score([eval_dir, "--output_dir", out]) == 0
  stdout = capsys.readouterr().out
  assert stdout.startswith(
      "task                        step  metric                 value\n"
      "esnli_v010                   100  accuracy               33.3333\n"
      "esnli_v010                   100  bleu                   0\n"
      "esnli_v010                   100  expln1_length          0\n"
      "esnli_v010                   200  accuracy               100\n")
  assert "movie_rationales_eval_v010   100  partial match f1       33.3333\n" in stdout
  with open(os.path.join(out, "scores.json")) as f:
    assert json.load(f) == approx_nested(EXPECTED)
  with open(os.path.join(out, "scores.csv")) as f:
    csv_lines = f.read().splitlines()
  assert csv_lines[0] == "task,step,metric,value"
  assert csv_lines[4:6] == ["esnli_v010,200,accuracy,100.0",
                            "esnli_v010,200,bleu,100.0"]
  assert csv_lines[7:10] == ["imdb_reviews_v100,100,accuracy,75.0",
                             "imdb_reviews_v100,200,accuracy,25.0",
                             "imdb_reviews_v100,300,accuracy,75.0"]
  assert "movie_rationales_eval_v010,100,\"partial match f1\"" not in csv_lines
  assert len(csv_lines) == 1 + 6 + 3 + 20
  # One subplot per metric, three to a row, 4.5 x 3.2 inches each at 100 dpi.
  assert png_size(os.path.join(out, ESNLI + ".png")) == (1350, 320)
  assert png_size(os.path.join(out, IMDB + ".png")) == (450, 320)
  assert png_size(os.path.join(out, MOVIE + ".png")) == (1350, 1280)
  assert sorted(os.listdir(out)) == sorted(
      ["scores.csv", "scores.json", ESNLI + ".png", IMDB + ".png",
       MOVIE + ".png"])


def test_wt5_cli_score_default_output_dir_is_the_eval_dir(eval_dir):
  assert cli.main(["score", eval_dir, "--task", IMDB, "--no_plot"]) == 0
  with open(os.path.join(eval_dir, "scores.json")) as f:
    assert json.load(f) == {IMDB: EXPECTED[IMDB]}
  assert not os.path.exists(os.path.join(eval_dir, IMDB + ".png"))


def test_truncated_predictions_are_reported_and_the_rest_scored(
    eval_dir, tmp_path, capsys):
  path = os.path.join(eval_dir, MOVIE + "_200_predictions")
  with open(path) as f:
    text = f.read()
  with open(path, "w") as f:
    f.write(text[:text.index("\n") + 40])  # a crash mid-way through line 2
  out = str(tmp_path / "out")
  assert score([eval_dir, "--output_dir", out]) == 1
  stderr = capsys.readouterr().err
  assert stderr.splitlines() == [
      "error: %s: step 200: %s:2: cannot parse as a Python literal ('{' was "
      "never closed): \"{'label': 'negative', 'overlap_spans': \"" % (
          MOVIE, path),
      "1 problem(s); everything else was scored",
  ]
  with open(os.path.join(out, "scores.json")) as f:
    scores = json.load(f)
  expected = dict(EXPECTED)
  expected[MOVIE] = {"100": EXPECTED[MOVIE]["100"]}
  assert scores == approx_nested(expected)
  assert png_size(os.path.join(out, MOVIE + ".png"))[0] == 1350


def test_mismatched_line_counts_name_both_files(eval_dir):
  path = os.path.join(eval_dir, IMDB + "_200_predictions")
  with open(path, "w") as f:
    f.write("0\n0\n0\n")
  report = eval_dir_lib.score_eval_dir(eval_dir, tasks=[IMDB])
  assert report.problems == [
      "%s: step 200: %s has 4 line(s) but %s has 3; the predictions file is "
      "incomplete or from another evaluation" % (
          IMDB, os.path.join(eval_dir, IMDB + "_targets"), path)]
  assert [(s.step, s.value) for s in report.scores] == [(100, 75.0),
                                                        (300, 75.0)]


def test_missing_targets_file_is_reported_and_others_scored(eval_dir, capsys):
  os.remove(os.path.join(eval_dir, ESNLI + "_targets"))
  assert score([eval_dir, "--no_plot"]) == 1
  assert capsys.readouterr().err.splitlines() == [
      "error: esnli_v010: targets file %s is missing; 2 predictions file(s) "
      "not scored" % os.path.join(eval_dir, "esnli_v010_targets"),
      "1 problem(s); everything else was scored"]
  with open(os.path.join(eval_dir, "scores.json")) as f:
    assert sorted(json.load(f)) == [IMDB, MOVIE]


def test_missing_and_unreadable_checkpoint_files(eval_dir):
  os.remove(os.path.join(eval_dir, IMDB + "_100_predictions"))
  bad = os.path.join(eval_dir, IMDB + "_200_predictions")
  with open(bad, "wb") as f:
    f.write(b"1\n\xff\n1\n1\n")
  report = eval_dir_lib.score_eval_dir(eval_dir, tasks=[IMDB],
                                  steps=[100, 200, 300])
  assert report.problems == [
      "%s: step 100: predictions file %s is missing" % (
          IMDB, os.path.join(eval_dir, IMDB + "_100_predictions")),
      "%s: step 200: %s: cannot read: 'utf-8' codec can't decode byte 0xff "
      "in position 2: invalid start byte" % (IMDB, bad),
  ]
  assert [(s.step, s.value) for s in report.scores] == [(300, 75.0)]


def test_task_without_predictions_is_reported(tmp_path):
  d = str(tmp_path)
  mtf_utils.write_lines_to_file([1, 0], os.path.join(d, IMDB + "_targets"))
  report = eval_dir_lib.score_eval_dir(d)
  assert report.problems == [
      "%s: no predictions files (%s_<step>_predictions) beside %s" % (
          IMDB, IMDB, os.path.join(d, IMDB + "_targets"))]
  assert eval_dir_lib.score_eval_dir(str(tmp_path / "x")).problems == [
      "%s: not a directory" % (tmp_path / "x")]


def test_unregistered_task_needs_metric_or_task_module(tmp_path, capsys):
  d = str(tmp_path / "eval")
  write_task(d, "my_sentiment_v1", ["positive", "negative", "positive"],
             {7: ["positive", "positive", "positive"]}, ["a", "b", "c"])
  out = str(tmp_path / "out")
  assert score([d, "--output_dir", out, "--no_plot"]) == 1
  assert capsys.readouterr().err.splitlines()[0] == (
      "error: my_sentiment_v1: task my_sentiment_v1 is not registered in "
      "seqio; import the module that registers it with --task_module, or "
      "name its metric functions with --metric")
  assert score([d, "--output_dir", out, "--no_plot", "--metric",
                   "t5.evaluation.metrics.accuracy"]) == 0
  with open(os.path.join(out, "scores.json")) as f:
    assert json.load(f) == {
        "my_sentiment_v1": {"7": {"accuracy": pytest.approx(200 / 3)}}}


def test_task_module_registers_extra_tasks(tmp_path, monkeypatch, capsys):
  module_dir = tmp_path / "mods"
  module_dir.mkdir()
  (module_dir / "score_test_tasks.py").write_text(textwrap.dedent("""
      import seqio

      def exact_match(targets, predictions):
        same = sum(t == p for t, p in zip(targets, predictions))
        return {"exact": 100.0 * same / len(targets)}

      def needs_scores(targets, scores):
        return {"never": 0.0}

      seqio.TaskRegistry.add(
          "score_test_task_v1",
          source=seqio.FunctionDataSource(lambda split, shuffle_files: None,
                                          splits=["validation"]),
          output_features={},
          metric_fns=[exact_match, needs_scores],
          )
      """))
  monkeypatch.syspath_prepend(str(module_dir))
  d = str(tmp_path / "eval")
  write_task(d, "score_test_task_v1", [["a", 1], ["b", 2]],
             {3: [["a", 1], ["b", 3]], 9: [["a", 1], ["b", 2]]}, ["x", "y"])
  try:
    assert score([d, "--task_module", "score_test_tasks", "--no_plot"]) == 0
  finally:
    seqio.TaskRegistry.remove("score_test_task_v1")
    sys.modules.pop("score_test_tasks", None)
  captured = capsys.readouterr()
  assert captured.err == (
      "note: score_test_task_v1: skipped metric score_test_tasks.needs_scores: "
      "it needs log-likelihood scores or aux values, which eval files do not "
      "hold\n")
  assert captured.out.splitlines()[:3] == [
      "task                step  metric  value",
      "score_test_task_v1     3  exact   50",
      "score_test_task_v1     9  exact   100"]


def test_failing_metric_is_reported(eval_dir):
  report = eval_dir_lib.score_eval_dir(
      eval_dir, tasks=[ESNLI], steps=[200],
      metric_fns=[dotted.import_object("wt5.metrics.eraser_rationale_metrics")])
  assert report.problems == [
      "esnli_v010: step 200: metric wt5.metrics.eraser_rationale_metrics "
      "failed: ValueError: eraser_rationale_metrics: targets[0] has no "
      "'overlap_spans' (its keys: ['explanations', 'label'])"]


def test_bad_metric_path_is_an_error(eval_dir, capsys):
  assert score([eval_dir, "--metric", "wt5.metrics.no_such"]) == 1
  assert capsys.readouterr().err == (
      "error: wt5.metrics has no attribute 'no_such' (for "
      "'wt5.metrics.no_such')\n")


@pytest.mark.parametrize("path", [
    "t5.evaluation.metrics.accuracy",
    "t5.evaluation.metrics:accuracy",
])
def test_import_object(path):
  from t5.evaluation import metrics as t5_metrics
  assert dotted.import_object(path) is t5_metrics.accuracy


def test_import_object_nested_attribute():
  assert dotted.import_object(
      "wt5.scoring.metric_fns.ScoringError.__name__") == "ScoringError"


@pytest.mark.parametrize("path,message", [
    ("accuracy", "'accuracy' is not a dotted path such as "
                 "'wt5.metrics.esnli_metric'"),
    ("no_such_module_xyz.fn", "cannot import no_such_module_xyz (for "
                              "'no_such_module_xyz.fn'): No module named "
                              "'no_such_module_xyz'"),
    ("wt5.no_such_module:fn", "cannot import wt5.no_such_module (for "
                              "'wt5.no_such_module:fn'): No module named "
                              "'wt5.no_such_module'"),
])
def test_import_object_errors(path, message):
  with pytest.raises(dotted.DottedNameError) as e:
    dotted.import_object(path)
  assert str(e.value) == message


def test_outputs_of_non_finite_values_and_table():
  scores = [eval_dir_lib.Score("t", 5, "bleu", float("nan")),
            eval_dir_lib.Score("t", 10, "bleu", 12.5)]
  assert output.scores_to_nested(scores) == {
      "t": {"5": {"bleu": None}, "10": {"bleu": 12.5}}}
  assert output.scores_to_csv(scores) == (
      "task,step,metric,value\nt,5,bleu,nan\nt,10,bleu,12.5\n")
  assert output.format_table(scores) == (
      "task  step  metric  value\n"
      "t        5  bleu    nan\n"
      "t       10  bleu    12.5\n")


def test_importing_the_module_stays_light():
  code = ("import sys, wt5.scoring.score_command; print(sorted(m for m in ('tensorflow', "
          "'seqio', 't5', 'matplotlib', 'mesh_tensorflow') if m in sys.modules))")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=True, timeout=120)
  assert result.stdout == "[]\n"
