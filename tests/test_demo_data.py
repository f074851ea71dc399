"""The embedded demo data: real TFDS schema, learnable structure, determinism."""

import os

import pytest
import seqio
import sentencepiece as spm
import tensorflow_datasets as tfds

import catalogue_data
import demo_registry as demo_registry_lib
from wt5 import cli
from wt5 import tfds_data
from wt5.datasets import demo_data as demo_data
from wt5.datasets import demo_templates as demo_templates

AMAZON = ("Books_v1_00", "Digital_Ebook_Purchase_v1_01")
SMALL = demo_registry_lib.split_sizes({  # (train, validation, test)
    "esnli": (30, 6, 6), "cos_e": (30, 6, 0), "movie_rationales": (30, 6, 6),
    "eraser_multi_rc": (30, 6, 6), "glue/mnli": (9, 3, 3),
    "glue/mnli_matched": (0, 3, 3), "glue/mnli_mismatched": (0, 3, 3),
    "imdb_reviews/plain_text": (10, 0, 4),
    "amazon_us_reviews/Books_v1_00": (40, 0, 0),
    "amazon_us_reviews/Digital_Ebook_Purchase_v1_01": (20, 0, 0),
})
FULL_NAMES = {
    "esnli": "esnli:0.1.0", "cos_e": "cos_e:0.0.1",
    "movie_rationales": "movie_rationales:0.1.0",
    "eraser_multi_rc": "eraser_multi_rc:0.1.1",
    "glue/mnli": "glue/mnli:1.0.0",
    "glue/mnli_matched": "glue/mnli_matched:1.0.0",
    "glue/mnli_mismatched": "glue/mnli_mismatched:1.0.0",
    "imdb_reviews/plain_text": "imdb_reviews/plain_text:1.0.0",
    "amazon_us_reviews/Books_v1_00": "amazon_us_reviews/Books_v1_00:0.1.0",
    "amazon_us_reviews/Digital_Ebook_Purchase_v1_01":
        "amazon_us_reviews/Digital_Ebook_Purchase_v1_01:0.1.0",
}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("demo_data"))
  summary = demo_data.write_demo_data(path, sizes=SMALL, amazon_configs=AMAZON)
  assert summary == {FULL_NAMES[key]: SMALL[key] for key in SMALL}
  assert sorted(os.listdir(path)) == [
      "amazon_us_reviews", "cos_e", "eraser_multi_rc", "esnli", "glue",
      "imdb_reviews", "movie_rationales"]
  return path


@pytest.fixture(scope="session")
def vocab_model(data_dir, tmp_path_factory):
  prefix = str(tmp_path_factory.mktemp("vocab") / "sub" / "demo")
  return demo_data.train_demo_vocabulary(data_dir, prefix, vocab_size=800)


def load(data_dir, name, split):
  return list(tfds.as_numpy(tfds.load(name, split=split, data_dir=data_dir,
                                      shuffle_files=False)))


def text(value):
  return value.decode("utf-8")


# ---------------------------------------------------------------------------
# Format: names, versions, features, splits, readers.
# ---------------------------------------------------------------------------


def test_every_catalogue_source_is_a_demo_source():
  names = {t["tfds"] for t in catalogue_data.TASKS.values()}
  names = {"imdb_reviews/plain_text:1.0.0" if n == "imdb_reviews:1.0.0" else n
           for n in names}
  written = demo_data.select_sources(
      None, tfds_data.amazon_configs())
  assert len(written) == 8 + 46
  assert {s.full_name for s in written} == names


@pytest.mark.parametrize("key", sorted(SMALL))
def test_written_datasets_have_real_features_and_sizes(data_dir, key):
  builder = tfds.builder(FULL_NAMES[key], data_dir=data_dir)
  real = tfds.builder(key).info.features
  assert str(builder.info.version) == FULL_NAMES[key].rsplit(":", 1)[1]
  assert repr(builder.info.features) == repr(real)
  assert builder.info.features.to_json() == real.to_json()
  assert {s: v.num_examples for s, v in builder.info.splits.items()} == (
      SMALL[key])


def test_class_label_names_are_the_real_ones(data_dir):
  def names(name, feature="label"):
    return tfds.builder(name, data_dir=data_dir).info.features[feature].names
  assert names("esnli:0.1.0") == ["entailment", "neutral", "contradiction"]
  assert names("movie_rationales:0.1.0") == ["NEG", "POS"]
  assert names("eraser_multi_rc:0.1.1") == ["False", "True"]
  assert names("imdb_reviews:1.0.0") == ["neg", "pos"]
  assert names("glue/mnli:1.0.0") == ["entailment", "neutral", "contradiction"]


def test_seqio_reads_the_data_by_catalogue_name(data_dir):
  for name, split, count in [("glue/mnli:1.0.0", "validation_mismatched", 3),
                             ("imdb_reviews:1.0.0", "unsupervised", 4),
                             ("esnli:0.1.0", "train[0:10]", 10),
                             ("amazon_us_reviews/Books_v1_00:0.1.0",
                              "train[:10%]", 4)]:
    source = seqio.TfdsDataSource(name, tfds_data_dir=data_dir)
    examples = list(source.get_dataset(split, shuffle=False)
                    .as_numpy_iterator())
    assert len(examples) == count, name


def test_read_back_equals_generated(data_dir):
  """The stored examples are the generated ones, in TFDS's shuffled order."""
  source = demo_data.SOURCES[2]
  generated = list(demo_data.generate_split(source, "train", 30, seed=0))
  read = load(data_dir, "movie_rationales:0.1.0", "train")
  assert sorted((text(ex["review"]), int(ex["label"]),
                 tuple(text(e) for e in ex["evidences"])) for ex in read) == (
                     sorted((g["review"], g["label"], tuple(g["evidences"]))
                            for g in generated))
  again = load(data_dir, "movie_rationales:0.1.0", "train")
  assert [text(ex["review"]) for ex in read] == [
      text(ex["review"]) for ex in again]


def test_rewriting_replaces_only_the_named_datasets(tmp_path):
  path = str(tmp_path)
  assert demo_data.write_demo_data(
      path, sources=["cos_e", "glue/mnli_matched"],
      sizes={"cos_e": {"train": 3, "validation": 2}}) == {
          "cos_e:0.0.1": {"train": 3, "validation": 2},
          "glue/mnli_matched:1.0.0": {"validation": 100, "test": 50}}
  assert demo_data.write_demo_data(
      path, sources=["cos_e"], seed=5,
      sizes={"cos_e": {"train": 4}}) == {
          "cos_e:0.0.1": {"train": 4, "validation": 100}}
  assert len(load(path, "cos_e:0.0.1", "train")) == 4
  assert len(load(path, "glue/mnli_matched:1.0.0", "test")) == 50
  assert sorted(os.listdir(path)) == ["cos_e", "glue"]


@pytest.mark.parametrize("kwargs,message", [
    ({"sources": ["snli"]}, "sources: 'snli' matches no demo dataset"),
    ({"sources": "esnli"}, "sources: expected a sequence of names"),
    ({"sizes": {"esnil": {"train": 1}}}, "sizes: unknown dataset 'esnil'"),
    ({"sizes": {"esnli": {"dev": 1}}}, "sizes['esnli']: unknown split 'dev'"),
    ({"sizes": {"esnli": {"train": -1}}},
     "sizes['esnli']['train']: expected a count >= 0, got -1"),
    ({"amazon_configs": ["Books"]}, "amazon_configs: ['Books'] not among"),
    ({"amazon_configs": "Books_v1_00"},
     "amazon_configs: expected a sequence of configuration names"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, message):
  with pytest.raises((ValueError, TypeError)) as error:
    demo_data.write_demo_data(str(tmp_path), **kwargs)
  assert message in str(error.value)
  assert not os.listdir(tmp_path)


def test_all_amazon_configs_come_from_tfds():
  configs = tfds_data.amazon_configs()
  assert len(configs) == 46
  assert configs[0] == "Wireless_v1_00" and "Books_v1_02" in configs
  assert demo_data.amazon_category("Digital_Ebook_Purchase_v1_01") == (
      "Digital_Ebook_Purchase")


# ---------------------------------------------------------------------------
# Determinism.
# ---------------------------------------------------------------------------


def test_same_seed_same_data_and_other_seed_other_data():
  for source in demo_data.SOURCES + tuple(demo_data.amazon_sources(AMAZON)):
    split = next(iter(source.sizes))
    first = list(demo_data.generate_split(source, split, 5, seed=0))
    assert first == list(demo_data.generate_split(source, split, 5, seed=0))
    assert first != list(demo_data.generate_split(source, split, 5, seed=1))


def test_first_examples_are_fixed_by_the_seed():
  esnli, _, movies = demo_data.SOURCES[:3]
  assert next(demo_data.generate_split(esnli, "validation", 1, seed=0)) == {
      "premise": "A quiet dog is eating in the yard.",
      "hypothesis": "An animal is eating in the yard.",
      "label": 0,
      "explanation_1": "A dog is an animal.",
      "explanation_2": "Every dog is an animal.",
      "explanation_3": "The dog is eating in the yard."}
  assert next(demo_data.generate_split(esnli, "train", 1, seed=1)) == {
      "premise": "A young man is standing in the yard.",
      "hypothesis": "A person is standing in the yard.",
      "label": 0, "explanation_1": "A man is a person.",
      "explanation_2": "", "explanation_3": ""}
  assert next(demo_data.generate_split(movies, "train", 1, seed=0)) == {
      "review": "The film runs for 116 minutes. To be fair, the dialogue was "
                "superb. The story is set in a small town near the river. It "
                "is based on a short story. I have to say the cast was "
                "excellent. Most of it was shot in summer. It is the fourth "
                "film in a series. Overall it was the best film I saw this "
                "year. The director made 7 films before this one.",
      "evidences": ["the dialogue was superb", "the cast was excellent",
                    "it was the best film I saw this year"],
      "label": 1}


# ---------------------------------------------------------------------------
# Learnable structure: labels and explanations follow from the text.
# ---------------------------------------------------------------------------


def nli_label(premise, hypothesis):
  """An independent reading of the NLI templates."""
  activity = premise.split(" is ")[1]
  hyp_activity = hypothesis.split(" is ")[1]
  if any(hypothesis.endswith(extra + ".") for extra in demo_templates.EXTRAS):
    return 1
  if activity == hyp_activity:
    return 0
  return 2


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_esnli_labels_and_explanations_follow_from_the_text(data_dir, split):
  examples = load(data_dir, "esnli:0.1.0", split)
  assert {int(ex["label"]) for ex in examples} == {0, 1, 2}
  for ex in examples:
    premise, hypothesis = text(ex["premise"]), text(ex["hypothesis"])
    label = int(ex["label"])
    assert nli_label(premise, hypothesis) == label, (premise, hypothesis)
    agent = premise.split(" is ")[0].split()[-1]
    first = text(ex["explanation_1"])
    if label == 0:
      assert first in ("A %s is a %s." % (agent, demo_templates.AGENTS[agent]),
                       "A %s is an %s." % (agent, demo_templates.AGENTS[agent]),
                       "An %s is an %s." % (agent, demo_templates.AGENTS[agent]))
    elif label == 2:
      activity = premise.split(" is ")[1].split(" in the ")[0]
      assert first.lower().startswith(activity + " and ")
      assert first.endswith(" are different.")
    else:
      assert first.startswith("Not every %s is " % agent)
    rest = [text(ex["explanation_2"]), text(ex["explanation_3"])]
    assert (rest == ["", ""]) if split == "train" else all(rest)


def test_mnli_hides_test_labels_and_mismatched_moves_the_scene(data_dir):
  name = "glue/mnli:1.0.0"
  for split in ("test_matched", "test_mismatched"):
    assert [int(ex["label"]) for ex in load(data_dir, name, split)] == [-1] * 3
  train = load(data_dir, name, "train")
  assert sorted(int(ex["idx"]) for ex in train) == list(range(9))
  assert all(nli_label(text(ex["premise"]), text(ex["hypothesis"])) ==
             ex["label"] for ex in train)
  for name, split in [("glue/mnli:1.0.0", "validation_mismatched"),
                      ("glue/mnli_mismatched:1.0.0", "validation")]:
    for ex in load(data_dir, name, split):
      place = text(ex["premise"]).rsplit(" ", 1)[1].rstrip(".")
      assert place in demo_templates.OTHER_PLACES


def test_movie_rationales_are_sentiment_phrases_of_the_review(data_dir):
  positive = demo_templates.POSITIVE_WORDS + demo_templates.POSITIVE_VERDICTS
  negative = demo_templates.NEGATIVE_WORDS + demo_templates.NEGATIVE_VERDICTS
  for split in ("train", "validation", "test"):
    examples = load(data_dir, "movie_rationales:0.1.0", split)
    assert {int(ex["label"]) for ex in examples} == {0, 1}
    for ex in examples:
      review = text(ex["review"])
      evidences = [text(e) for e in ex["evidences"]]
      assert 40 <= len(review.split()) <= 110
      assert 2 <= len(evidences) <= 4 and len(set(evidences)) == len(evidences)
      positions = [review.index(e) for e in evidences]
      assert positions == sorted(positions)
      for evidence in evidences:
        assert 3 <= len(evidence.split()) <= 10
        words = positive if ex["label"] else negative
        assert any(w in evidence for w in words), evidence
        assert not any(w in evidence for w in (negative if ex["label"]
                                               else positive)), evidence


def test_multirc_evidences_are_passage_sentences_deciding_the_label(data_dir):
  for split in ("train", "validation", "test"):
    for ex in load(data_dir, "eraser_multi_rc:0.1.1", split):
      passage = text(ex["passage"])
      sentences = [s + "." for s in passage[:-1].split(". ")]
      evidences = [text(e) for e in ex["evidences"]]
      assert evidences and all(e in sentences for e in evidences)
      query, answer = [p.strip() for p in
                       text(ex["query_and_answer"]).split("||")]
      assert query.endswith("?")
      assert any(answer in s for s in sentences)
      # The answer is right exactly when an evidence sentence states it.
      states_answer = any(e.endswith(" " + answer + ".") for e in evidences)
      assert states_answer == bool(ex["label"]), (passage, query, answer)
      assert len(evidences) == (2 if query.startswith("Where does the ")
                                else 1)


def test_cos_e_answer_is_one_of_five_choices_and_explained(data_dir):
  for split in ("train", "validation"):
    for ex in load(data_dir, "cos_e:0.0.1", split):
      choices = [text(c) for c in ex["choices"]]
      answer = text(ex["answer"])
      assert len(choices) == len(set(choices)) == 5 and answer in choices
      assert text(ex["abstractive_explanation"]).split()[1] in (
          [answer] + [o for o, p in demo_templates.OBJECT_PLACES.items()
                      if p == answer])
      assert text(ex["extractive_explanation"]) in text(ex["question"])
      assert text(ex["id"]).startswith(split[:2])


def test_imdb_unlabelled_and_amazon_ratings(data_dir):
  assert [ex["label"] for ex in load(data_dir, "imdb_reviews:1.0.0",
                                     "unsupervised")] == [-1] * 4
  assert {ex["label"] for ex in load(data_dir, "imdb_reviews:1.0.0",
                                     "train")} == {0, 1}
  for config, count in [("Books_v1_00", 40),
                        ("Digital_Ebook_Purchase_v1_01", 20)]:
    reviews = [ex["data"] for ex in load(
        data_dir, "amazon_us_reviews/%s:0.1.0" % config, "train")]
    stars = [int(r["star_rating"]) for r in reviews]
    assert stars.count(3) >= 2 and len(stars) == count
    assert set(stars) == {1, 2, 3, 4, 5}
    for review in reviews:
      assert text(review["product_category"]) == config.rsplit("_v", 1)[0]
      assert text(review["marketplace"]) == "US"
      assert text(review["review_headline"]) in (
          demo_templates.STAR_HEADLINES[int(review["star_rating"])])
      assert 0 <= review["helpful_votes"] <= review["total_votes"]
      assert review["vine"] in (0, 1) and review["verified_purchase"] in (0, 1)
      assert len(text(review["review_date"])) == 10
      assert all(review[k] for k in ("customer_id", "review_id", "product_id",
                                     "product_parent", "product_title",
                                     "review_body"))


# ---------------------------------------------------------------------------
# Vocabulary and the command.
# ---------------------------------------------------------------------------


def count_strings(value):
  if isinstance(value, str):
    return 1
  if isinstance(value, dict):
    return sum(count_strings(v) for v in value.values())
  if isinstance(value, list):
    return sum(count_strings(v) for v in value)
  return 0


def test_vocabulary_round_trips_all_demo_text(data_dir, vocab_model):
  sp = spm.SentencePieceProcessor(model_file=vocab_model)
  assert vocab_model.endswith(os.path.join("sub", "demo.model"))
  assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (0, 1, 2, -1)
  assert [sp.id_to_piece(i) for i in range(3)] == ["<pad>", "</s>", "<unk>"]
  texts = list(demo_data.iter_demo_text(data_dir))
  assert len(texts) == sum(
      count_strings(example)
      for source in demo_data.select_sources(None, AMAZON)
      for split, size in SMALL[source.key].items()
      for example in demo_data.generate_split(source, split, size))
  assert {"A singer is a musician.", "Every singer is a musician.",
          "The singer is playing in the park."} <= set(texts)
  for value in texts + ["Zoë's naïve café: 42 ≠ 41 ✓", "explain nli <unk>",
                        "two  spaces\nand a newline "]:
    ids = sp.encode(value)
    assert sp.unk_id() not in ids
    assert sp.decode(ids) == value
  for word in ("explanation", "hypothesis", "premise", "choice", "question",
               "entailment", "neutral", "contradiction", "positive",
               "negative", "True", "False", "passage", "query", "answer"):
    assert sp.encode(word, out_type=str) == ["▁" + word]
  assert sp.encode("explanation: 7", out_type=str) == [
      "▁explanation", ":", "▁", "7"]


@pytest.mark.slow
def test_vocabulary_is_deterministic(data_dir, vocab_model, tmp_path):
  again = demo_data.train_demo_vocabulary(data_dir, str(tmp_path / "again"),
                                          vocab_size=800)
  first = spm.SentencePieceProcessor(model_file=vocab_model)
  second = spm.SentencePieceProcessor(model_file=again)
  assert first.get_piece_size() == second.get_piece_size() == 800
  assert [(first.id_to_piece(i), first.get_score(i)) for i in range(800)] == [
      (second.id_to_piece(i), second.get_score(i)) for i in range(800)]
  assert sorted(os.listdir(tmp_path)) == ["again.model", "again.vocab"]


def test_vocabulary_needs_data(tmp_path):
  with pytest.raises(ValueError, match="no demo datasets under"):
    demo_data.train_demo_vocabulary(str(tmp_path), str(tmp_path / "v"))


@pytest.mark.slow
def test_wt5_data_command(tmp_path, capsys):
  out_dir = tmp_path / "cli"
  assert cli.main(["data", "--data_dir", str(out_dir), "--vocab"]) == 0
  printed = capsys.readouterr().out
  assert ("esnli:0.1.0                              "
          "train=3000, validation=100, test=100\n") in printed
  assert ("amazon_us_reviews/Books_v1_00:0.1.0      train=300\n") in printed
  assert "Wrote 9 datasets to %s\n" % out_dir in printed
  assert "--t5_tfds_data_dir=%s " % out_dir in printed
  model = out_dir / "vocab" / "wt5_demo.model"
  assert "export WT5_VOCAB_MODEL=%s\n" % model in printed
  assert model.exists()
  assert len(load(str(out_dir), "movie_rationales:0.1.0", "train")) == 1600
