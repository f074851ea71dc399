"""Custom WT5 tasks (`wt5.custom`) against the registered 2020 tasks.

A copy of the demo e-SNLI data in JSON Lines (and in CSV, and read from TFDS)
registered with `add_abstractive_task` must give, example for example, the
inputs and targets strings and token ids of `esnli_v010` and its labels-only,
take/skip and eval tasks; a CSV copy of the demo movie rationales registered
with `add_extractive_task` those of `movie_rationales_v010`. Bad rows raise
errors that name the file, the line and the problem (or are skipped and
counted). End to end, a custom mixture trains and evaluates with the stock
`t5_mesh_transformer --module_import=custom_tasks_module`, exports and trains
with `wt5 train`, and `wt5 score` / `wt5 report` read its eval files.
"""

import csv
import gzip
import importlib
import io
import json
import logging
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import seqio
import tensorflow as tf
import tensorflow_datasets as tfds

from wt5 import cli
from wt5 import custom
from wt5 import tasks
from wt5 import vocab
from wt5.custom import lengths as lengths_lib
from wt5.custom import registration
from wt5.datasets import demo_data as demo_data
from wt5.mtf import binary as mtf_binary
from wt5.formats import eval_files

SIZES = {"esnli": {"train": 150, "validation": 10, "test": 10},
         "movie_rationales": {"train": 130, "validation": 10, "test": 10}}
LONG = {"inputs": 4096, "targets": 1024}
FEATURES = ("inputs_pretokenized", "targets_pretokenized", "inputs", "targets")
NLI = ("entailment", "neutral", "contradiction")
SENTIMENT = ("negative", "positive")
EXPLANATIONS = ("explanation_1", "explanation_2", "explanation_3")


def text(value):
  return value.decode("utf-8") if isinstance(value, bytes) else value


def tfds_rows(data_dir, name, split):
  return [{k: (text(v) if isinstance(v, bytes) else
               [text(e) for e in v] if hasattr(v, "tolist") and v.ndim else
               int(v)) for k, v in example.items()}
          for example in tfds.as_numpy(tfds.load(
              name, split=split, data_dir=data_dir, shuffle_files=False))]


def write_jsonl(path, rows):
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "wt", encoding="utf-8") as f:
    for row in rows:
      f.write(json.dumps(row) + "\n")


def write_csv(path, header, rows, delimiter=","):
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "wt", encoding="utf-8", newline="") as f:
    writer = csv.writer(f, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)


def nli_row(ex):
  """An e-SNLI example as a user's JSON Lines row: int label, a list."""
  return {"hypothesis": ex["hypothesis"], "premise": ex["premise"],
          "label": ex["label"],
          "explanations": [ex[k] for k in EXPLANATIONS]}


def review_cells(ex):
  """A movie example as CSV cells: label name, evidences as one JSON list."""
  return [ex["review"], SENTIMENT[ex["label"]], json.dumps(ex["evidences"])]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
  """Demo TFDS data, a vocabulary, user files copied from the data, and
  `custom_tasks_module` imported on them (WT5 tasks re-registered on the
  vocabulary)."""
  root = tmp_path_factory.mktemp("wt5_custom")
  data_dir = str(root / "tfds")
  demo_data.write_demo_data(data_dir, sizes=SIZES, sources=list(SIZES),
                            amazon_configs=[])
  model = demo_data.train_demo_vocabulary(data_dir, str(root / "spm" / "demo"),
                                          vocab_size=500)
  files = root / "files"
  files.mkdir()
  for split in ("train", "validation", "test"):
    esnli = tfds_rows(data_dir, "esnli:0.1.0", split)
    write_jsonl(str(files / ("nli_%s.jsonl" % split)), map(nli_row, esnli))
    write_csv(str(files / ("nli_%s.csv.gz" % split)),
              ["premise", "hypothesis", "gold"] + list(EXPLANATIONS),
              [[ex["premise"], ex["hypothesis"], NLI[ex["label"]]] +
               [ex[k] for k in EXPLANATIONS] for ex in esnli])
    movies = tfds_rows(data_dir, "movie_rationales:0.1.0", split)
    write_csv(str(files / ("reviews_%s.csv" % split)),
              ["review", "label", "evidences"], map(review_cells, movies))
    write_jsonl(str(files / ("reviews_%s.jsonl.gz" % split)), movies)
  saved = {k: os.environ.get(k) for k in (vocab.VOCAB_ENV,
                                          "WT5_CUSTOM_TEST_DATA")}
  os.environ[vocab.VOCAB_ENV] = model
  os.environ["WT5_CUSTOM_TEST_DATA"] = str(files)
  seqio.set_tfds_data_dir_override(data_dir)
  tasks.register_tasks(vocab.WT5Vocabulary(model))
  import custom_tasks_module
  importlib.reload(custom_tasks_module)
  yield {"root": root, "data_dir": data_dir, "model": model,
         "files": str(files)}
  for key, value in saved.items():
    if value is None:
      os.environ.pop(key, None)
    else:
      os.environ[key] = value
  seqio.set_tfds_data_dir_override(None)
  tasks.register_tasks()
  for name in list(registration.REGISTERED):
    registration.unregister(name)


def read(name, split, sequence_length=None):
  task = seqio.get_mixture_or_task(name)
  dataset = task.get_dataset(sequence_length or LONG, split=split,
                             shuffle=False, use_cached=False, num_epochs=1)
  return [{k: v.tolist() if k in ("inputs", "targets") else v
           for k, v in ex.items() if k in FEATURES}
          for ex in dataset.as_numpy_iterator()]


def assert_same_task(custom_name, registered_name, splits):
  mine = seqio.get_mixture_or_task(custom_name)
  theirs = seqio.get_mixture_or_task(registered_name)
  assert mine.postprocessor is theirs.postprocessor
  assert list(mine.metric_fns) == list(theirs.metric_fns)
  assert mine.output_features == theirs.output_features
  for split in splits:
    examples = read(custom_name, split)
    assert examples, (custom_name, split)
    assert examples == read(registered_name, split), (custom_name, split)


# ---------------------------------------------------------------------------
# Example for example.
# ---------------------------------------------------------------------------

ABSTRACTIVE_PAIRS = [
    ("custom_nli", "esnli_v010", ("train", "validation")),
    ("custom_nli_labels", "esnli_v010_0_expln", ("train",)),
    ("custom_nli_explanations_take100", "esnli_explanations_take100_v010",
     ("train",)),
    ("custom_nli_labels_skip100", "esnli_labels_skip100_v010", ("train",)),
    ("custom_nli_eval", "esnli_eval_v010", ("validation",)),
]
EXTRACTIVE_PAIRS = [
    ("custom_reviews", "movie_rationales_v010", ("train", "validation")),
    ("custom_reviews_labels", "movie_rationales_v010_no_expl", ("train",)),
    ("custom_reviews_explanations_take100",
     "movie_rationales_explanations_take100_v010", ("train",)),
    ("custom_reviews_labels_skip100", "movie_rationales_labels_skip100_v010",
     ("train",)),
    ("custom_reviews_eval", "movie_rationales_eval_v010", ("validation",)),
]


@pytest.mark.slow
@pytest.mark.parametrize("pair", ABSTRACTIVE_PAIRS + EXTRACTIVE_PAIRS,
                         ids=lambda p: p[0])
def test_custom_task_equals_the_registered_task(demo, pair):
  assert_same_task(*pair)


@pytest.mark.slow
def test_first_examples_are_the_2020_strings(demo):
  first = read("custom_nli", "train")[0]
  raw = tfds_rows(demo["data_dir"], "esnli:0.1.0", "train")[0]
  assert first["inputs_pretokenized"].decode() == (
      "explain nli hypothesis: %s premise: %s" % (raw["hypothesis"],
                                                  raw["premise"]))
  assert first["targets_pretokenized"].decode() == (
      "%s explanation: %s" % (NLI[raw["label"]], raw["explanation_1"]))
  review = read("custom_reviews", "train")[0]
  movie = tfds_rows(demo["data_dir"], "movie_rationales:0.1.0", "train")[0]
  assert review["inputs_pretokenized"].decode() == (
      "explain sentiment review: " + movie["review"])
  assert review["targets_pretokenized"].decode() == " explanation: ".join(
      [SENTIMENT[movie["label"]]] + movie["evidences"])


@pytest.mark.slow
def test_take_and_skip_partition_the_training_rows(demo):
  train = read("custom_nli", "train")
  take = read("custom_nli_explanations_take100", "train")
  skip = read("custom_nli_labels_skip100", "train")
  assert len(take) == 100 and len(skip) == 50
  assert take == train[:100]
  labels = read("custom_nli_labels", "train")
  assert skip == labels[100:]
  assert all(b" explanation: " not in ex["targets_pretokenized"] for ex in skip)
  assert all(ex["inputs_pretokenized"].startswith(b"nli hypothesis: ")
             for ex in skip)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["csv_gz_columns", "tfds"])
def test_other_abstractive_sources_give_the_same_examples(demo, variant):
  files = demo["files"]
  common = dict(input_fields=("hypothesis", "premise"), prefix="nli",
                explanation_field=EXPLANATIONS)
  if variant == "tfds":
    names = custom.add_abstractive_task(
        "nli_from_tfds", tfds_name="esnli:0.1.0",
        tfds_splits={s: s for s in ("train", "validation", "test")},
        label_names=NLI, **common)
  else:
    names = custom.add_abstractive_task(
        "nli_from_csv", {s: os.path.join(files, "nli_%s.csv.gz" % s)
                         for s in ("train", "validation", "test")},
        label_field="gold", **common)
  assert names[:3] == [names[0], names[0] + "_labels", names[0] + "_eval"]
  assert_same_task(names[0], "esnli_v010", ("train", "validation", "test"))
  assert_same_task(names[2], "esnli_eval_v010", ("test",))


@pytest.mark.slow
def test_other_extractive_sources_give_the_same_examples(demo):
  files = demo["files"]
  custom.add_extractive_task(
      "reviews_from_jsonl_gz", {s: os.path.join(files, "reviews_%s.jsonl.gz" % s)
                                for s in ("train", "test")},
      text_field="review", label_names=SENTIMENT, prefix="sentiment")
  assert_same_task("reviews_from_jsonl_gz", "movie_rationales_v010",
                   ("train", "test"))
  custom.add_extractive_task(
      "reviews_from_tfds", tfds_name="movie_rationales:0.1.0",
      tfds_splits={"validation": "validation"}, text_field="review",
      label_names=SENTIMENT, prefix="sentiment")
  assert_same_task("reviews_from_tfds_eval", "movie_rationales_eval_v010",
                   ("validation",))


@pytest.mark.slow
def test_mixture_rates_follow_the_2020_rules(demo):
  mixture = seqio.get_mixture_or_task("custom_nli_100_explanations")
  # As esnli_100_explanations: take N at N, skip N at (size - N), eval at size.
  assert {t.name: mixture.get_rate(t) for t in mixture.tasks} == {
      "custom_nli_explanations_take100": 100.0,
      "custom_nli_labels_skip100": 50.0,
      "custom_nli_eval": 150.0}


# ---------------------------------------------------------------------------
# Registration.
# ---------------------------------------------------------------------------

def test_registration_names_and_reads_nothing(tmp_path):
  missing = str(tmp_path / "nowhere" / "train.jsonl")
  names = custom.add_abstractive_task(
      "unread_nli", {"train": missing, "validation": missing},
      input_fields=("hypothesis", "premise"), label_names=NLI, prefix="nli",
      take=(100, 1000))
  assert names == [
      "unread_nli", "unread_nli_labels", "unread_nli_eval",
      "unread_nli_explanations_take100", "unread_nli_labels_skip100",
      "unread_nli_explanations_take1000", "unread_nli_labels_skip1000",
      "unread_nli_100_explanations", "unread_nli_1000_explanations"]
  task = seqio.get_mixture_or_task("unread_nli_explanations_take100")
  assert task.splits == ("train",)
  assert task.metric_fns == []
  assert seqio.get_mixture_or_task("unread_nli_eval").splits == ("validation",)
  assert custom.add_extractive_task("unread_reviews", {"train": missing},
                                    prefix="sentiment") == [
                                        "unread_reviews", "unread_reviews_labels"]
  with pytest.raises(Exception, match="nowhere/train.jsonl"):
    list(task.source.get_dataset("train").as_numpy_iterator())
  # Registering again under the name replaces what the first call added.
  custom.add_abstractive_task("unread_nli", {"train": missing}, take=(5,))
  assert sorted(n for n in seqio.TaskRegistry.names()
                if n.startswith("unread_nli")) == [
                    "unread_nli", "unread_nli_explanations_take5",
                    "unread_nli_labels", "unread_nli_labels_skip5"]
  assert registration.unregister("unread_nli")[-1] == "unread_nli_5_explanations"
  assert "unread_nli_5_explanations" not in seqio.MixtureRegistry.names()


@pytest.mark.parametrize("kwargs,message", [
    ({"data_files": {"train": "a.parquet"}},
     "a.parquet: unknown data file format '.parquet'; name the file .jsonl, "
     ".csv or .tsv (optionally followed by .gz)"),
    ({"data_files": {"validation": "a.jsonl"}, "take": (100,)},
     "take: the data have no 'train' split to take rows from (splits: "
     "validation)"),
    ({"data_files": {"train": "a.jsonl"}, "on_error": "ignore"},
     "on_error: expected 'raise' or 'skip', got 'ignore'"),
    ({"data_files": {"train": "a.jsonl"}, "label_names": ("a", "a")},
     "label_names: ['a', 'a'] names a label twice"),
])
def test_bad_arguments_fail_at_registration(kwargs, message):
  with pytest.raises(ValueError) as error:
    custom.add_abstractive_task("bad_arguments", **kwargs)
  assert str(error.value) == message


# ---------------------------------------------------------------------------
# Bad data.
# ---------------------------------------------------------------------------

GOOD_NLI = b'{"hypothesis": "h", "premise": "p", "label": "neutral", "explanations": ["e"]}\n'
CSV_HEAD = b'review,label,evidences\n"dull plot, great cast",positive,"[""great cast""]"\n'
BAD_ROWS = [
    ("missing_field", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h", "label": "neutral", "explanations": ["e"]}\n',
     "no field 'premise' (the row has: hypothesis, label, explanations)"),
    ("label_not_a_name", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h", "premise": "p", "label": "maybe", "explanations": ["e"]}\n',
     "label 'maybe' is not one of the label names (entailment, neutral, "
     "contradiction)"),
    ("label_index_out_of_range", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h", "premise": "p", "label": 3, "explanations": ["e"]}\n',
     "label 3 is out of range: label_names has 3 names (0..2: entailment, "
     "neutral, contradiction)"),
    ("empty_explanation_list", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h", "premise": "p", "label": "neutral", "explanations": []}\n',
     "no explanation: 'explanations' is []"),
    ("explanation_not_a_string", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h", "premise": "p", "label": "neutral", "explanations": ["e", 7]}\n',
     "explanations[1] is a number, expected a string"),
    ("invalid_json", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h" "premise": "p"}\n',
     "invalid JSON: Expecting ',' delimiter (column 20)"),
    ("not_an_object", "nli.jsonl", GOOD_NLI + b'["h", "p"]\n',
     "expected a JSON object, got a list"),
    ("separator_in_explanation", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "h", "premise": "p", "label": "neutral", "explanations": ["a explanation: b"]}\n',
     "explanation 'a explanation: b' contains ' explanation: ', which "
     "separates the label from the explanations in the targets"),
    ("invalid_utf8", "nli.jsonl",
     GOOD_NLI + b'{"hypothesis": "caf\xe9", "premise": "p", "label": "neutral", "explanations": ["e"]}\n',
     "invalid UTF-8: byte 0xe9 at byte 20 of the line"),
    ("evidence_not_in_text", "reviews.csv",
     CSV_HEAD + b'"dull plot, great cast",positive,"[""bad acting""]"\n',
     "evidence 'bad acting' (evidences[0]) does not occur in field 'review'"),
    ("csv_cell_count", "reviews.csv",
     CSV_HEAD + b'"dull plot, great cast",positive,"[""great cast""]",extra\n',
     "CSV row has 4 cells, the header has 3 (review, label, evidences)"),
    ("label_not_in_extractive_names", "reviews.csv",
     CSV_HEAD + b'"dull plot, great cast",POS,"[""great cast""]"\n',
     "label 'POS' is not one of the label names (negative, positive)"),
]


def register_bad(tmp_path, name, content, on_error="raise"):
  path = str(tmp_path / name)
  with open(path, "wb") as f:
    f.write(content)
  if name.startswith("nli"):
    custom.add_abstractive_task(
        "bad_rows", {"train": path}, input_fields=("hypothesis", "premise"),
        label_names=NLI, on_error=on_error)
  else:
    custom.add_extractive_task("bad_rows", {"train": path}, text_field="review",
                               label_names=SENTIMENT, on_error=on_error)
  return path, seqio.get_mixture_or_task("bad_rows").source


def read_error(source):
  """The DataError message reading the source raises (tf.data carries it
  inside an InvalidArgumentError when the generator runs in a graph)."""
  try:
    list(source.get_dataset("train").as_numpy_iterator())
  except custom.DataError as e:
    return str(e)
  except tf.errors.InvalidArgumentError as e:
    return re.findall(r"DataError: (.*)", e.message)[-1]
  raise AssertionError("no error")


@pytest.mark.parametrize("case", BAD_ROWS, ids=lambda c: c[0])
def test_bad_row_names_file_line_and_problem(tmp_path, case):
  _, name, content, problem = case
  path, source = register_bad(tmp_path, name, content)
  line = 3 if name.endswith(".csv") else 2  # After the CSV header.
  assert read_error(source) == "%s:%d: %s" % (path, line, problem)


def test_skipped_rows_are_counted_and_logged(tmp_path, caplog):
  content = GOOD_NLI + b"".join(case[2][len(GOOD_NLI):] for case in BAD_ROWS
                                if case[1] == "nli.jsonl") + GOOD_NLI
  path, source = register_bad(tmp_path, "nli.jsonl", content, on_error="skip")
  with caplog.at_level(logging.WARNING):
    records = list(source.get_dataset("train").as_numpy_iterator())
  assert [r["label"] for r in records] == [b"neutral", b"neutral"]
  assert source.num_input_examples("train") == 2
  assert ("%s: skipped 9 bad row(s) (on_error='skip'); the first: %s:2: no "
          "field 'premise'" % (path, path)) in caplog.text


def test_csv_rows_spanning_lines_and_tsv(tmp_path):
  csv_path, source = register_bad(
      tmp_path, "reviews.csv",
      CSV_HEAD + b'"two\nlines, great cast",negative,great cast\n')
  records = list(source.get_dataset("train").as_numpy_iterator())
  assert [r["explanations"].tolist() for r in records] == [
      [b"great cast"], [b"great cast"]]
  assert records[1]["fields"].tolist() == [b"two\nlines, great cast"]
  with open(tmp_path / "reviews.tsv", "wb") as f:
    f.write(b'review\tlabel\tevidences\n"quoted" text\tpositive\t["text"]\n'
            b'x\tpositive\t["y"]\n')
  custom.add_extractive_task("tsv_rows", {"train": str(tmp_path / "reviews.tsv")},
                             text_field="review")
  assert read_error(seqio.get_mixture_or_task("tsv_rows").source) == ("%s:3: evidence 'y' (evidences[0]) does not "
                              "occur in field 'review'" % (tmp_path / "reviews.tsv"))
  del csv_path


def test_a_json_string_is_never_read_as_a_list(tmp_path):
  write_jsonl(str(tmp_path / "a.jsonl"), [
      {"premise": "p", "label": "x", "explanations": "[1] says so"}])
  custom.add_abstractive_task("json_string", {"train": str(tmp_path / "a.jsonl")})
  records = list(seqio.get_mixture_or_task("json_string").source.get_dataset(
      "train").as_numpy_iterator())
  assert records[0]["explanations"].tolist() == [b"[1] says so"]
  with open(tmp_path / "a.csv", "w") as f:
    f.write('premise,label,explanations\np,x,"[1] says so"\n')
  custom.add_abstractive_task("csv_list", {"train": str(tmp_path / "a.csv")})
  assert read_error(seqio.get_mixture_or_task("csv_list").source) == (
      "%s:2: field 'explanations' starts with '[' but is not a JSON list: "
      "Extra data (column 5); write one such string as a JSON list of it" %
      (tmp_path / "a.csv"))


def test_numeric_label_needs_label_names_and_globs_read_in_order(tmp_path):
  for index, label in enumerate(["entailment", 1]):
    write_jsonl(str(tmp_path / ("part-%d.jsonl" % index)), [
        {"premise": "p%d" % index, "label": label, "explanations": ["e"]}])
  custom.add_abstractive_task(
      "globbed", {"train": [str(tmp_path / "part-0.jsonl"),
                            str(tmp_path / "part-*.jsonl")]})
  source = seqio.get_mixture_or_task("globbed").source
  assert read_error(source) == (
      "%s:1: label 1 is a number; pass label_names to name the labels" %
      (tmp_path / "part-1.jsonl"))
  custom.add_abstractive_task(
      "globbed", {"train": [str(tmp_path / "part-0.jsonl"),
                            str(tmp_path / "part-*.jsonl")]}, label_names=NLI)
  records = list(seqio.get_mixture_or_task("globbed").source.get_dataset(
      "train").as_numpy_iterator())
  assert [(r["fields"].tolist(), r["label"]) for r in records] == [
      ([b"p0"], b"entailment"), ([b"p0"], b"entailment"),
      ([b"p1"], b"neutral")]


# ---------------------------------------------------------------------------
# Sequence lengths.
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_sequence_lengths_and_gin_file(demo, tmp_path):
  output = str(tmp_path / "custom_nli.gin")
  report = custom.sequence_lengths("custom_nli", output=output)
  measured = read("esnli_v010", "train")
  expected = {}
  for feature in ("inputs", "targets"):
    counts = np.array([len(ex[feature]) for ex in measured])  # EOS included.
    expected[feature] = int(math.ceil(
        np.percentile(counts, 99, method="higher") / 8) * 8)
    assert report.longest[feature] == counts.max()
    assert report.trimmed[feature] == int((counts > expected[feature]).sum())
  assert dict(report.lengths) == expected
  assert report.examples == 150
  with open(output) as f:
    gin_text = f.read()
  assert gin_text.splitlines()[0] == (
      "# Sequence lengths for the custom_nli tasks and mixtures.")
  assert "# 99th percentile of the token lengths (EOS included)" in gin_text
  assert gin_text.splitlines()[-1] == (
      "utils.run.sequence_length = {'inputs': %d, 'targets': %d}" % (
          expected["inputs"], expected["targets"]))
  other = custom.sequence_lengths("custom_nli", {"train": os.path.join(
      demo["files"], "nli_validation.jsonl")})
  assert other.examples == 10


@pytest.mark.slow
def test_wt5_lengths_command(demo, tmp_path, capsys):
  output = str(tmp_path / "median.gin")
  assert cli.main(["lengths", "custom_nli", "--module_import",
                   "custom_tasks_module", "--percentile", "50", "--output",
                   output]) == 0
  printed = capsys.readouterr().out
  report = lengths_lib.sequence_lengths("custom_nli", percentile=50)
  assert printed == report.summary() + "\nWrote %s\n" % output
  assert printed.startswith("custom_nli, train split: 150 examples; 50th "
                            "percentile of token lengths (EOS included), "
                            "rounded up to a multiple of 8\n")
  with open(output) as f:
    assert f.read() == report.gin_text()


# ---------------------------------------------------------------------------
# End to end.
# ---------------------------------------------------------------------------

MIXTURE = "custom_nli_100_explanations"
E2E_LENGTHS = {"inputs": 64, "targets": 32}
E2E_STEPS = 10


def run_binary(command, env, log_path):
  """Runs t5_mesh_transformer with the test's task module; returns its log."""
  command = [arg.replace("--module_import=wt5.mixtures",
                         "--module_import=custom_tasks_module")
             for arg in command]
  result = subprocess.run(command, env=env, capture_output=True, text=True,
                          check=False, timeout=300)
  log = result.stdout + result.stderr
  with open(log_path, "w", encoding="utf-8") as f:
    f.write(log)
  assert result.returncode == 0, log[-3000:]
  return log


@pytest.mark.slow
@pytest.mark.binary
@pytest.mark.timeout(900)
def test_custom_mixture_end_to_end(demo, tmp_path, capsys):
  """t5_mesh_transformer trains and evaluates a custom mixture; wt5 score,
  wt5 report, wt5 export and wt5 train work on it unchanged."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join(
      [os.path.dirname(os.path.abspath(__file__))] +
      [p for p in [os.environ.get("PYTHONPATH")] if p]))
  settings = mtf_binary.RunSettings(
      data_dir=demo["data_dir"], model=mtf_binary.ModelShape(64, 256, 16, 4, 1),
      steps=E2E_STEPS, checkpoints=1, sequence_length=E2E_LENGTHS,
      tokens_per_batch=512)
  binary = mtf_binary.find_binary()
  model_dir = str(tmp_path / "model")
  train_log = run_binary(mtf_binary.train_command(binary, MIXTURE, model_dir,
                                                  settings),
                         env, str(tmp_path / "train.log"))
  assert any(mtf_binary.parse_loss(line) for line in train_log.splitlines())
  eval_log = run_binary(mtf_binary.eval_command(binary, MIXTURE, model_dir,
                                                settings),
                        env, str(tmp_path / "eval.log"))
  logged = mtf_binary.collect_metrics(eval_log.splitlines())
  assert list(logged) == ["custom_nli_eval"]
  assert sorted(logged["custom_nli_eval"]) == ["accuracy", "bleu",
                                               "expln1_length"]

  eval_dir = os.path.join(model_dir, "validation_eval")
  validation = tfds_rows(demo["data_dir"], "esnli:0.1.0", "validation")
  assert eval_files.read_values(os.path.join(
      eval_dir, "custom_nli_eval_inputs")) == [
          ("explain nli hypothesis: %s premise: %s" % (
              ex["hypothesis"], ex["premise"])).encode() for ex in validation]
  assert eval_files.read_values(os.path.join(
      eval_dir, "custom_nli_eval_targets")) == [
          {"label": NLI[ex["label"]],
           "explanations": [ex[k] for k in EXPLANATIONS if ex[k]]}
          for ex in validation]

  scores_dir = str(tmp_path / "scores")
  assert cli.main(["score", eval_dir, "--task_module", "custom_tasks_module",
                   "--output_dir", scores_dir, "--no_plot"]) == 0
  with open(os.path.join(scores_dir, "scores.json")) as f:
    scores = json.load(f)["custom_nli_eval"][str(E2E_STEPS)]
  for key, by_step in logged["custom_nli_eval"].items():
    assert scores[key] == pytest.approx(by_step[E2E_STEPS], abs=1e-3), key
  html = str(tmp_path / "report.html")
  assert cli.main(["report", eval_dir, "--output", html]) == 0
  with open(html, encoding="utf-8") as f:
    assert "custom_nli_eval" in f.read()
  capsys.readouterr()

  export_dir = str(tmp_path / "export")
  lengths = "%d,%d" % (E2E_LENGTHS["inputs"], E2E_LENGTHS["targets"])
  for split in ("train", "validation"):
    assert cli.main(["export", MIXTURE, "--split", split, "--output_dir",
                     export_dir, "--sequence_length", lengths,
                     "--num_examples", "32",
                     "--module_import", "custom_tasks_module"]) == 0
  assert "%d train examples of %s" % (32, MIXTURE) in capsys.readouterr().out
  torch_dir = str(tmp_path / "torch")
  result = subprocess.run(
      [sys.executable, "-m", "wt5.cli", "train", "--export", export_dir,
       "--model_dir", torch_dir, "--model", "tiny", "--steps", "2",
       "--batch_size", "4", "--save_steps", "2"],
      env=dict(env, HF_HUB_OFFLINE="1"), capture_output=True, text=True,
      check=False, timeout=300)
  assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
  assert "Trained to step 2" in result.stdout
  assert os.path.isdir(os.path.join(torch_dir, "checkpoint-2"))
