"""requirements.lock agrees with the requirements setup.py declares.

The declared requirements are read from the package metadata that setup.py
builds (`setup.py egg_info`), i.e. what pip sees, extras included.
"""

import importlib.metadata
import os
import re
import subprocess
import sys

from packaging import requirements
from packaging import specifiers
from packaging import utils
from packaging import version as versions
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Declared by setup.py but deliberately not in the lock, and why.
NOT_LOCKED = {
    # The lock installs the `tensorflow_datasets` module from tfds-nightly
    # alone; pip's resolver must add this release (t5 asks for it).
    "tensorflow-datasets",
}


@pytest.fixture(scope="module")
def metadata(tmp_path_factory):
  """The built metadata of wt5 (an importlib.metadata Distribution)."""
  out = tmp_path_factory.mktemp("egg_info")
  subprocess.run([sys.executable, "setup.py", "-q", "egg_info",
                  "--egg-base", str(out)], cwd=ROOT, check=True,
                 capture_output=True, timeout=120)
  (info,) = [p for p in out.iterdir() if p.name.endswith(".egg-info")]
  return importlib.metadata.PathDistribution(info)


def parse_lock(text):
  """{canonical name: version} of a lock file's `name==version` lines.

  parse_lock("torch==2.13.0+cpu  # CPU build\\n") -> {"torch": "2.13.0+cpu"}
  """
  pins = {}
  for n, line in enumerate(text.splitlines(), 1):
    line = line.split("#", 1)[0].strip()
    if not line:
      continue
    m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line)
    if not m:
      raise ValueError("requirements.lock line %d is not name==version: %r"
                       % (n, line))
    pins[utils.canonicalize_name(m.group(1))] = m.group(2)
  return pins


def declared(requires, extras):
  """The requirements that apply on this platform with `extras` chosen."""
  out = []
  for text in requires:
    req = requirements.Requirement(text)
    env = [{"extra": e} for e in [""] + list(extras)]
    if req.marker is None or any(req.marker.evaluate(e) for e in env):
      out.append(req)
  return out


def outside(requires, extras, lock, not_locked=()):
  """Lock pins outside a declared requirement (or declared but not locked).

  outside(["numpy<1.25"], [], {"numpy": "1.26.0"})
    -> ["numpy: the lock pins 1.26.0, setup.py declares numpy<1.25"]
  """
  problems = []
  for req in declared(requires, extras):
    name = utils.canonicalize_name(req.name)
    if name not in lock:
      if name in not_locked:
        continue
      problems.append("%s: declared by setup.py (%s) but not in the lock"
                      % (name, req))
    elif not req.specifier.contains(versions.Version(lock[name]),
                                    prereleases=True):
      problems.append("%s: the lock pins %s, setup.py declares %s"
                      % (name, lock[name], req))
  return problems


# Lock pins that deliberately differ from setup.py, and why.
LOCK_DIFFERS = {
    # Every flax after 0.8.5 needs treescope, which declares numpy>=1.25.2,
    # so pip's resolver (numpy<1.25) stops at 0.8.5; the lock, installed
    # with --no-deps, has 0.10.4, which works with numpy 1.24.3.
    "flax": ("0.10.4", "0.8.5"),
}


def test_every_lock_pin_satisfies_setup_py(metadata):
  with open(os.path.join(ROOT, "requirements.lock"), encoding="utf-8") as f:
    lock = parse_lock(f.read())
  extras = metadata.metadata.get_all("Provides-Extra") or []
  assert "test" in extras
  for name, (locked, declared_version) in LOCK_DIFFERS.items():
    # An exception holds only for exactly these two versions.
    assert lock.pop(name) == locked
    assert "%s==%s" % (name, declared_version) in metadata.requires
  assert outside(metadata.requires, extras, lock,
                 NOT_LOCKED | set(LOCK_DIFFERS)) == []


def test_outside_finds_a_pin_outside_the_specifier():
  lock = {"numpy": "1.26.0", "torch": "2.13.0+cpu", "pytest": "9.2.0"}
  assert outside(["numpy<1.25", "torch==2.13.0"], [], lock) == [
      "numpy: the lock pins 1.26.0, setup.py declares numpy<1.25"]
  # `==2.13.0` admits the local version 2.13.0+cpu; `==2.12.0` does not.
  assert outside(["torch==2.12.0"], [], lock) == [
      "torch: the lock pins 2.13.0+cpu, setup.py declares torch==2.12.0"]
  # Extras' requirements count once the extra is chosen.
  assert outside(['pytest<9; extra == "test"'], [], lock) == []
  assert outside(['pytest<9; extra == "test"'], ["test"], lock) == [
      'pytest: the lock pins 9.2.0, setup.py declares pytest<9; extra == "test"']
  assert outside(["tensorflow==2.12.1"], [], lock) == [
      "tensorflow: declared by setup.py (tensorflow==2.12.1) but not in the lock"]
  assert outside(["tensorflow==2.12.1"], [], lock, {"tensorflow"}) == []


def test_parse_lock_rejects_a_loose_line():
  with pytest.raises(ValueError, match=r"line 2 is not name==version: 'numpy<2'"):
    parse_lock("torch==2.13.0+cpu\nnumpy<2\n")
  assert parse_lock("Jinja2==3.1.6  # note\n\n") == {"jinja2": "3.1.6"}


def test_metadata_states_pythons_and_console_script(metadata):
  assert (specifiers.SpecifierSet(metadata.metadata["Requires-Python"]) ==
          specifiers.SpecifierSet(">=3.10,<3.12"))
  assert [ep.value for ep in metadata.entry_points
          if ep.name == "wt5"] == ["wt5.cli:main"]


def test_setup_py_on_another_python_says_which_to_use(tmp_path):
  # setup.py stops before setuptools runs, so `pip install .` or an sdist on
  # a wrong Python fails with this message (the wheel has Requires-Python).
  code = ("import sys; sys.version_info = (3, 12, 0, 'final', 0); "
          "sys.argv = ['setup.py', '--version']; "
          "exec(compile(open('setup.py').read(), 'setup.py', 'exec'), "
          "{'__name__': '__main__', '__file__': 'setup.py'})")
  proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 1
  assert proc.stderr.strip() == (
      "wt5 needs Python 3.10 or 3.11 (TensorFlow 2.12, which Mesh TensorFlow "
      "needs, has no wheels for Python 3.12). Install it with Python 3.11, "
      "e.g. `python3.11 -m venv venv && venv/bin/pip install wt5`.")


def test_doctor_pins_agree_with_setup_py(metadata):
  """Each version `wt5 doctor` checks and each fix it prints fit setup.py."""
  from wt5.doctor import metadata as doctor
  setup = {utils.canonicalize_name(r.name): r
           for r in declared(metadata.requires, [])}
  problems = []
  fixes = [(name, doctor.PIN_FIX[name], spec) for name, spec, _ in doctor.PINNED]
  fixes += [(requirements.Requirement(f).name, f, doctor.PROTOBUF_RANGE
             if f.startswith("protobuf") else "==" + doctor.TF_METADATA_VERSION)
            for f in doctor.PROTOBUF_FIX]
  fixes += [(name, "%s==%s" % (name, version), "==" + version)
            for name, version in (doctor.TFDS_NIGHTLY, doctor.TFDS_RELEASE)]
  for name, fix, spec in fixes:
    declared_req = setup[utils.canonicalize_name(name)]
    fix_req = requirements.Requirement(fix)
    pinned = [s.version for s in declared_req.specifier if s.operator == "=="]
    for version in pinned:
      # setup.py's pin passes the doctor's check and is the one it installs.
      if not specifiers.SpecifierSet(spec).contains(version, prereleases=True):
        problems.append("%s: setup.py pins %s, doctor wants %s" % (
            name, version, spec))
      if not fix_req.specifier.contains(version, prereleases=True):
        problems.append("%s: setup.py pins %s, doctor's fix is %s" % (
            name, version, fix))
    if not pinned and declared_req.specifier != specifiers.SpecifierSet(spec):
      problems.append("%s: setup.py declares %s, doctor wants %s" % (
          name, declared_req.specifier, spec))
  assert problems == []
  assert len(fixes) == len(doctor.PINNED) + 4


def venv_pip_commands(tmp_path, wheels):
  """The `pip install` lines `make venv` runs when pip's sources are `wheels`.

  Pip sees only the folder `wheels` (a PIP_CONFIG_FILE of its own, no index,
  no PIP_* variables); `make -n -B` prints the recipe without running it.
  """
  config = tmp_path / "pip.conf"
  config.write_text("[global]\nno-index = true\nfind-links = %s\n" % wheels)
  env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
  env["PIP_CONFIG_FILE"] = str(config)
  proc = subprocess.run(
      ["make", "-n", "-B", "venv", "PYTHON=" + sys.executable], cwd=ROOT,
      env=env, capture_output=True, text=True, timeout=120, check=True)
  return [line.split(" 2>&1")[0] for line in proc.stdout.splitlines()
          if "-m pip install" in line]


def test_make_venv_takes_torch_from_the_cpu_index_only_where_pip_lacks_it(
    tmp_path):
  wheels = tmp_path / "wheels"
  wheels.mkdir()
  pip = (".venv/bin/python -m pip install --no-deps --no-compile "
         "--disable-pip-version-check -q")
  lock = pip + " -r <(grep -vxF 'torch==2.13.0+cpu' requirements.lock)"
  # No configured source has torch 2.13.0+cpu: PyPI's CPU wheel index, with
  # one retry and 30 s per try should it be unreachable.
  assert venv_pip_commands(tmp_path, wheels) == [
      lock,
      pip + " --extra-index-url https://download.pytorch.org/whl/cpu "
      "--retries 1 --timeout 30 'torch==2.13.0+cpu'",
      pip + " -e ."]
  # A configured folder has it (pip's finder reads the file name only).
  (wheels / "torch-2.13.0+cpu-py3-none-any.whl").write_bytes(b"")
  assert venv_pip_commands(tmp_path, wheels) == [
      lock, pip + " 'torch==2.13.0+cpu'", pip + " -e ."]
