"""`wt5 report` without a browser: highlights, aggregation, the page's escaping."""

import json
import os
import re
import statistics

from mesh_tensorflow.transformer import utils as mtf_utils
import pytest

from wt5 import cli
from wt5.scoring import eval_dir as scoring
from wt5.report import examples
from wt5.report import summary


def test_highlight_segments():
  text = "a fun , good film"
  assert examples.highlight_segments(
      text, [0, 1, 0, 0, 0], [0, 1, 0, 1, 0]) == [
          ("a ", 0), ("fun", 3), (" , ", 0), ("good", 2), (" film", 0)]
  # The space inside a run of one class is highlighted with it.
  assert examples.highlight_segments(
      "a b c d", [1, 1, 1, 0], [0, 1, 1, 1]) == [
          ("a", 1), (" ", 0), ("b c", 3), (" ", 0), ("d", 2)]
  assert examples.highlight_segments("a b", [1, 0, 0], [0, 0, 0]) is None


def test_display_text():
  assert examples.display_text(b"caf\xc3\xa9") == "café"
  assert examples.display_text(3) == "3"
  assert examples.display_text(None) == ""


def test_aggregate_and_format():
  runs = [[scoring.Score("t", 200, "accuracy", 50.0),
           scoring.Score("t", 100, "accuracy", 10.0)],
          [scoring.Score("t", 200, "accuracy", 70.0)]]
  agg = summary.aggregate(runs)
  assert list(agg["t"]) == [100, 200]
  cell = agg["t"][200]["accuracy"]
  assert cell == summary.Cell(values=(50.0, 70.0), runs=(0, 1))
  assert cell.mean == 60.0
  assert cell.sd == statistics.stdev([50.0, 70.0]) == pytest.approx(
      14.142135623730951, abs=1e-12)
  assert summary.format_cell(cell, 2) == "60 ± 14.1421"
  assert summary.format_cell(agg["t"][100]["accuracy"], 2) == (
      "10 (1 of 2 runs)")
  assert summary.format_cell(agg["t"][100]["accuracy"], 1) == "10"
  assert summary.format_cell(None, 2) == ""


def test_page_is_self_contained_and_escapes_data(tmp_path):
  eval_dir = str(tmp_path / "eval")
  hostile = "</script><script>window.__pwned=1</script> \"q\" 'q' <b>&amp;"
  mtf_utils.write_lines_to_file(
      [{"label": hostile, "explanations": [hostile]}],
      os.path.join(eval_dir, "esnli_v010_targets"))
  mtf_utils.write_lines_to_file(
      [{"label": "x", "explanations": [hostile]}],
      os.path.join(eval_dir, "esnli_v010_5_predictions"))
  mtf_utils.write_lines_to_file([hostile.encode()],
                                os.path.join(eval_dir, "esnli_v010_inputs"))
  out = str(tmp_path / "r" / "report.html")
  assert cli.main(["report", eval_dir, "--output", out]) == 0
  with open(out, encoding="utf-8") as f:
    html = f.read()
  # Our two scripts only; the data's markup never appears raw.
  assert html.count("<script") == 2
  assert html.count("</script>") == 2
  assert "<b>" not in html and "window.__pwned=1</script>" not in html
  assert not re.search(r"(src|href)=\"(https?:)?//", html)
  blob = html.split('<script type="application/json" id="wt5-data">')[1]
  blob = blob.split("</script>")[0]
  data = json.loads(blob)
  example = data["tasks"]["task0"]["examples"][0]
  assert example["input"] == hostile
  assert example["references"] == [hostile]
  assert example["gold_label"] == hostile and example["correct"] is False
  # The summary table is escaped HTML text.
  assert "<td class=\"num\" data-step=\"5\">0</td>" in html


def test_bad_arguments_and_missing_dir(tmp_path, capsys):
  out = str(tmp_path / "report.html")
  assert cli.main(["report", str(tmp_path / "nope"), "--output", out]) == 1
  assert "error: %s: not a directory" % (tmp_path / "nope") in (
      capsys.readouterr().err)
  assert os.path.exists(out)
  assert cli.main(["report", str(tmp_path), "--output", out,
                   "--page_size", "0"]) == 1
  assert "--page_size must be at least 1, got 0" in capsys.readouterr().err


def test_missing_step_is_reported(tmp_path, capsys):
  eval_dir = str(tmp_path / "eval")
  mtf_utils.write_lines_to_file(
      [{"label": "a", "explanations": ["b"]}],
      os.path.join(eval_dir, "esnli_v010_targets"))
  mtf_utils.write_lines_to_file(
      [{"label": "a", "explanations": ["b"]}],
      os.path.join(eval_dir, "esnli_v010_5_predictions"))
  out = str(tmp_path / "report.html")
  assert cli.main(["report", eval_dir, "--output", out, "--step", "7"]) == 1
  assert "error: examples: esnli_v010: no predictions at step 7 (steps: 5)" in (
      capsys.readouterr().err)
