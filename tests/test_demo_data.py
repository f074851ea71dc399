"""The embedded demo data: real TFDS schema, learnable structure, determinism."""

import random

import pytest
import sentencepiece as spm
import tensorflow_datasets as tfds

from wt5 import cli
from wt5 import demo_data

SMALL = {
    "esnli": {"train": 30, "validation": 6, "test": 6},
    "cos_e": {"train": 30, "validation": 6},
    "movie_rationales": {"train": 30, "validation": 6, "test": 6},
    "eraser_multi_rc": {"train": 30, "validation": 6, "test": 6},
    "glue/mnli": {"train": 9, "validation_matched": 3,
                  "validation_mismatched": 3, "test_matched": 3,
                  "test_mismatched": 3},
    "glue/mnli_matched": {"validation": 3, "test": 3},
    "glue/mnli_mismatched": {"validation": 3, "test": 3},
    "imdb_reviews/plain_text": {"train": 10, "test": 4, "unsupervised": 4},
    "amazon_us_reviews/Books_v1_00": {"train": 40},
    "amazon_us_reviews/Apparel_v1_00": {"train": 20},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("demo_data"))
  summary = demo_data.write_demo_data(
      path, sizes=SMALL, amazon_configs=("Books_v1_00", "Apparel_v1_00"))
  assert summary == {
      source_name: SMALL[key] for source_name, key in [
          ("esnli:0.1.0", "esnli"), ("cos_e:0.0.1", "cos_e"),
          ("movie_rationales:0.1.0", "movie_rationales"),
          ("eraser_multi_rc:0.1.1", "eraser_multi_rc"),
          ("glue/mnli:1.0.0", "glue/mnli"),
          ("glue/mnli_matched:1.0.0", "glue/mnli_matched"),
          ("glue/mnli_mismatched:1.0.0", "glue/mnli_mismatched"),
          ("imdb_reviews/plain_text:1.0.0", "imdb_reviews/plain_text"),
          ("amazon_us_reviews/Books_v1_00:0.1.0",
           "amazon_us_reviews/Books_v1_00"),
          ("amazon_us_reviews/Apparel_v1_00:0.1.0",
           "amazon_us_reviews/Apparel_v1_00")]}
  return path


def load(data_dir, name, split):
  return list(tfds.as_numpy(tfds.load(name, split=split, data_dir=data_dir,
                                      shuffle_files=False)))


@pytest.mark.parametrize("key,full_name", [
    ("esnli", "esnli:0.1.0"), ("cos_e", "cos_e:0.0.1"),
    ("movie_rationales", "movie_rationales:0.1.0"),
    ("eraser_multi_rc", "eraser_multi_rc:0.1.1"),
    ("glue/mnli", "glue/mnli:1.0.0"),
    ("glue/mnli_matched", "glue/mnli_matched:1.0.0"),
    ("imdb_reviews/plain_text", "imdb_reviews:1.0.0"),
    ("amazon_us_reviews/Books_v1_00", "amazon_us_reviews/Books_v1_00:0.1.0"),
])
def test_written_datasets_have_real_features_and_sizes(data_dir, key,
                                                       full_name):
  builder = tfds.builder(full_name, data_dir=data_dir)
  real = tfds.builder(key).info.features
  assert repr(builder.info.features) == repr(real)
  assert {s: v.num_examples for s, v in builder.info.splits.items()} == (
      SMALL[key])


def test_same_seed_same_data_and_other_seed_other_data():
  source = demo_data.SOURCES[0]
  first = list(demo_data.generate_split(source, "train", 5, seed=0))
  assert first == list(demo_data.generate_split(source, "train", 5, seed=0))
  assert first != list(demo_data.generate_split(source, "train", 5, seed=1))


def test_nli_labels_follow_from_the_text():
  rng = random.Random(3)
  assert demo_data.nli_pair(rng, 0)["hypothesis"].split()[1] in set(
      demo_data.AGENTS.values())
  pair = demo_data.nli_pair(rng, 2)
  activity = pair["premise"].split(" is ")[1].split(" in the ")[0]
  other = dict(demo_data.ACTIVITIES)[activity]
  assert pair["hypothesis"].split(" is ")[1].startswith(other)
  assert pair["explanations"][0] == (
      "One cannot be %s and %s at the same time." % (activity, other))


def test_esnli_train_has_one_explanation_eval_has_three(data_dir):
  for ex in load(data_dir, "esnli:0.1.0", "train"):
    assert ex["explanation_1"] and not ex["explanation_2"]
    assert not ex["explanation_3"]
  for ex in load(data_dir, "esnli:0.1.0", "validation"):
    assert ex["explanation_1"] and ex["explanation_2"] and ex["explanation_3"]


def test_rationales_occur_in_their_inputs(data_dir):
  for ex in load(data_dir, "movie_rationales:0.1.0", "train"):
    phrases = demo_data.POSITIVE_PHRASES if ex["label"] else (
        demo_data.NEGATIVE_PHRASES)
    assert ex["evidences"].size >= 1
    for evidence in ex["evidences"]:
      assert evidence in ex["review"]
      assert evidence.decode() in phrases
  for ex in load(data_dir, "eraser_multi_rc:0.1.1", "validation"):
    assert all(e in ex["passage"] for e in ex["evidences"])
    answer = ex["query_and_answer"].split(b"||")[1].strip()
    assert (answer in ex["evidences"][0]) == bool(ex["label"])


def test_cos_e_answer_is_a_choice(data_dir):
  for ex in load(data_dir, "cos_e:0.0.1", "train"):
    assert ex["answer"] in list(ex["choices"])
    assert len(ex["choices"]) == 5
    assert ex["abstractive_explanation"].endswith(ex["answer"] + b".")


def test_imdb_unsupervised_is_unlabelled_and_amazon_has_all_ratings(data_dir):
  assert [ex["label"] for ex in load(data_dir, "imdb_reviews:1.0.0",
                                     "unsupervised")] == [-1] * 4
  assert {ex["label"] for ex in load(data_dir, "imdb_reviews:1.0.0",
                                     "train")} == {0, 1}
  stars = [int(ex["data"]["star_rating"]) for ex in load(
      data_dir, "amazon_us_reviews/Books_v1_00:0.1.0", "train")]
  assert stars[:5] == [5, 1, 3, 4, 2]
  assert set(stars) == {1, 2, 3, 4, 5}


def test_first_esnli_example_is_fixed_by_the_seed():
  source = demo_data.SOURCES[0]
  rng = random.Random("esnli/validation/0")
  label = rng.randrange(3)
  pair = demo_data.nli_pair(rng, label)
  first = next(demo_data.generate_split(source, "validation", 1, seed=0))
  assert first == {
      "premise": pair["premise"], "hypothesis": pair["hypothesis"],
      "label": label, "explanation_1": pair["explanations"][0],
      "explanation_2": pair["explanations"][1],
      "explanation_3": pair["explanations"][2]}
  assert first["premise"].startswith("A ") and first["premise"].endswith(".")


def test_vocabulary_round_trips_all_demo_text(data_dir, tmp_path):
  model = demo_data.train_demo_vocabulary(data_dir, str(tmp_path / "v" / "m"),
                                          vocab_size=600)
  sp = spm.SentencePieceProcessor(model_file=model)
  assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (0, 1, 2, -1)
  texts = list(demo_data.iter_demo_text(data_dir))
  assert len(texts) > 500
  for text in texts + ["Zoë's naïve café: 42 ≠ 41 ✓", "explain nli <unk>"]:
    ids = sp.encode(text)
    assert sp.unk_id() not in ids
    assert sp.decode(ids) == text


def test_wt5_data_command(tmp_path, capsys):
  out_dir = tmp_path / "cli"
  assert cli.main(["data", "--data_dir", str(out_dir)]) == 0
  printed = capsys.readouterr().out
  assert "esnli:0.1.0" in printed and "train=3000" in printed
  assert "--t5_tfds_data_dir=%s" % out_dir in printed
  assert len(load(str(out_dir), "amazon_us_reviews/Books_v1_00:0.1.0",
                  "train")) == 300
