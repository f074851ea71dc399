"""End to end: `wt5 demo` at a tiny size, through the stock t5_mesh_transformer.

The session fixture `demo_run` (tests/conftest.py) runs the demo's own code
path (embedded data, demo vocabulary, training and evaluation of two WT5
mixtures by the `t5_mesh_transformer` binary) with a one-layer model and a
few dozen steps; the tests then check what it wrote and logged. The parsing
and formatting helpers are checked on exact strings.
"""

import io
import json
import math
import os
import sys

import pytest
import tensorflow_datasets as tfds

import demo_registry as demo_registry_lib
from wt5 import cli
from wt5.demo import demo_command as demo
from wt5.demo import pipeline as demo_pipeline
from wt5.demo import results as demo_results
from wt5.formats import eval_files
from wt5.mtf import binary as mtf_binary
from wt5 import metrics as wt5_metrics

MIXTURES = ("esnli_mnli_all_explanations", "movie_rationales_1000_explanations")
ESNLI_KEYS = ["accuracy", "bleu", "expln1_length"]
EXTRACTIVE_KEYS = ["accuracy", "f1", "partial match f1", "avg_explanation_count"]
# The demo run's checkpoints: half way and at the end.
STEPS = demo_registry_lib.DEMO_STEPS
HALF = STEPS // 2
EVAL_TASKS = {
    "esnli_mnli_all_explanations": ["esnli_v010",
                                    "mnli_explain_eval_matched_v002",
                                    "mnli_explain_eval_mismatched_v002"],
    "movie_rationales_1000_explanations": ["movie_rationales_eval_v010"],
}


def test_options_from_the_command_line(tmp_path):
  args = cli.build_parser("demo").parse_args(
      ["demo", "--output_dir", str(tmp_path), "--steps", "30",
       "--model_size", "tiny", "--num_layers", "3", "--mixtures",
       " esnli_v010 ,movie_rationales_v010,"])
  options = demo.options_from_args(args)
  assert options.mixtures == ("esnli_v010", "movie_rationales_v010")
  assert options.steps == 30
  assert options.model == mtf_binary.ModelShape(d_model=64, d_ff=256, d_kv=16,
                                          num_heads=4, num_layers=3)
  assert options.resolved_data_dir == os.path.join(str(tmp_path), "data")
  assert options.sequence_length == {"inputs": 128, "targets": 64}


def test_default_options():
  args = cli.build_parser("demo").parse_args(["demo"])
  options = demo.options_from_args(args)
  assert options == demo_pipeline.DemoOptions()
  assert options.mixtures == MIXTURES
  assert options.output_dir == "wt5_demo"


def test_train_and_eval_commands():
  options = demo_pipeline.DemoOptions(output_dir="/o", steps=300)
  settings = options.run_settings()
  train = mtf_binary.train_command("t5_mesh_transformer",
                                   "esnli_mnli_all_explanations", "/o/m",
                                   settings)
  assert train == [
      "t5_mesh_transformer", "--model_dir=/o/m", "--t5_tfds_data_dir=/o/data",
      "--module_import=wt5.mixtures", "--gin_file=dataset.gin",
      "--gin_file=models/bi_v1.gin",
      "--gin_file=wt5/gin/sequence_lengths/esnli_v002.gin",
      "--gin_param=MIXTURE_NAME = 'esnli_mnli_all_explanations'",
      "--gin_param=utils.run.mesh_shape = 'model:1,batch:1'",
      "--gin_param=utils.run.mesh_devices = ['cpu:0']",
      "--gin_param=utils.tpu_mesh_shape.tpu_topology = '1x1'",
      "--gin_param=utils.run.sequence_length = "
      "{'inputs': 128, 'targets': 64}",
      "--gin_param=utils.run.batch_size = ('tokens_per_batch', 2048)",
      "--gin_param=utils.get_variable_dtype.activation_dtype = 'float32'",
      "--gin_param=utils.run.train_steps = 300",
      "--gin_param=utils.run.save_checkpoints_steps = 100",
      "--gin_param=utils.run.learning_rate_schedule = "
      "@learning_rate_schedules.constant_learning_rate",
      "--gin_param=constant_learning_rate.learning_rate = 0.01",
      "--gin_param=d_model = 128", "--gin_param=d_ff = 512",
      "--gin_param=d_kv = 32", "--gin_param=num_heads = 4",
      "--gin_param=num_layers = 2"]
  evaluate = mtf_binary.eval_command("t5_mesh_transformer",
                                     "movie_rationales_1000_explanations",
                                     "/o/m", settings)
  assert evaluate[4:7] == ["--gin_file=/o/m/operative_config.gin",
                           "--gin_file=eval.gin",
                           "--gin_file=greedy_decode.gin"]
  assert evaluate[-4:] == [
      "--gin_param=utils.get_variable_dtype.activation_dtype = 'float32'",
      "--gin_param=utils.get_variable_dtype.slice_dtype = 'float32'",
      "--gin_param=utils.run.dataset_split = 'validation'",
      "--gin_param=utils.run.eval_checkpoint_step = 'all'"]
  assert mtf_binary.format_command(train[:2] + train[7:8], {
      "WT5_VOCAB_MODEL": "/v/x.model"}) == (
          "WT5_VOCAB_MODEL=/v/x.model t5_mesh_transformer \\\n"
          "    --model_dir=/o/m \\\n"
          "    --gin_param=\"MIXTURE_NAME = 'esnli_mnli_all_explanations'\"")


def test_sequence_length_gin_files():
  assert mtf_binary.sequence_length_gin_file("esnli_100_explanations") == (
      "wt5/gin/sequence_lengths/esnli_v002.gin")
  assert mtf_binary.sequence_length_gin_file("movie_rationales_take1000_explanations"
                                       ) == (
      "wt5/gin/sequence_lengths/movie_rationales_v010.gin")
  assert mtf_binary.sequence_length_gin_file("cos_e_100_explanations") == (
      "wt5/gin/sequence_lengths/cos_e_v001.gin")
  assert mtf_binary.sequence_length_gin_file(
      "eraser_multi_rc_rationales_100_explanations") == (
          "wt5/gin/sequence_lengths/eraser_multi_rc_v011.gin")
  assert mtf_binary.sequence_length_gin_file("amazon_reviews") is None


def test_log_parsing():
  assert mtf_binary.parse_loss("step, tf_loss[0.831345081][12]") == (12, 0.831345081)
  assert mtf_binary.parse_loss("INFO:tensorflow:global_step/sec: 4.4") is None
  lines = [
      "INFO:tensorflow:eval/esnli_v010/bleu at step 400: 12.500\n",
      "I1124 17:15:15.360 140 utils.py:1] eval/esnli_v010/bleu at step 400: "
      "12.500\n",
      "INFO:tensorflow:eval/movie_rationales_eval_v010/partial match f1 at "
      "step 300: 61.250\n",
      "INFO:tensorflow:eval/esnli_v010/accuracy at step 200: nan\n",
      "step, tf_loss[0.5][3]\n"]
  collected = mtf_binary.collect_metrics(lines)
  assert list(collected) == ["esnli_v010", "movie_rationales_eval_v010"]
  assert collected["esnli_v010"]["bleu"] == {400: 12.5}
  assert math.isnan(collected["esnli_v010"]["accuracy"][200])
  assert collected["movie_rationales_eval_v010"] == {
      "partial match f1": {300: 61.25}}


def test_literal_files_and_formatting(tmp_path):
  path = tmp_path / "t_inputs"
  path.write_text("b'explain nli hypothesis: A'\n{'label': 'neutral', "
                  "'explanations': ['Not every man is tall.', 'x']}\n")
  assert eval_files.read_values(str(path)) == [
      b"explain nli hypothesis: A",
      {"label": "neutral", "explanations": ["Not every man is tall.", "x"]}]
  bad = tmp_path / "bad"
  bad.write_text("__import__('os').remove('x')\n")
  with pytest.raises(eval_files.EvalFileError,
                     match=r"bad:1: cannot parse as a Python literal"):
    eval_files.read_values(str(bad))
  assert eval_files.format_output({"label": "neutral", "explanations": [
      "Not every man is tall."]}) == (
          "neutral | explanation: Not every man is tall.")
  assert eval_files.format_output({"label": "True", "explanations": []}) == "True"
  assert eval_files.format_output(b"caf\xc3\xa9") == "caf\u00e9"
  assert eval_files.format_output(2) == "2"
  assert demo_results.format_results(
      {"t": {"accuracy": {100: 50.0, 200: 75.0}, "bleu": {200: 9.5}},
       "u": {"f1": {200: 1.0}}}, ["t", "u"]) == (
           "task  metric    step 100  step 200\n"
           "t     accuracy     50.00     75.00\n"
           "      bleu             -      9.50\n"
           "u     f1               -      1.00")
  assert demo_results.format_examples([eval_files.EvaluatedExample("a b", "c", "d")]) == (
      "  input:     a b\n  predicted: c\n  reference: d")


def test_unknown_mixture_is_a_clear_error(tmp_path):
  with pytest.raises(demo_pipeline.DemoError,
                     match=r"Unknown mixture or task 'esnli_7_explanations'\. "
                     r"WT5 mixtures: .*esnli_100_explanations"):
    demo_pipeline.check_mixtures(["esnli_7_explanations"], str(tmp_path))
  with pytest.raises(demo_pipeline.DemoError, match=r"'esnli_explanations_take100_v010'"
                     r" has no task with a 'validation' split and metrics"):
    demo_pipeline.check_mixtures(["esnli_explanations_take100_v010"], str(tmp_path))


def test_failing_binary_points_to_its_log(tmp_path):
  log = str(tmp_path / "logs" / "x.log")
  command = [sys.executable, "-c",
             "import sys; print('line one'); print('step, tf_loss[0.5][0]', "
             "file=sys.stderr); sys.exit(3)"]
  seen = []
  assert mtf_binary.run_logged(command, {"WT5_X": "1"}, log, seen.append) == 3
  assert seen == ["line one\n", "step, tf_loss[0.5][0]\n"]
  with pytest.raises(mtf_binary.BinaryError) as error:
    mtf_binary.run_or_raise(command, {}, log, lambda line: None, "training x")
  message = str(error.value)
  assert message.startswith(
      "t5_mesh_transformer failed while training x (exit code 3).\n"
      "Full log: %s\nLast lines:\n" % log)
  assert message.endswith("line one\nstep, tf_loss[0.5][0]\n")


def test_training_progress_lines():
  out = io.StringIO()
  progress = mtf_binary.TrainingProgress(total_steps=20, out=out, every=10)
  for line in ["noise", "step, tf_loss[2.5][0]", "step, tf_loss[2.0][8]",
               "step, tf_loss[1.5][10]", "step, tf_loss[1.5][10]",
               "step, tf_loss[1.0][19]"]:
    progress(line)
  lines = out.getvalue().splitlines()
  assert lines[0] == "    graph built; training started"
  assert lines[1] == "    step     1/20  loss   2.5000"
  assert lines[2].startswith("    step    11/20  loss   1.5000")
  assert lines[3].startswith("    step    20/20  loss   1.0000")
  assert len(lines) == 4


# ---------------------------------------------------------------------------
# The end-to-end run.
# ---------------------------------------------------------------------------

@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_demo_evaluates_the_registered_eval_tasks(demo_run):
  _, results, _ = demo_run
  assert list(results) == list(MIXTURES)
  for mixture, result in results.items():
    assert result.eval_tasks == EVAL_TASKS[mixture]
    assert sorted(result.metrics) == sorted(EVAL_TASKS[mixture])


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_metric_keys_and_ranges(demo_run):
  _, results, _ = demo_run
  for mixture, result in results.items():
    for task, values in result.metrics.items():
      keys = EXTRACTIVE_KEYS if task.startswith("movie") else ESNLI_KEYS
      assert list(values) == keys, task
      for metric, by_step in values.items():
        assert sorted(by_step) == [HALF, STEPS], (task, metric)
        for value in by_step.values():
          if metric in ("accuracy", "bleu", "f1", "partial match f1"):
            assert 0.0 <= value <= 100.0, (task, metric, value)
          else:
            assert value >= 0.0, (task, metric, value)


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_eval_files_come_from_the_embedded_data(demo_run):
  output_dir, results, _ = demo_run
  data_dir = os.path.join(output_dir, "data")
  eval_dir = os.path.join(results["esnli_mnli_all_explanations"].model_dir,
                          "validation_eval")
  esnli = list(tfds.as_numpy(tfds.load(
      "esnli:0.1.0", split="validation", data_dir=data_dir,
      shuffle_files=False)))
  inputs = eval_files.read_values(os.path.join(eval_dir, "esnli_v010_inputs"))
  assert inputs == [b"explain nli hypothesis: %s premise: %s" % (
      ex["hypothesis"], ex["premise"]) for ex in esnli]
  targets = eval_files.read_values(os.path.join(eval_dir, "esnli_v010_targets"))
  labels = ["entailment", "neutral", "contradiction"]
  assert targets == [{
      "label": labels[ex["label"]],
      "explanations": [ex[k].decode() for k in (
          "explanation_1", "explanation_2", "explanation_3") if ex[k]]}
                     for ex in esnli]
  for task in EVAL_TASKS["esnli_mnli_all_explanations"]:
    for step in (HALF, STEPS):
      predictions = eval_files.read_values(os.path.join(
          eval_dir, "%s_%d_predictions" % (task, step)))
      assert len(predictions) == 100
      assert all(set(p) == {"label", "explanations"} for p in predictions)

  movie_dir = os.path.join(
      results["movie_rationales_1000_explanations"].model_dir,
      "validation_eval")
  movies = list(tfds.as_numpy(tfds.load(
      "movie_rationales:0.1.0", split="validation", data_dir=data_dir,
      shuffle_files=False)))
  inputs = eval_files.read_values(os.path.join(
      movie_dir, "movie_rationales_eval_v010_inputs"))
  assert inputs == [b"explain sentiment review: " + ex["review"]
                    for ex in movies]
  targets = eval_files.read_values(os.path.join(
      movie_dir, "movie_rationales_eval_v010_targets"))
  assert [t["explanations"] for t in targets] == [
      [e.decode() for e in ex["evidences"]] for ex in movies]
  predictions = eval_files.read_values(os.path.join(
      movie_dir, "movie_rationales_eval_v010_%d_predictions" % STEPS))
  assert len(predictions) == 100
  assert all(set(p) == {"label", "overlap_spans", "span_array",
                        "explanations"} for p in predictions)


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_logged_metrics_match_the_prediction_files(demo_run):
  _, results, _ = demo_run
  for mixture, metric_fn, task in [
      ("esnli_mnli_all_explanations", wt5_metrics.esnli_metric, "esnli_v010"),
      ("movie_rationales_1000_explanations",
       wt5_metrics.extractive_explanations_metric,
       "movie_rationales_eval_v010")]:
    result = results[mixture]
    eval_dir = os.path.join(result.model_dir, "validation_eval")
    targets = eval_files.read_values(os.path.join(eval_dir, task + "_targets"))
    predictions = eval_files.read_values(os.path.join(
        eval_dir, "%s_%d_predictions" % (task, STEPS)))
    recomputed = metric_fn(targets, predictions)
    logged = {k: v[STEPS] for k, v in result.metrics[task].items()}
    assert sorted(recomputed) == sorted(logged)
    for key, value in recomputed.items():
      assert logged[key] == pytest.approx(value, abs=1e-3), (task, key)


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_demo_output_and_files(demo_run):
  output_dir, results, text = demo_run
  assert "== Training esnli_mnli_all_explanations: %d steps" % STEPS in text
  assert "    step %5d/%d  loss " % (STEPS, STEPS) in text
  assert ("== Evaluating every checkpoint of movie_rationales_1000_explanations"
          " on movie_rationales_eval_v010") in text
  assert "== Results (validation split, greedy decoding)" in text
  assert ("movie_rationales_eval_v010  accuracy               " in text)
  assert ("== esnli_v010 at step %d: first 2 validation examples" % STEPS
          in text)
  assert "  input:     explain nli hypothesis: " in text
  assert "  predicted: " in text and "  reference: " in text
  assert "Finished in " in text
  for mixture in MIXTURES:
    for kind in ("train", "eval"):
      log = os.path.join(output_dir, "logs", "%s.%s.log" % (mixture, kind))
      with open(log) as f:
        assert f.readline().startswith(
            "$ WT5_VOCAB_MODEL=%s " % os.path.join(
                output_dir, "vocab", "wt5_demo.model"))
  with open(os.path.join(output_dir, "commands.sh")) as f:
    commands = f.read()
  assert commands.count("t5_mesh_transformer \\\n") == 4
  assert "--gin_file=wt5/gin/sequence_lengths/movie_rationales_v010.gin" in (
      commands)


def test_fresh_removes_only_what_the_demo_wrote(tmp_path):
  for name in ("vocab/wt5_demo.model", "models/m/checkpoint", "logs/x.log",
               "commands.sh", "data/wt5_demo_data.json", "data/esnli/x",
               "notes.txt", "other/data/y"):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("x")
  demo_pipeline.remove_demo_outputs(str(tmp_path), str(tmp_path / "data"))
  assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "other"]
  demo_pipeline.remove_demo_outputs(str(tmp_path), str(tmp_path / "other" / "data"))
  assert (tmp_path / "other" / "data" / "y").exists()


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)  # the first user of demo_run waits for the demo
def test_wt5_score_rescores_the_demo_eval_dir(demo_run, tmp_path, capsys):
  """`wt5 score` recomputes the logged metrics (plus ERASER) offline."""
  _, results, _ = demo_run
  result = results["movie_rationales_1000_explanations"]
  eval_dir = os.path.join(result.model_dir, "validation_eval")
  out_dir = tmp_path / "scores"
  assert cli.main(["score", eval_dir, "--output_dir", str(out_dir)]) == 0
  table = capsys.readouterr().out
  assert "movie_rationales_eval_v010" in table
  with open(out_dir / "scores.json") as f:
    scores = json.load(f)["movie_rationales_eval_v010"]
  assert sorted(scores) == sorted([str(HALF), str(STEPS)])
  for step in (HALF, STEPS):
    values = scores[str(step)]
    for key, logged in result.metrics["movie_rationales_eval_v010"].items():
      assert values[key] == pytest.approx(logged[step], abs=1e-3), key
    for key in ("iou_precision", "iou_recall", "iou_f1", "token_precision",
                "token_recall", "token_f1"):
      assert 0.0 <= values[key] <= 1.0, key
  with open(out_dir / "scores.csv") as f:
    header = f.readline().strip()
  assert header == "task,step,metric,value"
  with open(out_dir / "movie_rationales_eval_v010.png", "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
