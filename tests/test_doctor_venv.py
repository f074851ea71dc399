"""`wt5 doctor` in real virtual environments, broken as pip breaks them.

Each environment is a new venv (`python -m venv`) whose site-packages holds
links to the test environment's packages, except the ones a case changes,
which are copies; then pip installs into it what a user would, e.g.
`pip install --no-deps tensorflow-datasets==4.9.4` beside tfds-nightly (the
two-TFDS state: one `tensorflow_datasets` module written by two
distributions), or tensorflow-metadata 1.16.1 (which needs protobuf 5)
beside protobuf 3.20. `wt5 doctor` then runs with the venv's Python. The
unchanged venv, with a vocabulary and a data dir, passes every check: the
import probe and the data-dir listing run there for real.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from wt5.doctor import imports as doctor

pytestmark = [pytest.mark.venv, pytest.mark.slow]

SITE_PACKAGES = sysconfig.get_paths()["purelib"]
REINSTALL_TFDS = ("pip install --force-reinstall --no-deps "
                  "tensorflow-datasets==4.9.3 tfds-nightly==4.9.2.dev202308090034")


def make_venv(root, copied=()):
  """A venv at root whose site-packages links to ours; `copied` are copies."""
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)],
                 check=True, capture_output=True, timeout=120)
  python = str(root / "bin" / "python")
  target = subprocess.run(
      [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
      check=True, capture_output=True, text=True, timeout=60).stdout.strip()
  for name in os.listdir(SITE_PACKAGES):
    source = os.path.join(SITE_PACKAGES, name)
    if name in copied:
      (shutil.copytree if os.path.isdir(source) else shutil.copy2)(
          source, os.path.join(target, name), symlinks=True)
    else:
      os.symlink(source, os.path.join(target, name))
  return python


def pip_install(python, *requirements):
  """`pip install --no-deps` into the venv of `python` (from PyPI or pip's cache)."""
  result = subprocess.run(
      [sys.executable, "-m", "pip", "--python", python, "install", "-q",
       "--no-deps", "--disable-pip-version-check"] + list(requirements),
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]


def run_doctor(python, *args, env=None):
  """(exit status, output) of `wt5 doctor` run by `python`."""
  result = subprocess.run(
      [python, "-m", "wt5.cli", "doctor"] + list(args), capture_output=True,
      text=True, timeout=280, check=False, cwd="/",
      env=dict(os.environ, **(env or {})))
  return result.returncode, result.stdout


def lines_of(output, status):
  """The result lines of one status ("OK", "PROBLEM", "SKIPPED") and fixes."""
  out = []
  for line in output.splitlines():
    if line.startswith("  %-8s " % status):
      out.append(line.strip())
    elif line.startswith("           fix: ") and out and status == "PROBLEM":
      out.append(line.strip())
  return out


@pytest.mark.timeout(600)
def test_two_tfds_distributions(tmp_path):
  python = make_venv(tmp_path / "venv", copied=["tensorflow_datasets"])
  pip_install(python, "tensorflow-datasets==4.9.4")
  status, output = run_doctor(python)
  assert status == 1, output
  assert lines_of(output, "PROBLEM") == [
      "PROBLEM  TFDS distributions: tensorflow-datasets 4.9.4, tfds-nightly "
      "4.9.2.dev202308090034 all write the same tensorflow_datasets module, "
      "which is then a mix of different versions (\"module "
      "'tensorflow_datasets' has no attribute 'core'\", builders \"not "
      "found\")",
      "fix: " + REINSTALL_TFDS]
  # The import checks wait until the packages are right.
  assert lines_of(output, "SKIPPED") == [
      "SKIPPED  TFDS text builders: not tried: fix the problems above first",
      "SKIPPED  import t5.models: not tried: fix the problems above first",
      "SKIPPED  vocabulary: not tried: fix the problems above first"]
  assert output.splitlines()[0].endswith(" at %s" % (tmp_path / "venv"))
  assert output.splitlines()[-1] == "1 problem(s) found."


@pytest.mark.timeout(600)
def test_protobuf_against_tensorflow_metadata(tmp_path):
  python = make_venv(tmp_path / "venv", copied=[
      "tensorflow_metadata", "tensorflow_metadata-1.14.0.dist-info"])
  pip_install(python, "tensorflow-metadata==1.16.1")
  status, output = run_doctor(python)
  assert status == 1, output
  assert lines_of(output, "PROBLEM") == [
      "PROBLEM  protobuf / tensorflow-metadata: tensorflow-metadata 1.16.1 "
      "imports google.protobuf.runtime_version (protobuf 5), which "
      "TensorFlow 2.12 cannot use; 1.14.0 is the one that works (protobuf "
      "3.20.3, tensorflow-metadata 1.16.1)",
      "fix: pip install protobuf==3.20.3 tensorflow-metadata==1.14.0"]
  assert len(lines_of(output, "SKIPPED")) == 3
  # Its fix, run in that venv, gives back a working stack.
  pip_install(python, "tensorflow-metadata==1.14.0")
  status, output = run_doctor(python)
  assert "protobuf / tensorflow-metadata" not in "".join(
      lines_of(output, "PROBLEM"))
  assert ("OK       protobuf / tensorflow-metadata: protobuf 3.20.3, "
          "tensorflow-metadata 1.14.0") in lines_of(output, "OK")


@pytest.mark.timeout(600)
def test_a_working_venv_passes_the_probe_and_lists_the_data(
    tmp_path, demo_registry):
  python = make_venv(tmp_path / "venv")
  with demo_registry("doctor_data", sources=["esnli", "cos_e"], sizes={
      "esnli": {"train": 3, "validation": 2, "test": 2},
      "cos_e": {"train": 3, "validation": 2}}) as reg:
    data_dir, vocab_model = reg.data_dir, reg.vocab_model
  status, output = run_doctor(python, "--data_dir", data_dir,
                              env={doctor.VOCAB_ENV: vocab_model})
  assert status == 0, output
  ok = lines_of(output, "OK")
  assert "OK       TFDS text builders: all 7 registered" in ok
  assert "OK       import t5.models: works" in ok
  assert any(l.startswith("OK       vocabulary: %s (WT5_VOCAB_MODEL): " %
                          vocab_model) and l.endswith(" pieces") for l in ok)
  assert "OK       data cos_e:0.0.1: present" in ok
  assert "OK       data esnli:0.1.0: present" in ok
  skipped = lines_of(output, "SKIPPED")
  assert len(skipped) == 1 and skipped[0].startswith(
      "SKIPPED  data not in %s: " % data_dir)
  assert "amazon_us_reviews/* (46 configurations)" in skipped[0]
  assert output.splitlines()[-1] == "Everything checked is OK."
