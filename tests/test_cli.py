"""The `wt5` command line on bad input: exit status 2 and a message naming it.

Argument errors (argparse) name the subcommand; the errors of `wt5 evaluate`
name the directory, step, task, file or vocabulary that is wrong; those of
`wt5 data amazon` the file. A missing or unknown subcommand, an unknown flag
of every subcommand, the export reader, and the Amazon TSV cases of a real
release (header-only files, CRLF line endings, bad flags, two files of one
configuration, converting again over a dataset) are here, and the OpenMP
settings `wt5` adds before a subcommand's module loads torch.
"""

import gzip
import json
import os
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

from wt5 import cli
from wt5.export import export_command as export
from wt5.formats import export as export_data
from wt5.pytorch import model as model_lib

import test_amazon_tsv

TASK = "esnli_v010"
LENGTHS = {"inputs": 32, "targets": 16}
# Each subcommand's required arguments, so that an unknown flag is the only
# error left (the ones not listed have none).
REQUIRED_ARGS = {
    "convert": ["model", "--output_dir", "out"],
    "evaluate": ["--model_dir", "m", "--export", "e"],
    "export": [TASK, "--output_dir", "out"],
    "faithfulness": ["--model_dir", "m", "--export", "e"],
    "lengths": ["my_nli", "--module_import", "tasks_module"],
    "report": ["eval_dir"],
    "score": ["eval_dir"],
    "simulatability": ["--model_dir", "m", "--export", "e", "--simulator",
                       "tiny", "--steps", "1"],
    "train": ["--export", "e", "--model_dir", "m"],
}


def main_exit(argv, capsys):
  """(exit status, stderr) of `wt5 ARGV` run in this process."""
  try:
    status = cli.main(argv)
  except SystemExit as e:
    status = e.code
  return status, capsys.readouterr().err


def test_no_subcommand(capsys):
  assert main_exit([], capsys) == (2, (
      "usage: wt5 [-h] COMMAND ...\n"
      "wt5: error: the following arguments are required: COMMAND\n"))


def test_unknown_subcommand(capsys):
  status, err = main_exit(["frobnicate"], capsys)
  assert status == 2
  choices = ", ".join(repr(name) for name in cli._SUBCOMMANDS)
  assert err == ("usage: wt5 [-h] COMMAND ...\n"
                 "wt5: error: argument COMMAND: invalid choice: 'frobnicate' "
                 "(choose from %s)\n" % choices)


def test_the_console_script_exits_2():
  wt5 = os.path.join(os.path.dirname(sys.executable), "wt5")
  result = subprocess.run([wt5, "frobnicate"], capture_output=True, text=True,
                          timeout=60, check=False)
  assert result.returncode == 2
  assert "invalid choice: 'frobnicate'" in result.stderr


def test_openmp_defaults():
  assert cli.openmp_defaults({}) == {"GOMP_SPINCOUNT": "1000"}
  assert cli.openmp_defaults({"PATH": "/bin"}) == {"GOMP_SPINCOUNT": "1000"}
  assert cli.openmp_defaults({"OMP_WAIT_POLICY": "PASSIVE"}) == {}
  assert cli.openmp_defaults({"GOMP_SPINCOUNT": "5"}) == {}


# Records, when `wt5` imports the train command's module, GOMP_SPINCOUNT and
# whether torch (whose OpenMP reads it once, on loading) is loaded yet.
_SPY = """
import importlib, os, sys
from wt5 import cli
real = importlib.import_module
def spy(name, *args):
  if name == "wt5.pytorch.train_command":
    print("IMPORT", os.environ.get("GOMP_SPINCOUNT"), "torch" in sys.modules)
  return real(name, *args)
importlib.import_module = spy
try:
  cli.main(["train", "--help"])
except SystemExit:
  pass
"""


@pytest.mark.parametrize("policy", [None, "PASSIVE"])
def test_openmp_settings_are_made_before_torch_loads(policy):
  env = {k: v for k, v in os.environ.items()
         if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
  if policy:
    env["OMP_WAIT_POLICY"] = policy
  out = subprocess.run([sys.executable, "-c", _SPY], env=env, check=True,
                       capture_output=True, text=True).stdout
  lines = [l for l in out.splitlines() if l.startswith("IMPORT")]
  assert lines == ["IMPORT %s False" % (None if policy else "1000")]


@pytest.mark.parametrize("command", sorted(cli._SUBCOMMANDS))
def test_every_subcommand_names_itself_on_an_unknown_flag(command, capsys):
  argv = [command] + REQUIRED_ARGS.get(command, []) + ["--no-such-flag"]
  status, err = main_exit(argv, capsys)
  assert status == 2
  lines = err.splitlines()
  assert lines[0].startswith("usage: wt5 %s " % command)
  assert lines[-1] == (
      "wt5 %s: error: unrecognized arguments: --no-such-flag" % command)


def test_required_args_are_those_of_the_subcommands():
  assert set(REQUIRED_ARGS) < set(cli._SUBCOMMANDS)


def test_bad_option_values(capsys):
  status, err = main_exit(["evaluate", "--model_dir", "m", "--export", "e",
                           "--step", "ten"], capsys)
  assert status == 2
  assert err.splitlines()[-1] == (
      "wt5 evaluate: error: argument --step: invalid int value: 'ten'")
  status, err = main_exit(["train", "--export", "nowhere", "--model_dir", "m",
                           "--steps", "2"], capsys)
  assert (status, err) == (2, "wt5 train: nowhere: no manifest.json here; "
                           "write an export with `wt5 export`\n")


# ---------------------------------------------------------------------------
# `wt5 evaluate` and the export reader.


@pytest.fixture(scope="module")
def exported(demo_registry, tmp_path_factory):
  """An export of demo e-SNLI (train, validation) and a model directory."""
  with demo_registry("wt5_cli", sources=["esnli"], sizes={
      "esnli": {"train": 20, "validation": 6, "test": 2}}) as reg:
    export_dir = str(reg.root / "export")
    export.export(TASK, "train", export_dir, LENGTHS, num_examples=20,
                  data_dir=reg.data_dir)
    export.export(TASK, "validation", export_dir, LENGTHS,
                  data_dir=reg.data_dir)
    manifest = export_data.read_manifest(export_dir)
    model_dir = tmp_path_factory.mktemp("wt5_cli_model")
    model = model_lib.load_model("tiny", manifest["vocabulary"]["size"])[0]
    model.save_pretrained(str(model_dir / "checkpoint-2"))
    yield export_dir, str(model_dir)


def evaluate(capsys, *args):
  return main_exit(["evaluate"] + list(args), capsys)


def test_evaluate_step_and_task_that_match_nothing(exported, capsys):
  export_dir, model_dir = exported
  assert evaluate(capsys, "--model_dir", model_dir, "--export", export_dir,
                  "--step", "7") == (2, (
                      "wt5 evaluate: %s has no checkpoint-7; it has steps "
                      "[2]\n" % model_dir))
  assert evaluate(capsys, "--model_dir", model_dir, "--export", export_dir,
                  "--task", "nope_v1") == (2, (
                      "wt5 evaluate: %s: no validation examples with metrics "
                      "for nope_v1; tasks: esnli_v010\n" % export_dir))
  assert evaluate(capsys, "--model_dir", model_dir, "--export", export_dir,
                  "--split", "test") == (2, (
                      "wt5 evaluate: %s: split 'test' was not exported; "
                      "exported: train, validation\n" % export_dir))
  assert evaluate(capsys, "--model_dir", model_dir, "--export", export_dir,
                  "--split", "train") == (2, (
                      "wt5 evaluate: %s: split 'train' was exported as a "
                      "sampled mixture; export evaluation splits per task "
                      "(`wt5 export NAME --split train`)\n" % export_dir))


def test_evaluate_without_checkpoints(exported, tmp_path, capsys):
  export_dir, _ = exported
  empty = str(tmp_path / "never_trained")
  assert evaluate(capsys, "--model_dir", empty, "--export", export_dir) == (
      2, "wt5 evaluate: %s: no checkpoint-<step> directories; train with "
      "`wt5 train --model_dir %s`\n" % (empty, empty))
  os.makedirs(os.path.join(empty, "checkpoint-5"))  # No config.json in it.
  assert evaluate(capsys, "--model_dir", empty, "--export", export_dir) == (
      2, "wt5 evaluate: %s: no checkpoint-<step> directories; train with "
      "`wt5 train --model_dir %s`\n" % (empty, empty))


def test_evaluate_with_an_unreadable_vocabulary(exported, tmp_path, capsys):
  export_dir, model_dir = exported
  bad = tmp_path / "spm.model"
  bad.write_bytes(b"not a sentencepiece model")
  status, err = evaluate(capsys, "--model_dir", model_dir, "--export",
                         export_dir, "--vocab_model", str(bad))
  assert status == 2
  assert err.startswith("wt5 evaluate: cannot read the vocabulary %s: " % bad)
  assert err.endswith(" (pass --vocab_model)\n")
  missing = str(tmp_path / "nowhere.model")
  status, err = evaluate(capsys, "--model_dir", model_dir, "--export",
                         export_dir, "--vocab_model", missing)
  assert status == 2
  assert err.startswith("wt5 evaluate: cannot read the vocabulary %s: "
                        % missing)


def test_decoded_file_with_the_wrong_number_of_lines(exported, tmp_path,
                                                     capsys):
  export_dir, _ = exported
  eval_dir = tmp_path / "m" / "validation_eval"
  eval_dir.mkdir(parents=True)
  (eval_dir / (TASK + "_2_decoded")).write_text(
      json.dumps("neutral explanation: x") + "\n", encoding="utf-8")
  assert evaluate(capsys, "--model_dir", str(tmp_path / "m"), "--export",
                  export_dir, "--from_decoded") == (
                      2, "wt5 evaluate: %s_2_decoded has 1 lines for 6 "
                      "examples\n" % TASK)
  assert sorted(os.listdir(eval_dir)) == [TASK + "_2_decoded"]


def test_the_export_reader_names_file_and_line(exported, tmp_path):
  export_dir, _ = exported
  with pytest.raises(export_data.ExportError) as e:
    export_data.read_manifest(str(tmp_path))
  assert str(e.value) == ("%s: no manifest.json here; write an export with "
                          "`wt5 export`" % tmp_path)
  (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
  with pytest.raises(export_data.ExportError,
                     match=r"manifest.json: cannot read the manifest: "):
    export_data.read_manifest(str(tmp_path))
  (tmp_path / "manifest.json").write_text('{"format": "other"}')
  with pytest.raises(export_data.ExportError) as e:
    export_data.read_manifest(str(tmp_path))
  assert str(e.value).endswith("manifest.json: not a %s manifest (format "
                               "'other')" % export_data.FORMAT)

  manifest = export_data.read_manifest(export_dir)
  with pytest.raises(export_data.ExportError) as e:
    export_data.split_file(export_dir, manifest, "validation", "mnli_v002")
  assert str(e.value) == ("%s: split 'validation' has no file for task "
                          "'mnli_v002'; it has: esnli_v010" % export_dir)
  with pytest.raises(export_data.ExportError) as e:
    export_data.split_file(export_dir, manifest, "validation")
  assert str(e.value) == ("%s: split 'validation' was exported per task "
                          "(esnli_v010); name one task" % export_dir)

  bad = tmp_path / "bad.jsonl.gz"
  good = ('{"task": "t", "inputs": [5, 1], "targets": [1], '
          '"inputs_pretokenized": "a", "targets_pretokenized": ""}')
  for text, message in [
      (good + "\n{oops\n", "bad.jsonl.gz:2: not a JSON object: "),
      (good + "\n\n[1, 2]\n", "bad.jsonl.gz:3: expected a JSON object, got "
       "list"),
      ('{"task": "t", "inputs": [1]}\n', "bad.jsonl.gz:1: the example has no "
       "targets, inputs_pretokenized, targets_pretokenized"),
      (good.replace("[1]", "[1.5]") + "\n", "bad.jsonl.gz:1: 'targets' must "
       "be a list of token ids (ints >= 0)")]:
    with gzip.open(bad, "wt", encoding="utf-8") as f:
      f.write(text)
    with pytest.raises(export_data.ExportError) as e:
      list(export_data.iter_examples(str(bad)))
    assert str(e.value).startswith(str(bad)[:-len("bad.jsonl.gz")] + message)
  with pytest.raises(export_data.ExportError) as e:
    list(export_data.iter_examples(str(tmp_path / "gone.jsonl.gz")))
  assert str(e.value) == "%s: missing export file" % (tmp_path / "gone.jsonl.gz")


# ---------------------------------------------------------------------------
# `wt5 data amazon` on files as a release or a user may have them.

HEADER = test_amazon_tsv.HEADER
review = test_amazon_tsv.review


def write_tsv(path, rows, newline="\n", header=HEADER):
  lines = ([header] if header is not None else []) + ["\t".join(r) for r in rows]
  data = "".join(line + newline for line in lines).encode("utf-8")
  if str(path).endswith(".gz"):
    with gzip.open(path, "wb") as f:
      f.write(data)
  else:
    path.write_bytes(data)
  return str(path)


def amazon(capsys, data_dir, *files):
  status, err = main_exit(["data", "amazon", "--tsv"] + list(files) +
                          ["--data_dir", str(data_dir)], capsys)
  return status, err


def rows_of(data_dir, config):
  ds = tfds.load("amazon_us_reviews/%s:0.1.0" % config, split="train",
                 data_dir=str(data_dir), shuffle_files=False)
  return sorted(ex["data"]["review_id"].decode() for ex in tfds.as_numpy(ds))


def test_amazon_header_only_file(tmp_path, capsys):
  path = write_tsv(tmp_path / "amazon_reviews_us_Books_v1_00.tsv", [])
  assert amazon(capsys, tmp_path / "d", path) == (2, (
      "wt5 data amazon: %s: no review row to write for Books_v1_00 (read 0, "
      "written 0, skipped 0)\n" % path))
  assert not os.path.exists(tmp_path / "d" / "amazon_us_reviews" /
                            "Books_v1_00" / "0.1.0")


def test_amazon_crlf_line_endings_throughout(tmp_path, capsys):
  rows = [review(i, i % 5 + 1) for i in range(5)]
  crlf = write_tsv(tmp_path / "amazon_reviews_us_Books_v1_00.tsv.gz", rows,
                   newline="\r\n")
  assert amazon(capsys, tmp_path / "d", crlf)[0] == 0
  ds = tfds.load("amazon_us_reviews/Books_v1_00:0.1.0", split="train",
                 data_dir=str(tmp_path / "d"), shuffle_files=False)
  got = sorted((ex["data"]["review_id"].decode(),
                ex["data"]["review_date"].decode(),
                ex["data"]["review_body"].decode()) for ex in tfds.as_numpy(ds))
  assert got == sorted((r[2], r[14], r[13]) for r in rows)  # No "\r" kept.


def test_amazon_bad_vine_and_verified_purchase(tmp_path, capsys):
  rows = [review(i, 5) for i in range(4)]
  rows[1][10] = "y"
  rows[2][11] = ""
  rows[3][10] = "Yes"
  path = write_tsv(tmp_path / "amazon_reviews_us_Books_v1_00.tsv", rows)
  assert amazon(capsys, tmp_path / "d", path) == (0, (
      "%s:3: skipped, vine/verified_purchase not Y or N: vine='y'\n"
      "%s:4: skipped, vine/verified_purchase not Y or N: verified_purchase=''\n"
      "%s:5: skipped, vine/verified_purchase not Y or N: vine='Yes'\n" % (
          path, path, path)))
  assert rows_of(tmp_path / "d", "Books_v1_00") == [rows[0][2]]
  only_bad = write_tsv(tmp_path / "amazon_reviews_us_Books_v1_01.tsv",
                       rows[1:2])
  status, err = amazon(capsys, tmp_path / "d", only_bad)
  assert (status, err.splitlines()[-1]) == (2, (
      "wt5 data amazon: %s: no review row to write for Books_v1_01 (read 1, "
      "written 0, skipped 1 (vine/verified_purchase not Y or N: 1))" % only_bad))


def test_amazon_two_files_for_one_configuration(tmp_path, capsys):
  rows = [review(i, 5) for i in range(2)]
  first = write_tsv(tmp_path / "amazon_reviews_us_Books_v1_00.tsv", rows)
  (tmp_path / "more").mkdir()
  second = write_tsv(tmp_path / "more" / "amazon_reviews_us_Books_v1_00.tsv.gz",
                     rows)
  assert amazon(capsys, tmp_path / "d", first, second) == (2, (
      "wt5 data amazon: %s, %s: all hold the configuration Books_v1_00; give "
      "one file per configuration\n" % (first, second)))
  assert not os.path.exists(tmp_path / "d")


def test_amazon_converting_again_replaces_the_dataset(tmp_path, capsys):
  path = tmp_path / "amazon_reviews_us_Books_v1_00.tsv"
  first = [review(i, 5) for i in range(3)]
  assert amazon(capsys, tmp_path / "d", write_tsv(path, first))[0] == 0
  other = tmp_path / "amazon_reviews_us_Books_v1_02.tsv"
  assert amazon(capsys, tmp_path / "d", write_tsv(other, first[:1]))[0] == 0
  second = [review(10 + i, 4) for i in range(2)]
  assert amazon(capsys, tmp_path / "d", write_tsv(path, second))[0] == 0
  assert rows_of(tmp_path / "d", "Books_v1_00") == sorted(r[2] for r in second)
  assert rows_of(tmp_path / "d", "Books_v1_02") == [first[0][2]]
  # Something that is not a prepared dataset is never replaced.
  target = tmp_path / "d" / "amazon_us_reviews" / "Books_v1_00" / "0.1.0"
  os.remove(target / "dataset_info.json")
  assert amazon(capsys, tmp_path / "d", str(path)) == (2, (
      "wt5 data amazon: %s exists but is not a prepared TFDS dataset; not "
      "replacing it\n" % target))
