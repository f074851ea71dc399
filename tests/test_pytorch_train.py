"""The PyTorch route end to end on the CPU: export, train, evaluate, score.

A tiny T5 trained from scratch on the demo e-SNLI data must learn the labels
(3 classes, chance 33%); its eval files must re-score with `wt5 score` to the
values computed in the run; training and evaluation must run where
TensorFlow, t5 and seqio cannot be imported.
"""

import glob
import io
import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import seqio

import no_tensorflow
from wt5 import cli
from wt5.formats import eval_files
from wt5.export import export_command as export
from wt5.scoring import eval_dir as scoring
from wt5.formats import export as export_data
from wt5.formats.model_dir import ModelDir
from wt5.pytorch import batching
from wt5.pytorch import evaluate as evaluate_lib
from wt5.pytorch import model as model_lib
from wt5.pytorch import train as train_lib

LENGTHS = {"inputs": 64, "targets": 64}
TASK = "esnli_v010"
STEPS = 120
SAVE_STEPS = 60


@pytest.fixture(scope="module")
def run(demo_registry):
  """Exports demo e-SNLI, trains a tiny model 120 steps, evaluates both checkpoints."""
  with demo_registry(
      "wt5_torch", sources=["esnli"],
      sizes={"esnli": {"train": 600, "validation": 60, "test": 2}}) as reg:
    root, data_dir = reg.root, reg.data_dir
    export_dir = str(root / "export")
    export.export(TASK, "train", export_dir, LENGTHS, num_examples=600,
                  data_dir=data_dir)
    export.export(TASK, "validation", export_dir, LENGTHS, data_dir=data_dir)
    model_dir = str(root / "model")
    progress = io.StringIO()
    summary = train_lib.train(train_lib.TrainOptions(
        export_dir, model_dir, model="tiny", steps=STEPS, batch_size=16,
        learning_rate=3e-3, dropout_rate=0.0, save_steps=SAVE_STEPS,
        logging_steps=20), out=progress)
    log = io.StringIO()
    results = evaluate_lib.evaluate(model_dir, export_dir, out=log)
    yield {"root": root, "export": export_dir, "model_dir": model_dir,
           "summary": summary, "progress": progress.getvalue(),
           "results": results, "log": log.getvalue(), "spm": reg.vocab_model}


@pytest.mark.slow
def test_tiny_model_learns_the_labels(run):
  accuracy = run["results"][TASK][STEPS]["accuracy"]
  assert accuracy >= 80.0, run["results"]  # chance: 33.3
  assert sorted(run["results"][TASK]) == [SAVE_STEPS, STEPS]
  assert "eval/esnli_v010/accuracy at step 120: %.3f\n" % accuracy in run["log"]


@pytest.mark.slow
def test_eval_files_rescore_to_the_values_of_the_run(run):
  eval_dir = os.path.join(run["model_dir"], "validation_eval")
  report = scoring.score_eval_dir(eval_dir)
  assert report.problems == []
  scored = {(s.step, s.metric): s.value for s in report.scores
            if s.task == TASK}
  computed = {(step, metric): value
              for step, values in run["results"][TASK].items()
              for metric, value in values.items()}
  assert set(computed) <= set(scored)
  for key, value in computed.items():
    assert math.isclose(scored[key], value, rel_tol=0, abs_tol=1e-9), key


@pytest.mark.slow
def test_eval_files_are_in_t5_mesh_transformers_format(run):
  eval_dir = os.path.join(run["model_dir"], "validation_eval")
  assert sorted(os.listdir(eval_dir)) == [
      "esnli_v010_120_predictions", "esnli_v010_60_predictions",
      "esnli_v010_inputs", "esnli_v010_targets"]
  examples = export_data.read_split(run["export"], "validation", TASK)
  task = seqio.get_mixture_or_task(TASK)
  ds = list(task.get_dataset(LENGTHS, split="validation", shuffle=False)
            .as_numpy_iterator())
  with open(os.path.join(eval_dir, TASK + "_inputs"), encoding="utf-8") as f:
    assert f.read() == "".join(
        str(ex["inputs_pretokenized"]).replace("\n", " ") + "\n" for ex in ds)
  with open(os.path.join(eval_dir, TASK + "_targets"), encoding="utf-8") as f:
    assert f.read() == "".join(
        str(task.postprocess_fn(ex["targets_pretokenized"].decode("utf-8"),
                                example=ex, is_target=True)) + "\n"
        for ex in ds)
  with open(os.path.join(eval_dir, TASK + "_120_predictions"),
            encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert len(lines) == len(examples) == 60
  first = eval_files.parse_literal(lines[0], "p", 1)
  assert sorted(first) == ["explanations", "label"]


@pytest.mark.slow
def test_checkpoints_progress_and_tensorboard(run):
  assert ModelDir(run["model_dir"]).steps() == [SAVE_STEPS, STEPS]
  summary = run["summary"]
  assert summary["global_step"] == STEPS and summary["steps"] == STEPS - 1
  assert summary["tokens"] > 0 and summary["tokens_per_second"] > 0
  final = run["progress"].replace("\r", "\n").splitlines()
  last = [l for l in final if l.startswith("train: 100%")][-1]
  assert "120/120" in last and "tok/s=" in last and "loss=" in last
  # Packed rows: several examples a row, most positions real tokens.
  assert "ex/step=%.1f" % summary["examples_per_step"] in last
  assert "real=%.2f" % summary["real_token_fraction"] in last
  assert summary["examples_per_step"] > 1.5 * 16  # 16 rows a step
  assert 0.5 < summary["real_token_fraction"] <= 1.0
  from tensorboard.backend.event_processing import event_accumulator
  events = glob.glob(os.path.join(run["model_dir"], "runs", "*",
                                  "events.out.tfevents.*"))
  assert events
  acc = event_accumulator.EventAccumulator(os.path.dirname(events[0]))
  acc.Reload()
  steps = [e.step for e in acc.Scalars("train/loss")]
  assert steps == [20, 40, 60, 80, 100, 120]
  losses = [e.value for e in acc.Scalars("train/loss")]
  assert losses[-1] < losses[0]
  for name in ("train/examples_per_step", "train/real_token_fraction"):
    assert [e.step for e in acc.Scalars(name)] == steps


@pytest.mark.slow
def test_resume_continues_from_the_newest_checkpoint(run, tmp_path):
  # A copy of the run's model directory, which the other tests read as the
  # run left it.
  model_dir = str(tmp_path / "model")
  shutil.copytree(run["model_dir"], model_dir)
  with pytest.raises(model_lib.ModelError,
                     match=r"already holds checkpoints \(the newest "
                     r"checkpoint-120\); pass --resume"):
    train_lib.train(train_lib.TrainOptions(run["export"], model_dir,
                                           model="tiny", steps=STEPS + 4))
  summary = train_lib.train(train_lib.TrainOptions(
      run["export"], model_dir, model="tiny", steps=STEPS + 4,
      batch_size=16, learning_rate=3e-3, dropout_rate=0.0, save_steps=SAVE_STEPS,
      logging_steps=20, resume=True), out=io.StringIO())
  assert summary["resumed_from"] == os.path.join(model_dir,
                                                 "checkpoint-%d" % STEPS)
  assert summary["global_step"] == STEPS + 4 and summary["steps"] == 3
  assert ModelDir(model_dir).steps()[-1] == STEPS + 4


def test_vocabulary_mismatch_is_reported(tmp_path):
  small = model_lib.load_model("tiny", 100)[0]
  small.save_pretrained(str(tmp_path / "m"))
  with pytest.raises(export_data.ExportError,
                     match=r"Vocabulary mismatch: the model .*/m has an "
                     r"embedding of 100 rows but the export's vocabulary .* "
                     r"has 600 ids"):
    model_lib.load_model(str(tmp_path / "m"), 600)
  with pytest.raises(model_lib.ModelError, match="not a model directory"):
    model_lib.load_model(str(tmp_path), 600)


def test_collator_pads_inputs_and_masks_labels():
  batch = batching.Collator()([{"inputs": [5, 1], "targets": [7, 8, 1]},
                                {"inputs": [1], "targets": [1]}])
  assert {k: v.tolist() for k, v in batch.items()} == {
      "input_ids": [[5, 1], [1, 0]], "attention_mask": [[1, 1], [1, 0]],
      "labels": [[7, 8, 1], [1, -100, -100]]}
  fixed = batching.Collator({"inputs": 4, "targets": 3})(
      [{"inputs": [5, 1], "targets": [1]}])
  assert fixed["input_ids"].tolist() == [[5, 1, 0, 0]]
  assert fixed["labels"].tolist() == [[1, -100, -100]]


@pytest.mark.slow
def test_train_and_evaluate_without_tensorflow(run):
  """`wt5 train` and `wt5 evaluate` with TensorFlow, t5 and seqio unimportable."""
  model_dir = str(run["root"] / "no_tf")
  code = no_tensorflow.PRELUDE + (
      "from wt5 import cli\n"
      "assert cli.main(['train', '--export', %r, '--model_dir', %r, "
      "'--model', 'tiny', '--steps', '2', '--batch_size', '4', "
      "'--save_steps', '2']) == 0\n"
      "assert cli.main(['evaluate', '--export', %r, '--model_dir', %r, "
      "'--batch_size', '30']) == 0\n"
      "from wt5.pytorch import model\n"
      "try:\n"
      "  model.load_model('google-t5/t5-small', 600)\n"
      "except model.ModelError as e:\n"
      "  print('ERROR', e)\n"
      "assert not [m for m in %r if sys.modules.get(m) is not None]\n" % (
          run["export"], model_dir, run["export"], model_dir, no_tensorflow.BLOCKED))
  env = dict(os.environ, HF_HUB_OFFLINE="1")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False, env=env, timeout=240)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Trained to step 2" in result.stdout
  assert ("ERROR Cannot load the model 'google-t5/t5-small' from the Hugging "
          "Face hub" in result.stdout)
  eval_dir = os.path.join(model_dir, "validation_eval")
  assert sorted(os.listdir(eval_dir)) == [
      "esnli_v010_2_predictions", "esnli_v010_inputs", "esnli_v010_targets"]
  # The same inputs and targets files as the evaluation with TensorFlow.
  for name in ("esnli_v010_inputs", "esnli_v010_targets"):
    with open(os.path.join(eval_dir, name), encoding="utf-8") as a, open(
        os.path.join(run["model_dir"], "validation_eval", name),
        encoding="utf-8") as b:
      assert a.read() == b.read()


def test_command_line_options():
  args = cli.build_parser("train").parse_args(
      ["train", "--export", "e", "--model_dir", "m", "--model", "base",
       "--grad_accum", "4", "--no-bf16", "--resume"])
  assert (args.export_dir, args.model_dir, args.model, args.grad_accum,
          args.bf16, args.resume, args.learning_rate, args.steps) == (
              "e", "m", "base", 4, False, True, 1e-3, 1000)
  args = cli.build_parser("evaluate").parse_args(
      ["evaluate", "--export", "e", "--model_dir", "m", "--step", "100",
       "--step", "200"])
  assert args.step == [100, 200] and args.split == "validation"


def test_presets_mirror_t5_sizes():
  config = model_lib.preset_config("base", 32128)
  assert model_lib.describe(config) == {
      "vocab_size": 32128, "d_model": 768, "d_ff": 3072, "d_kv": 64,
      "num_heads": 12, "num_layers": 12, "num_decoder_layers": 12,
      "feed_forward_proj": "relu"}
  model = model_lib.load_model("small", 32128)[0]
  assert model_lib.parameter_count(model) == 60506624  # t5-small
  with pytest.raises(model_lib.ModelError, match="unknown model size 'huge'"):
    model_lib.preset_config("huge", 100)


@pytest.mark.slow
def test_raw_decodes_are_postprocessed_where_tensorflow_is(run, tmp_path):
  examples = export_data.read_split(run["export"], "validation", TASK)
  eval_dir = tmp_path / "validation_eval"
  eval_dir.mkdir()
  # Decodes equal to the targets postprocess into the targets file's lines.
  (eval_dir / (TASK + "_7_decoded")).write_text("".join(
      json.dumps(e["targets_pretokenized"]) + "\n" for e in examples),
                                                 encoding="utf-8")
  assert evaluate_lib.postprocess_decoded(str(tmp_path), run["export"]) == [
      TASK + "_7_predictions"]
  predictions = (eval_dir / (TASK + "_7_predictions")).read_text("utf-8")
  assert predictions == (eval_dir / (TASK + "_targets")).read_text("utf-8")
  assert predictions == "".join(e["target_line"] + "\n" for e in examples)


@pytest.mark.slow
def test_wt5_evaluate_and_wt5_score_print_the_same_metrics(run, tmp_path,
                                                            capsys):
  """Both commands compute with one function; evaluate keeps equal files."""
  model_dir = str(tmp_path / "model")
  shutil.copytree(run["model_dir"], model_dir)
  eval_dir = os.path.join(model_dir, "validation_eval")
  reference = [os.path.join(eval_dir, TASK + suffix)
               for suffix in ("_inputs", "_targets")]
  for path in reference:
    os.utime(path, ns=(0, 0))
  capsys.readouterr()
  assert cli.main(["evaluate", "--export", run["export"], "--model_dir",
                   model_dir, "--batch_size", "30"]) == 0
  printed = {}
  for line in capsys.readouterr().out.splitlines():
    if line.startswith("eval/"):
      name, _, value = line.partition(": ")
      printed[name] = value
  # The inputs and targets files already held these lines: not rewritten.
  assert [os.stat(path).st_mtime_ns for path in reference] == [0, 0]
  out_dir = str(tmp_path / "scores")
  assert cli.main(["score", eval_dir, "--output_dir", out_dir,
                   "--no_plot"]) == 0
  with open(os.path.join(out_dir, "scores.json"), encoding="utf-8") as f:
    scored = json.load(f)
  assert printed == {
      "eval/%s/%s at step %s" % (task, metric, step): "%.3f" % value
      for task, steps in scored.items() for step, values in steps.items()
      for metric, value in values.items()}
  assert sorted(printed) == sorted(
      "eval/%s/%s at step %d" % (TASK, metric, step)
      for step in (SAVE_STEPS, STEPS)
      for metric in ("accuracy", "bleu", "expln1_length"))


def _report_examples(html):
  """The examples embedded in a report page."""
  data = json.loads(html.split('<script type="application/json" '
                               'id="wt5-data">')[1].split("</script>")[0])
  (task,) = data["tasks"].values()
  return task["examples"]


@pytest.mark.slow
def test_counterfactual_test_of_the_trained_model(run, capsys):
  """`wt5 faithfulness --counterfactual` at both checkpoints, and the report."""
  from wt5.faithfulness import counterfactual
  from wt5.report import report_command as report
  capsys.readouterr()
  assert cli.main(["faithfulness", "--counterfactual", "--model_dir",
                   run["model_dir"], "--export", run["export"], "--step",
                   str(SAVE_STEPS), "--step", str(STEPS), "--limit", "20",
                   "--insertions", "2", "--no_progress"]) == 0
  printed = capsys.readouterr().out
  examples = export_data.read_split(run["export"], "validation", TASK)[:20]
  eval_dir = os.path.join(run["model_dir"], "validation_eval")
  assert sorted(counterfactual.find_files(eval_dir, TASK)) == [SAVE_STEPS,
                                                                STEPS]
  rows = []
  for step in (SAVE_STEPS, STEPS):
    records = counterfactual.read_records(
        counterfactual.output_path(eval_dir, TASK, step))
    assert [r["index"] for r in records] == list(range(20))
    for record, example in zip(records, examples):
      assert record["input"] == example["inputs_pretokenized"]
      assert (record["task"], record["split"], record["step"]) == (
          TASK, "validation", step)
      assert len(record["insertions"]) == 2
      for edit in record["insertions"]:
        start = edit["offset"]
        assert (edit["input"][:start] + edit["input"][
            start + len(edit["word"]) + 1:]) == record["input"]
        assert edit["flipped"] == (edit["label"] != record["label"])
      assert record["flips"] == sum(e["flipped"] for e in record["insertions"])
      assert record["unfaithful"] == sum(
          e["flipped"] and not e["mentioned"] for e in record["insertions"])
    rows.append(counterfactual.table_row(TASK, step, counterfactual.summarize(
        [counterfactual.summary_row(r) for r in records])))
  # The printed table holds exactly these rows.
  assert counterfactual.format_table(rows) in printed
  assert "label flips  unfaithful  unfaithfulness (down)" in printed
  # The report shows the table and, in each example, its flips.
  html, problems = report.build_page([eval_dir], step=STEPS)
  assert problems == []
  assert '<table class="summary explanation-tests" data-kind="counterfactual">' in html
  for row in rows:
    assert ('<tr data-step="%s"><th>%s</th>' % (row[1], row[1]) +
            "".join('<td class="num">%s</td>' % c for c in row[2:])) in html
  shown = _report_examples(html)
  keys = ("word", "field", "input", "label", "explanations", "mentioned")
  assert [e["counterfactual"] for e in shown[:20]] == [
      {"insertions": 2, "flips": [{k: i[k] for k in keys}
                                  for i in r["insertions"] if i["flipped"]]}
      for r in records]
  assert "counterfactual" not in shown[20]  # past --limit


@pytest.fixture(scope="module")
def per_task_export(run, tmp_path_factory):
  """The demo e-SNLI train and validation splits exported per task."""
  export_dir = str(tmp_path_factory.mktemp("per_task") / "export")
  data_dir = str(run["root"] / "tfds")
  export.export(TASK, "train", export_dir, LENGTHS, mixed=False,
                data_dir=data_dir)
  export.export(TASK, "validation", export_dir, LENGTHS, data_dir=data_dir)
  return export_dir


def _fake_predictions(export_dir, model_dir, step, explain):
  """Writes a task model's eval files: the gold label, `explain(label)`."""
  from wt5.faithfulness import simulatability
  for split in ("train", "validation"):
    eval_dir = os.path.join(model_dir, "%s_eval" % split)
    os.makedirs(eval_dir)
    examples = export_data.read_split(export_dir, split, TASK)
    evaluate_lib.write_reference_files(eval_dir, TASK, examples)
    labels = [simulatability.gold_label(e) for e in examples]
    eval_files.write_values(
        [{"label": l, "explanations": [explain(l)]} for l in labels],
        eval_files.task_file(eval_dir, TASK, step))


# Label-copying explanations must be learnt (E reads the label); with empty
# ones LAS is 0 whatever the simulators learnt, so they train 5 steps.
SIMULATOR_STEPS = {"label_copying": 30, "empty": 5}


@pytest.mark.slow
@pytest.mark.parametrize("case", ["label_copying", "empty"])
def test_simulatability_of_label_copying_and_empty_explanations(
    per_task_export, tmp_path, capsys, case):
  """Explanations that copy the label leak it; empty ones add nothing (LAS 0)."""
  from wt5.faithfulness import simulation
  model_dir = str(tmp_path / "model")
  _fake_predictions(per_task_export, model_dir, 5,
                    (lambda l: l) if case == "label_copying" else
                    (lambda l: ""))
  capsys.readouterr()
  assert cli.main(["simulatability", "--model_dir", model_dir, "--export",
                   per_task_export, "--simulator", "tiny", "--steps",
                   str(SIMULATOR_STEPS[case]), "--learning_rate", "5e-3",
                   "--no_progress"]) == 0
  printed = capsys.readouterr().out
  records = simulation.read_records(simulation.output_path(
      os.path.join(model_dir, "validation_eval"), TASK, 5))
  summary = simulation.summarize(records)
  assert simulation.format_table(
      [simulation.table_row(TASK, 5, summary)]) in printed
  assert len(records) == 60
  correct = {k: [r["correct"][k] for r in records] for k in ("X", "XE", "E")}
  assert [r["leaked"] for r in records] == correct["E"]
  accuracy = {k: sum(v) / 60 for k, v in correct.items()}
  if case == "label_copying":
    # The E simulator reads the label off the explanation: all leaked.
    assert accuracy["E"] == 1.0
    assert summary["leaked"]["n"] == 60 and summary["nonleaked"] is None
    assert summary["las"]["mean"] == accuracy["XE"] - accuracy["X"]
    assert "60, %+.3f" % (accuracy["XE"] - accuracy["X"]) in printed
    assert "0, n/a" in printed
    # The report shows the table and each example's simulated labels.
    from wt5.report import report_command as report
    html, problems = report.build_page([os.path.join(model_dir,
                                                     "validation_eval")])
    assert problems == []
    row = simulation.table_row(TASK, 5, summary)
    assert ('<tr data-step="5"><th>5</th>' + "".join(
        '<td class="num">%s</td>' % c for c in row[2:])) in html
    assert [e["simulatability"] for e in _report_examples(html)] == [
        dict(r["simulated"], leaked=True) for r in records]
  else:
    # XE inputs are the X inputs: the two simulators are the same model.
    assert correct["XE"] == correct["X"]
    assert summary["las"] == {"mean": 0.0, "low": 0.0, "high": 0.0, "n": 60}
    # E sees one constant input: it always says the same label.
    assert len({r["simulated"]["E"] for r in records}) == 1
