"""`python -m wt5.doctor.probe`: the import probe of `wt5 doctor`."""

import json
import os

import pytest

from wt5.doctor import imports as doctor
from wt5.doctor import probe


def test_step_reports_the_value_or_the_first_line_of_the_error():
  assert probe.step(lambda: [1, 2]) == {"ok": True, "value": [1, 2]}
  def fail():
    raise ValueError("no such builder\nTraceback follows")
  assert probe.step(fail) == {"ok": False,
                              "error": "ValueError: no such builder"}
  assert probe.first_line(KeyError()) == "KeyError: "


def test_main_prints_the_marker_line(monkeypatch, capsys):
  monkeypatch.setattr(probe, "probe", lambda wanted: {"builders": {
      "ok": True, "value": sorted(wanted)}})
  assert probe.main(["probe", '["esnli", "cos_e"]']) == 0
  out = capsys.readouterr().out
  assert out == probe.MARKER + json.dumps(
      {"builders": {"ok": True, "value": ["cos_e", "esnli"]}}) + "\n"


@pytest.mark.slow
def test_the_probe_imports_this_environment(monkeypatch, tmp_path):
  """The child process reads this (working) stack; a bad vocabulary is named."""
  missing = str(tmp_path / "missing.model")
  monkeypatch.setenv("WT5_VOCAB_MODEL", missing)
  out = doctor.run_probe(timeout=240)
  assert out["builders"] == {"ok": True, "value": sorted(doctor.TEXT_BUILDERS)}
  assert out["t5_models"] == {"ok": True, "value": "ok"}
  assert out["sources"]["ok"]
  assert "esnli:0.1.0" in out["sources"]["value"]
  assert not out["vocab"]["ok"]
  assert missing in out["vocab"]["error"]
  result = doctor.check_vocabulary(out["vocab"], os.environ)
  assert not result.ok and result.detail.startswith(
      "cannot read %s (WT5_VOCAB_MODEL): " % missing)
