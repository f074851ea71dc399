"""`wt5 evaluate` where TensorFlow and the T5 stack cannot be imported.

The situation of a GPU machine with a newer Python: a tiny model trained on
an export of e-SNLI and MNLI is evaluated once in a child Python where
tensorflow, t5, seqio, ... fail to import (tests/no_tensorflow.py), and once
here, with TensorFlow. Without TensorFlow the e-SNLI eval files are written
as usual, and for the MNLI tasks, whose postprocessor is t5's, the raw
decodes go to `<task>_<step>_decoded`; `wt5 evaluate --from_decoded` with
TensorFlow turns them into the same files the TensorFlow side writes, and
`wt5 score` gives the numbers the TensorFlow-side evaluation gives.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys

import pytest

import demo_registry as demo_registry_lib
import no_tensorflow
from wt5 import cli
from wt5.export import export_command as export
from wt5.pytorch import evaluate as evaluate_lib
from wt5.pytorch import train as train_lib
from wt5.scoring import eval_dir as scoring

# The module fixture exports, trains, and evaluates twice (once in a child).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

MIXTURE = "esnli_mnli_all_explanations"
SOURCES = ["esnli", "glue/mnli", "glue/mnli_matched", "glue/mnli_mismatched"]
SIZES = demo_registry_lib.split_sizes({  # (train, validation, test)
    "esnli": (40, 6, 2), "glue/mnli": (20, 3, 2),
    "glue/mnli_matched": (0, 5, 2), "glue/mnli_mismatched": (0, 4, 2)})
LENGTHS = {"inputs": 48, "targets": 24}
STEP = 2
# A task whose postprocessor is t5's (string_label_to_class_id) and the
# split it is evaluated on; the mixture's eval tasks use WT5's.
T5_TASK = "mnli_v002"
SPLIT = "validation_matched"
WT5_TASKS = ["esnli_v010", "mnli_explain_eval_matched_v002",
             "mnli_explain_eval_mismatched_v002"]


@pytest.fixture(scope="module")
def runs(demo_registry):
  """Exports, a model, its evaluation without and with TensorFlow."""
  with demo_registry("wt5_no_tf", sizes=SIZES, sources=SOURCES) as reg:
    mixed = str(reg.root / "mixed")
    export.export(MIXTURE, "train", mixed, LENGTHS, num_examples=40,
                  data_dir=reg.data_dir)
    export.export(MIXTURE, "validation", mixed, LENGTHS,
                  data_dir=reg.data_dir)
    mnli = str(reg.root / "mnli")
    export.export(T5_TASK, SPLIT, mnli, LENGTHS, data_dir=reg.data_dir)
    with_tf = str(reg.root / "with_tf")
    train_lib.train(train_lib.TrainOptions(
        mixed, with_tf, model="tiny", steps=STEP, batch_size=4,
        save_steps=STEP), out=io.StringIO())
    without_tf = str(reg.root / "without_tf")
    shutil.copytree(os.path.join(with_tf, "checkpoint-%d" % STEP),
                    os.path.join(without_tf, "checkpoint-%d" % STEP))

    code = no_tensorflow.PRELUDE + (
        "from wt5 import cli\n"
        "for export_dir, split in [(%r, 'validation'), (%r, %r)]:\n"
        "  assert cli.main(['evaluate', '--export', export_dir, '--split', "
        "split, '--model_dir', %r, '--batch_size', '16']) == 0\n" % (
            mixed, mnli, SPLIT, without_tf)) + no_tensorflow.CHECK
    child = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, check=False, timeout=240,
                           env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert child.returncode == 0, child.stderr[-3000:]

    results = evaluate_lib.evaluate(with_tf, mixed, batch_size=16,
                                    out=io.StringIO())
    results.update(evaluate_lib.evaluate(with_tf, mnli, split=SPLIT,
                                         batch_size=16, out=io.StringIO()))
    yield {"mixed": mixed, "mnli": mnli, "with_tf": with_tf,
           "without_tf": without_tf, "child": child.stdout,
           "results": results, "root": reg.root}


@pytest.fixture(scope="module")
def converted(runs):
  """The no-TensorFlow run (a copy) after `wt5 evaluate --from_decoded`."""
  model_dir = str(runs["root"] / "from_decoded")
  shutil.copytree(runs["without_tf"], model_dir)
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    status = cli.main(["evaluate", "--from_decoded", "--export", runs["mnli"],
                       "--split", SPLIT, "--model_dir", model_dir])
  return status, out.getvalue(), model_dir


def eval_dir_files(eval_dir):
  files = {}
  for name in sorted(os.listdir(eval_dir)):
    with open(os.path.join(eval_dir, name), "rb") as f:
      files[name] = f.read()
  return files


@pytest.mark.parametrize("before", ["", "import gin.config\n"])
def test_check_names_blocked_modules_loaded_before_the_prelude(before):
  code = before + no_tensorflow.PRELUDE + "import json\n" + no_tensorflow.CHECK
  child = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=False, timeout=120)
  if before:
    assert child.returncode == 1
    assert child.stderr.splitlines()[-1].startswith(
        "AssertionError: loaded: gin.config, ")
  else:
    assert (child.returncode, child.stderr) == (0, "")


def test_t5_postprocessed_tasks_get_decoded_files(runs):
  mnli_dir = os.path.join(runs["without_tf"], SPLIT + "_eval")
  assert os.listdir(mnli_dir) == ["%s_%d_decoded" % (T5_TASK, STEP)]
  lines = [l for l in runs["child"].splitlines() if l.startswith(T5_TASK)]
  assert len(lines) == 1, runs["child"]
  assert lines[0].startswith(
      "mnli_v002: step 2: postprocessor t5.data.postprocessors."
      "string_label_to_class_id not importable here (")
  assert lines[0].endswith(
      "); wrote the raw decodes to mnli_v002_2_decoded: run `wt5 evaluate "
      "--from_decoded` where TensorFlow is installed")
  # WT5's postprocessors and metrics need no TensorFlow: the files and the
  # printed metrics are those of the evaluation with TensorFlow.
  assert eval_dir_files(os.path.join(runs["without_tf"], "validation_eval")) == (
      eval_dir_files(os.path.join(runs["with_tf"], "validation_eval")))
  for task in WT5_TASKS:
    for metric, value in sorted(runs["results"][task][STEP].items()):
      line = "eval/%s/%s at step %d: %.3f" % (task, metric, STEP, value)
      assert line in runs["child"].splitlines(), (line, runs["child"])


def test_from_decoded_writes_the_files_of_the_tensorflow_side(runs, converted):
  status, printed, model_dir = converted
  assert (status, printed) == (0, "wrote mnli_v002_2_predictions\n")
  got = eval_dir_files(os.path.join(model_dir, SPLIT + "_eval"))
  with_tf = eval_dir_files(os.path.join(runs["with_tf"], SPLIT + "_eval"))
  assert sorted(with_tf) == ["mnli_v002_2_predictions", "mnli_v002_inputs",
                             "mnli_v002_targets"]
  assert got == dict(with_tf, mnli_v002_2_decoded=got["mnli_v002_2_decoded"])


def test_score_gives_the_numbers_of_the_tensorflow_side(runs, converted):
  _, _, model_dir = converted
  scored = {}
  for split in ("validation", SPLIT):
    report = scoring.score_eval_dir(os.path.join(model_dir, split + "_eval"))
    assert report.problems == []
    scored.update({(s.task, s.step, s.metric): s.value for s in report.scores})
  expected = {(task, step, metric): value
              for task, by_step in runs["results"].items()
              for step, values in by_step.items()
              for metric, value in values.items()}
  assert sorted(expected) == sorted(scored)
  assert sorted({task for task, _, _ in expected}) == sorted(
      WT5_TASKS + [T5_TASK])
  for key, value in expected.items():
    assert abs(scored[key] - value) <= 1e-9, key
