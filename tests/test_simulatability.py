"""`wt5 simulatability`: the LAS formula by hand, simulator inputs, bad input.

The end-to-end cases (explanations that copy the label, empty explanations)
train tiny simulators in tests/test_pytorch_train.py, on that file's export.
"""

import os

import pytest

from wt5 import cli
from wt5.formats import eval_files
from wt5.formats import export as export_data
from wt5.faithfulness import las
from wt5.faithfulness import simulatability as sim
from wt5.faithfulness import simulation
from wt5.pytorch import model as model_lib


def test_las_by_hand():
  # Leaked: examples 0-2 (E right). X right on 0, XE right on 0, 1, 2:
  # gain 1 - 1/3 = 2/3. Non-leaked: examples 3-4; X right on 3 and 4, XE on
  # 3 only: gain 1/2 - 1 = -1/2. LAS = (2/3 - 1/2) / 2 = 1/12.
  result = las.las([1, 0, 0, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 0, 0])
  assert result["leaked"] == pytest.approx(
      {"n": 3, "acc_x": 1 / 3, "acc_xe": 1.0, "gain": 2 / 3})
  assert result["nonleaked"] == pytest.approx(
      {"n": 2, "acc_x": 1.0, "acc_xe": 0.5, "gain": -0.5})
  assert result["las"] == pytest.approx(1 / 12)
  # An empty group is left out: all leaked, LAS is the leaked group's gain.
  result = las.las([0, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1])
  assert result["nonleaked"] is None
  assert result["las"] == pytest.approx(0.5)
  result = las.las([1, 0], [1, 0], [0, 0])
  assert result["leaked"] is None and result["las"] == 0.0
  with pytest.raises(ValueError, match="one X, XE and leaked value"):
    las.las([1], [1, 0], [1])


def test_las_interval():
  assert las.las_interval([1, 1], [1, 1], [1, 0]) == {
      "mean": 0.0, "low": 0.0, "high": 0.0, "n": 2}
  x, xe, leaked = [0] * 10 + [1] * 10, [1] * 20, [1, 0] * 10
  got = las.las_interval(x, xe, leaked, num_samples=500, seed=3)
  assert got["mean"] == 0.5 and got["n"] == 20
  assert 0.2 < got["low"] < 0.5 < got["high"] < 0.8
  assert got == las.las_interval(x, xe, leaked, num_samples=500, seed=3)
  # One resample can hold no leaked example: the other group alone counts.
  single = las.las_interval([0, 1], [1, 1], [1, 0], num_samples=200)
  assert single["low"] == 0.0 and single["high"] == 1.0


def test_summary_and_table_by_hand():
  rows = [{"correct": {"X": x, "XE": xe, "E": e}, "leaked": e}
          for x, xe, e in [(1, 1, 1), (0, 1, 1), (0, 0, 0), (1, 1, 0)]]
  summary = simulation.summarize(rows, num_samples=100)
  assert summary["accuracy"] == {"X": 0.5, "XE": 0.75, "E": 0.5}
  assert summary["las"]["mean"] == pytest.approx(0.25)
  assert simulation.table_row("t", 9, summary)[:-1] == [
      "t", "9", "4", "0.500", "0.750", "0.500", "2, +0.500", "2, +0.000"]
  assert simulation.group_cell(None) == "0, n/a"


def test_simulator_inputs():
  text = "explain nli hypothesis: A dog runs. premise: A dog sleeps."
  assert simulation.simulator_input("X", text, "Dogs run.") == text
  assert simulation.simulator_input("XE", text, "Dogs run.") == (
      text + " explanation: Dogs run.")
  assert simulation.simulator_input("XE", text, "") == text
  assert simulation.simulator_input("E", text, "Dogs run.") == "explanation: Dogs run."
  assert simulation.simulator_input("E", text, "") == "explanation: "
  assert simulation.explanation_text({"label": "a", "explanations": ["B.", "C."]}) == "B. C."
  with pytest.raises(ValueError, match="no simulator input of kind 'Y'"):
    simulation.simulator_input("Y", text, "")


def test_a_simulator_size_that_does_not_exist(capsys):
  with pytest.raises(model_lib.ModelError, match=(
      r"--simulator 'huge' is neither a model size \(tiny, .*\) nor a model "
      r"directory")):
    sim.check_simulator("huge")
  assert cli.main(["simulatability", "--model_dir", "m", "--export", "e",
                   "--simulator", "huge", "--steps", "1"]) == 2
  assert "wt5 simulatability: --simulator 'huge'" in capsys.readouterr().err


def test_a_split_without_predictions(tmp_path):
  model_dir = str(tmp_path)
  with pytest.raises(export_data.ExportError, match=(
      r"the train split has no predictions of esnli_v010 at step 5 \(.*"
      r"train_eval/esnli_v010_5_predictions is missing\): decode it with "
      r"`wt5 evaluate --model_dir .* --export EXPORT --split train --step 5`"
      r", on an export of that split per task \(`wt5 export esnli_v010 "
      r"--split train --no-mixed`\)")):
    sim.load_predictions(model_dir, "train", "esnli_v010", 5, 3)
  with pytest.raises(export_data.ExportError, match=(
      "the validation split has no predictions of esnli_v010 in")):
    sim.newest_step(model_dir, "validation", "esnli_v010")
  eval_dir = os.path.join(model_dir, "validation_eval")
  os.makedirs(eval_dir)
  path = eval_files.task_file(eval_dir, "esnli_v010", 5)
  eval_files.write_values([{"label": "a", "explanations": []}], path)
  assert sim.newest_step(model_dir, "validation", "esnli_v010") == 5
  with pytest.raises(export_data.ExportError,
                     match="has 1 predictions for 3 examples"):
    sim.load_predictions(model_dir, "validation", "esnli_v010", 5, 3)


def test_command_line_options():
  args = cli.build_parser("simulatability").parse_args(
      ["simulatability", "--model_dir", "m", "--export", "e", "--simulator",
       "tiny", "--steps", "50", "--step", "7"])
  assert (args.model_dir, args.export_dir, args.simulator, args.steps,
          args.step, args.split, args.train_split, args.seed,
          args.bootstrap) == ("m", "e", "tiny", 50, 7, "validation", "train",
                              0, 1000)


class _WordPieces:
  """A stand-in SentencePiece processor: one id per word."""

  def EncodeAsIds(self, text):
    return [len(w) for w in text.split()]


def test_labels_without_tokens_are_set_apart():
  assert sim.label_set(["neutral", "", "entailment", "neutral", " "],
                       _WordPieces()) == (["entailment", "neutral"], ["", " "])
