"""`wt5 doctor`: each known broken state gives its message and its fix."""

import argparse
import os

from wt5.doctor import doctor_command as doctor
from wt5.doctor import imports as stage2
from wt5.doctor import metadata as stage1

NIGHTLY = ("tfds-nightly", "4.9.2.dev202308090034")
REINSTALL_TFDS = ("pip install --force-reinstall --no-deps "
                  "tensorflow-datasets==4.9.3 tfds-nightly==4.9.2.dev202308090034")
GOOD = {"tensorflow": "2.12.1", "tensorflow-text": "2.12.1",
        "mesh-tensorflow": "0.1.21", "t5": "0.9.4",
        "seqio-nightly": "0.0.18.dev20250227", "tensorflow-hub": "0.13.0",
        "pandas": "2.1.4", "numpy": "1.24.3", "spacy": "3.7.5"}


def test_tfds_one_distribution_is_ok():
  assert stage1.check_tfds_distributions([NIGHTLY]) == stage1.Result(
      "TFDS distributions", True, "tfds-nightly 4.9.2.dev202308090034")


def test_tfds_the_declared_pair_is_ok_while_one_of_them_is_intact():
  pair = [("tensorflow-datasets", "4.9.3"), NIGHTLY]
  result = stage1.check_tfds_distributions(
      pair, {"tensorflow-datasets": False, "tfds-nightly": True})
  assert result.ok
  assert result.detail == (
      "tensorflow-datasets 4.9.3, tfds-nightly 4.9.2.dev202308090034 (the "
      "pair wt5 declares; the module's files are one of them, unmixed)")
  mixed = stage1.check_tfds_distributions(
      pair, {"tensorflow-datasets": False, "tfds-nightly": False})
  assert (mixed.ok, mixed.fix) == (False, REINSTALL_TFDS)
  assert mixed.detail == (
      "tensorflow-datasets 4.9.3, tfds-nightly 4.9.2.dev202308090034 share "
      "the tensorflow_datasets module and its files are a mix of both")


def test_tfds_two_different_lines_is_the_attribute_error_trap():
  result = stage1.check_tfds_distributions(
      [("tensorflow-datasets", "4.9.10"), NIGHTLY])
  assert not result.ok
  assert result.detail == (
      "tensorflow-datasets 4.9.10, tfds-nightly 4.9.2.dev202308090034 all "
      "write the same tensorflow_datasets module, which is then a mix of "
      "different versions (\"module 'tensorflow_datasets' has no attribute "
      "'core'\", builders \"not found\")")
  assert result.fix == REINSTALL_TFDS


def test_tfds_missing_or_wrong_nightly():
  assert stage1.check_tfds_distributions([]) == stage1.Result(
      "TFDS distributions", False,
      "no distribution provides the tensorflow_datasets module",
      "pip install tfds-nightly==4.9.2.dev202308090034")
  result = stage1.check_tfds_distributions([("tfds-nightly", "4.9.9.dev2025")])
  assert (result.ok, result.fix) == (
      False, "pip install --force-reinstall --no-deps "
      "tfds-nightly==4.9.2.dev202308090034")


class FakeDist:
  """What distributions_of reads from an importlib.metadata Distribution."""

  def __init__(self, name, version, top_level=None, files=()):
    self.metadata = {"Name": name}
    self.version = version
    self._top_level = top_level
    self.files = list(files)

  def read_text(self, filename):
    return self._top_level if filename == "top_level.txt" else None


def test_distributions_of_reads_top_level_and_files():
  dists = [FakeDist("tfds-nightly", "4.9.2", "tensorflow_datasets\n"),
           FakeDist("tensorflow-datasets", "4.9.10", None,
                    ["tensorflow_datasets/__init__.py"]),
           FakeDist("numpy", "1.24.3", "numpy\n")]
  assert stage1.distributions_of("tensorflow_datasets", dists) == [
      ("tensorflow-datasets", "4.9.10"), ("tfds-nightly", "4.9.2")]


def test_pins_name_the_version_and_the_fix():
  assert all(r.ok for r in stage1.check_pins(GOOD))
  results = stage1.check_pins(dict(GOOD, tensorflow="2.15.0", pandas="3.0.1",
                                   spacy=None))
  bad = [(r.detail, r.fix) for r in results if not r.ok]
  assert bad == [
      ("tensorflow 2.15.0 is not >=2.12.0,<2.13 (mesh-tensorflow 0.1.21 needs "
       "TensorFlow 2.12)", 'pip install "tensorflow==2.12.1"'),
      ("pandas 3.0.1 is not <3 (pandas 3 makes TFDS skip its text builders "
       "(esnli, cos_e, ...))", 'pip install "pandas<3"'),
      ("spacy is not installed (the extractive metrics' tokenizer)",
       'pip install "spacy==3.7.5"'),
  ]
  t5 = stage1.check_pins(dict(GOOD, t5="0.9.3", **{"mesh-tensorflow": "0.1.19"}))
  assert [r.fix for r in t5 if not r.ok] == [
      'pip install "mesh-tensorflow==0.1.21"', 'pip install "t5==0.9.4"']


def test_protobuf_against_tensorflow_metadata():
  fix = "pip install protobuf==3.20.3 tensorflow-metadata==1.14.0"
  assert stage1.check_protobuf("3.20.3", "1.14.0").ok
  new_metadata = stage1.check_protobuf("4.25.9", "1.21.0")
  assert (new_metadata.ok, new_metadata.fix) == (False, fix)
  assert new_metadata.detail == (
      "tensorflow-metadata 1.21.0 imports google.protobuf.runtime_version "
      "(protobuf 5), which TensorFlow 2.12 cannot use; 1.14.0 is the one that "
      "works (protobuf 4.25.9, tensorflow-metadata 1.21.0)")
  new_protobuf = stage1.check_protobuf("4.25.9", "1.14.0")
  assert new_protobuf.detail == (
      "protobuf 4.25.9 is outside >=3.20.3,<4.21, which tensorflow-metadata "
      "1.14.0 needs (protobuf 4.25.9, tensorflow-metadata 1.14.0)")
  assert stage1.check_protobuf(None, "1.14.0").detail == (
      "protobuf missing, tensorflow-metadata 1.14.0: both are needed")


def test_pkg_resources_and_torch():
  assert stage1.check_pkg_resources(True).ok
  missing = stage1.check_pkg_resources(False)
  assert missing.fix == 'pip install "setuptools<80"'
  assert missing.detail.startswith("pkg_resources is missing (setuptools 80")
  assert stage1.check_torch("2.13.0+cpu").detail == "torch 2.13.0+cpu"
  no_torch = stage1.check_torch(None)
  assert no_torch.fix == (
      'pip install torch==2.13.0 "setuptools<80" --extra-index-url '
      'https://download.pytorch.org/whl/cpu')


def test_text_builders_missing_is_the_pandas_3_trap():
  result = stage2.check_builders({"ok": True, "value": ["cos_e", "glue"]})
  assert (result.ok, result.fix) == (False, 'pip install "pandas<3"')
  assert result.detail == (
      "TFDS does not register esnli, movie_rationales, eraser_multi_rc, "
      "imdb_reviews, amazon_us_reviews: its text builders failed to import "
      "(with pandas 3 TFDS skips them silently)")
  assert stage2.check_builders(
      {"ok": True, "value": list(stage2.TEXT_BUILDERS)}).ok
  crashed = stage2.check_builders(
      {"ok": False, "error": "AttributeError: module 'tensorflow_datasets' "
       "has no attribute 'core'"})
  assert crashed.fix == REINSTALL_TFDS


def test_t5_models_import_failures_get_their_fix():
  torch = stage2.check_t5_models(
      {"ok": False, "error": "ModuleNotFoundError: No module named 'torch'"})
  assert torch.fix == (
      'pip install torch==2.13.0 "setuptools<80" --extra-index-url '
      'https://download.pytorch.org/whl/cpu')
  pkg = stage2.check_t5_models(
      {"ok": False, "error": "ModuleNotFoundError: No module named 'pkg_resources'"})
  assert pkg.fix == 'pip install "setuptools<80"'


def test_vocabulary_names_path_and_setting():
  env = {"WT5_VOCAB_MODEL": "/nowhere/v.model"}
  bad = stage2.check_vocabulary(
      {"ok": False, "error": "NotFoundError: /nowhere/v.model; No such file"}, env)
  assert bad.detail == ("cannot read /nowhere/v.model (WT5_VOCAB_MODEL): "
                        "NotFoundError: /nowhere/v.model; No such file")
  assert bad.fix.startswith("export WT5_VOCAB_MODEL=/path/to/sentencepiece.model")
  good = stage2.check_vocabulary({"ok": True, "value": ["gs://x", 32000]}, {})
  assert good.detail == ("gs://t5-data/vocabs/cc_all.32000/sentencepiece.model "
                         "(the default; WT5_VOCAB_MODEL is not set): 32000 pieces")


def _prepare(data_dir, name, version):
  folder = os.path.join(data_dir, *name.split("/"), version)
  os.makedirs(folder)
  with open(os.path.join(folder, "dataset_info.json"), "w") as f:
    f.write("{}")


def test_data_dir_lists_present_and_wrong_versions(tmp_path):
  data_dir = str(tmp_path)
  _prepare(data_dir, "esnli", "0.1.0")
  _prepare(data_dir, "glue/mnli", "2.0.0")
  os.makedirs(os.path.join(data_dir, "cos_e", "0.0.1"))  # not prepared
  sources = ["esnli:0.1.0", "glue/mnli:1.0.0", "cos_e:0.0.1"]
  lines = [doctor.format_result(r) for r in stage2.check_data_dir(data_dir, sources)]
  assert lines == [
      "  OK       data esnli:0.1.0: present",
      "  PROBLEM  data glue/mnli:1.0.0: only version(s) 2.0.0 in %s\n"
      "           fix: tfds build glue/mnli --data_dir=%s" % (data_dir, data_dir),
      "  SKIPPED  data not in %s: cos_e:0.0.1" % data_dir,
  ]
  assert stage2.group_names(["a/x:1", "a/y:1", "a/z:1", "a/w:1", "b:2"]) == (
      "a/* (4 configurations), b:2")
  # A name without configuration is found under the default configuration.
  _prepare(data_dir, "imdb_reviews/plain_text", "1.0.0")
  assert stage2.dataset_versions(data_dir, "imdb_reviews") == ["1.0.0"]
  assert stage2.dataset_versions(data_dir, "glue/mnli") == ["2.0.0"]
  empty = stage2.check_data_dir(str(tmp_path / "none"), sources)
  assert [(r.detail, r.fix) for r in empty] == [
      ("%s is not a directory" % (tmp_path / "none"),
       "wt5 data --data_dir %s --vocab" % (tmp_path / "none"))]


def test_import_checks_are_skipped_after_a_metadata_problem():
  def probe():
    raise AssertionError("the stack must not be imported")
  results = stage2.import_checks(False, None, {}, probe)
  assert [doctor.format_result(r) for r in results] == [
      "  SKIPPED  TFDS text builders: not tried: fix the problems above first",
      "  SKIPPED  import t5.models: not tried: fix the problems above first",
      "  SKIPPED  vocabulary: not tried: fix the problems above first"]


def test_run_reports_and_exits_1_on_a_problem(monkeypatch, capsys):
  monkeypatch.setattr(doctor, "metadata_checks", lambda: [
      stage1.check_tfds_distributions([("tensorflow-datasets", "4.9.10"), NIGHTLY]),
      stage1.check_pkg_resources(True)])
  assert doctor.run(argparse.Namespace(data_dir=None)) == 1
  out = capsys.readouterr().out.splitlines()
  assert out[1].startswith("  PROBLEM  TFDS distributions: tensorflow-datasets 4.9.10")
  assert out[2] == "           fix: " + REINSTALL_TFDS
  assert out[3] == "  OK       pkg_resources: importable"
  assert out[4].startswith("  SKIPPED  TFDS text builders")
  assert out[-1] == "1 problem(s) found."
