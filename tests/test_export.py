"""`wt5 export` writes exactly the seqio examples; the reader needs no TensorFlow."""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
import seqio

import demo_registry as demo_registry_lib
import no_tensorflow
from wt5 import cli
from wt5.export import export_command as export
from wt5 import vocab
from wt5.formats import export as export_data
from wt5.pytorch import decoding

SOURCES = ["esnli", "glue/mnli", "glue/mnli_matched", "glue/mnli_mismatched"]
SIZES = demo_registry_lib.split_sizes({  # (train, validation, test)
    "esnli": (120, 12, 2), "glue/mnli": (40, 2, 2),
    "glue/mnli_matched": (0, 7, 2), "glue/mnli_mismatched": (0, 5, 2)})
LENGTHS = {"inputs": 24, "targets": 12}  # short enough that some examples are trimmed
MIXTURE = "esnli_mnli_all_explanations"


@pytest.fixture(scope="module")
def registry(demo_registry):
  """Demo data of e-SNLI and MNLI; tasks registered on the session vocabulary."""
  with demo_registry("wt5_export", sizes=SIZES, sources=SOURCES) as reg:
    yield reg.root, reg.data_dir, reg.vocabulary


def as_record_fields(ex):
  return ([int(i) for i in ex["inputs"]], [int(i) for i in ex["targets"]],
          ex["inputs_pretokenized"].decode("utf-8"),
          ex["targets_pretokenized"].decode("utf-8"))


def record_fields(record):
  return (record["inputs"], record["targets"], record["inputs_pretokenized"],
          record["targets_pretokenized"])


def test_mixture_train_split_is_seqios_sampled_stream(registry):
  root, data_dir, _ = registry
  out = str(root / "mixed")
  manifest = export.export(MIXTURE, "train", out, LENGTHS, num_examples=150,
                           seed=3, data_dir=data_dir)
  records = export_data.read_split(out, "train")
  expected = seqio.get_mixture_or_task(MIXTURE).get_dataset(
      LENGTHS, split="train", shuffle=True, seed=3, copy_pretokenized=True)
  expected = [as_record_fields(ex)
              for ex in expected.take(150).as_numpy_iterator()]
  assert [record_fields(r) for r in records] == expected
  # Each example names the task it came from.
  for name in ("esnli_v010", "mnli_v002"):
    task_inputs = {ex["inputs_pretokenized"].decode("utf-8") for ex in
                   seqio.get_mixture_or_task(name).get_dataset(
                       LENGTHS, split="train", shuffle=False,
                       num_epochs=1).as_numpy_iterator()}
    mine = [r for r in records if r["task"] == name]
    assert mine and all(r["inputs_pretokenized"] in task_inputs for r in mine)
  assert manifest["splits"]["train"] == {
      "kind": "mixture", "seed": 3, "count": 150,
      "files": {"*": "train.jsonl.gz"},
      "counts": {"esnli_v010": sum(r["task"] == "esnli_v010" for r in records),
                 "mnli_v002": sum(r["task"] == "mnli_v002" for r in records)}}
  # EOS appended after trimming to the sequence lengths.
  assert all(r["inputs"][-1] == 1 and r["targets"][-1] == 1 for r in records)
  assert max(len(r["inputs"]) for r in records) == 24
  assert max(len(r["targets"]) for r in records) == 12


def test_eval_split_is_each_tasks_dataset_in_order(registry):
  root, data_dir, test_vocab = registry
  out = str(root / "eval")
  manifest = export.export(MIXTURE, "validation", out, LENGTHS,
                           data_dir=data_dir, compress=False)
  assert manifest["splits"]["validation"] == {
      "kind": "per_task", "count": 24,
      "files": {"esnli_v010": "validation/esnli_v010.jsonl",
                "mnli_explain_eval_matched_v002":
                    "validation/mnli_explain_eval_matched_v002.jsonl",
                "mnli_explain_eval_mismatched_v002":
                    "validation/mnli_explain_eval_mismatched_v002.jsonl"},
      "counts": {"esnli_v010": 12, "mnli_explain_eval_matched_v002": 7,
                 "mnli_explain_eval_mismatched_v002": 5}}
  assert manifest["vocabulary"] == {
      "path": test_vocab.sentencepiece_model_file, "extra_ids": 0,
      "size": test_vocab.vocab_size, "pad_id": 0, "eos_id": 1}
  assert manifest["sequence_length"] == LENGTHS
  assert manifest["tasks"]["esnli_v010"] == {
      "rate": 120.0, "postprocessor":
          "wt5.postprocessors.abstractive_explanations",
      "metrics": ["wt5.metrics.esnli_metric"]}
  assert manifest["tasks"]["mnli_v002"]["rate"] == 40.0
  for name in manifest["splits"]["validation"]["files"]:
    task = seqio.get_mixture_or_task(name)
    expected = list(task.get_dataset(LENGTHS, split="validation",
                                     shuffle=False).as_numpy_iterator())
    records = export_data.read_split(out, "validation", name)
    assert [record_fields(r) for r in records] == [
        as_record_fields(ex) for ex in expected]
    assert {r["task"] for r in records} == {name}
    # The `<task>_targets` line of t5_mesh_transformer's write_lines_to_file.
    assert [r["target_line"] for r in records] == [
        str(task.postprocess_fn(ex["targets_pretokenized"].decode("utf-8"),
                                example=ex, is_target=True)).replace("\n", " ")
        for ex in expected]


def test_decoding_without_seqio_equals_seqio(registry):
  _, _, test_vocab = registry
  processor = decoding.sentencepiece_processor(
      test_vocab.sentencepiece_model_file)
  rng = np.random.RandomState(0)
  for _ in range(200):
    ids = [int(i) for i in rng.randint(0, test_vocab.vocab_size + 5,
                                       size=rng.randint(0, 12))]
    if rng.rand() < 0.5:
      ids.insert(rng.randint(0, len(ids) + 1), 1)
    assert decoding.decode_ids(processor, ids) == test_vocab.decode(ids)


def test_export_command_line_and_errors(registry, capsys):
  root, data_dir, _ = registry
  out = str(root / "cli")
  assert cli.main(["export", "esnli_v010", "--split", "validation",
                   "--output_dir", out, "--sequence_length", "24,12",
                   "--data_dir", data_dir, "--num_examples", "4"]) == 0
  printed = capsys.readouterr().out
  assert "esnli_v010                                       4\n" in printed
  with gzip.open(os.path.join(out, "validation", "esnli_v010.jsonl.gz"),
                 "rt", encoding="utf-8") as f:
    assert len(f.read().splitlines()) == 4
  # A training (mixed) export needs a count; another name may not share a dir.
  assert cli.main(["export", "esnli_v010", "--output_dir", out,
                   "--sequence_length", "24,12"]) == 2
  assert "needs num_examples" in capsys.readouterr().err
  assert cli.main(["export", "esnli_v010_0_expln", "--split", "validation",
                   "--output_dir", out, "--sequence_length", "24,12"]) == 2
  assert ("holds an export with name 'esnli_v010', not 'esnli_v010_0_expln'" in
          capsys.readouterr().err)
  with pytest.raises(SystemExit):
    cli.main(["export", "esnli_v010", "--output_dir", out,
              "--sequence_length", "24"])


def test_reader_errors_name_the_place(tmp_path):
  with pytest.raises(export_data.ExportError, match="no manifest.json"):
    export_data.read_manifest(str(tmp_path))
  bad = tmp_path / "x.jsonl"
  bad.write_text('{"task": "t", "inputs": [5, -1], "targets": [1], '
                 '"inputs_pretokenized": "a", "targets_pretokenized": ""}\n')
  with pytest.raises(export_data.ExportError,
                     match=r"x.jsonl:1: 'inputs' must be a list of token ids"):
    list(export_data.iter_examples(str(bad)))
  with pytest.raises(export_data.ExportError, match="Vocabulary mismatch: m "
                     "has an embedding of 100 rows but the export's "
                     "vocabulary v has 600 ids"):
    export_data.check_embedding(600, 100, "m", "v")
  assert export_data.check_embedding(32100, 32128) == (
      "the model's embedding has 32128 rows for a vocabulary of 32100 ids; "
      "the extra rows are never produced by the vocabulary")


def test_reader_imports_without_tensorflow(registry):
  root, data_dir, _ = registry
  out = str(root / "mixed")
  if not os.path.exists(os.path.join(out, "manifest.json")):
    export.export(MIXTURE, "train", out, LENGTHS, num_examples=150, seed=3,
                  data_dir=data_dir)
  code = no_tensorflow.PRELUDE + (
      "from wt5.formats import export as data\n"
      "records = data.read_split(%r, 'train')\n"
      "print(len(records), records[0]['task'])\n"
      "assert not [m for m in %r if sys.modules.get(m) is not None]\n" % (
          out, no_tensorflow.BLOCKED))
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False, timeout=120)
  assert result.returncode == 0, result.stderr
  first = export_data.read_split(out, "train")[0]["task"]
  assert result.stdout == "150 %s\n" % first


def test_eval_files_are_written_as_mesh_tensorflow_writes_them(tmp_path):
  from mesh_tensorflow.transformer import utils as mtf_utils
  from wt5.formats import eval_files
  values = [{"label": "neutral", "explanations": ["Line\none", "café 'q'"]},
            b"explain nli hypothesis: caf\xc3\xa9\nnext", "plain text", 3,
            {"label": "positive", "overlap_spans": [(0, 4)],
             "span_array": [1, 0], "explanations": []}]
  mine, theirs = str(tmp_path / "mine"), str(tmp_path / "theirs")
  eval_files.write_values(values, mine)
  mtf_utils.write_lines_to_file(values, theirs)
  with open(mine, "rb") as a, open(theirs, "rb") as b:
    assert a.read() == b.read()
