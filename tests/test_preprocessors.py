"""Exact inputs/targets strings of every WT5 preprocessor and option."""

import pytest
import tensorflow as tf

from wt5 import preprocessors as pp


def run(fn, *examples, **kwargs):
  """Runs a preprocessor over examples; returns decoded inputs/targets."""
  ds = tf.data.Dataset.from_tensors(examples[0])
  for example in examples[1:]:
    ds = ds.concatenate(tf.data.Dataset.from_tensors(example))
  out = fn(ds, **kwargs)
  return [(e["inputs"].decode(), e["targets"].decode())
          for e in out.as_numpy_iterator()]


SNOW = {"premise": "Snow covers the road.", "hypothesis": "The road is white.",
        "label": 0, "explanation_1": "Snow is white.", "explanation_2": "",
        "explanation_3": "Covered means hidden."}


def test_esnli_spec_example():
  assert run(pp.esnli, SNOW) == [(
      "explain nli hypothesis: The road is white. premise: Snow covers the road.",
      "entailment explanation: Snow is white. explanation: Covered means hidden.")]


def test_esnli_all_labels_and_three_explanations():
  examples = [dict(SNOW, label=i, explanation_2="Two.") for i in range(3)]
  assert [t for _, t in run(pp.esnli, *examples)] == [
      "entailment explanation: Snow is white. explanation: Two. "
      "explanation: Covered means hidden.",
      "neutral explanation: Snow is white. explanation: Two. "
      "explanation: Covered means hidden.",
      "contradiction explanation: Snow is white. explanation: Two. "
      "explanation: Covered means hidden."]


def test_esnli_empty_and_absent_explanations():
  empty = dict(SNOW, label=1, explanation_1="", explanation_3="")
  assert run(pp.esnli, empty)[0][1] == "neutral"
  absent = {"premise": "P.", "hypothesis": "H.", "label": 2,
            "explanation_1": "Only one."}
  assert run(pp.esnli, absent) == [
      ("explain nli hypothesis: H. premise: P.",
       "contradiction explanation: Only one.")]


def test_esnli_drop_explanations_and_choices():
  assert run(pp.esnli, SNOW, prefix="nli", drop_explanations=True,
             add_choices=True) == [(
                 "nli hypothesis: The road is white. premise: Snow covers the "
                 "road. choice: entailment choice: neutral choice: "
                 "contradiction", "entailment")]


def test_esnli_keeps_newlines_verbatim():
  ex = dict(SNOW, premise="Line one.\nLine two.")
  assert run(pp.esnli, ex)[0][0] == (
      "explain nli hypothesis: The road is white. premise: Line one.\nLine two.")


COS_E = {"question": "Where do fish live?", "choices": ["water", "sky"],
         "answer": "water", "abstractive_explanation": "Fish need water."}


def test_cos_e_spec_example():
  assert run(pp.cos_e, COS_E, prefix="explain nli",
             question_prefix="premise:") == [(
                 "explain nli premise: Where do fish live? choice: water "
                 "choice: sky", "water explanation: Fish need water.")]


def test_cos_e_defaults_and_options():
  assert run(pp.cos_e, COS_E) == [(
      "explain cos_e question: Where do fish live? choice: water choice: sky",
      "water explanation: Fish need water.")]
  assert run(pp.cos_e, COS_E, prefix="cos_e", drop_explanations=True,
             choice_prefix="option:") == [(
                 "cos_e question: Where do fish live? option: water option: "
                 "sky", "water")]


def test_imdb_reviews_labels_and_unlabelled():
  examples = [{"text": "Bad.", "label": 0}, {"text": "Good.", "label": 1},
              {"text": "Unknown.", "label": -1}]
  assert run(pp.imdb_reviews, *examples) == [
      ("sentiment: Bad.", "negative"), ("sentiment: Good.", "positive"),
      ("sentiment: Unknown.", "<unk>")]
  assert run(pp.imdb_reviews, examples[1], prefix="explain sentiment",
             output_classes=("bad", "good")) == [
                 ("explain sentiment: Good.", "good")]


def amazon(stars, headline="Head", body="Body text."):
  return {"data": {"review_headline": headline, "review_body": body,
                   "star_rating": stars}}


def test_amazon_reviews_binary_drops_three_stars():
  examples = [amazon(s, "H%d" % s) for s in (1, 2, 3, 4, 5)]
  assert run(pp.amazon_reviews, *examples) == [
      ("sentiment review: H1 Body text.", "negative"),
      ("sentiment review: H2 Body text.", "negative"),
      ("sentiment review: H4 Body text.", "positive"),
      ("sentiment review: H5 Body text.", "positive")]


def test_amazon_reviews_star_ratings():
  examples = [amazon(s) for s in (1, 3, 5)]
  assert run(pp.amazon_reviews, *examples, prefix="explain sentiment",
             binary_output=False) == [
                 ("explain sentiment review: Head Body text.", "1"),
                 ("explain sentiment review: Head Body text.", "3"),
                 ("explain sentiment review: Head Body text.", "5")]


MOVIE = {"review": "dull plot, great cast", "label": 1,
         "evidences": ["great cast", "dull plot"]}


def test_extractive_explanations():
  assert run(pp.extractive_explanations, MOVIE) == [(
      "explain sentiment review: dull plot, great cast",
      "positive explanation: great cast explanation: dull plot")]
  assert run(pp.extractive_explanations, MOVIE, prefix="sentiment",
             drop_explanations=True, output_classes=None) == [
                 ("sentiment review: dull plot, great cast", "positive")]
  other = {"text": "so-so", "label": 0,
           "evidences": tf.constant([], tf.string)}
  assert run(pp.extractive_explanations, other, input_feature="text",
             output_classes=("NEG", "POS")) == [
                 ("explain sentiment text: so-so", "NEG")]


MULTIRC = {"passage": "Ann sings. Bob reads.",
           "query_and_answer": "Who reads? ||  Bob ", "label": 1,
           "evidences": ["Bob reads."]}


def test_eraser_multi_rc_spec_example():
  assert run(pp.eraser_multi_rc, MULTIRC) == [(
      "explain multirc passage: Ann sings. Bob reads. query: Who reads? "
      "answer: Bob", "True explanation: Bob reads.")]


def test_eraser_multi_rc_options():
  ex = dict(MULTIRC, label=0, evidences=["Ann sings.", "Bob reads."])
  assert run(pp.eraser_multi_rc, ex, explanation_separator="because:") == [(
      "explain multirc passage: Ann sings. Bob reads. query: Who reads? "
      "answer: Bob", "False because: Ann sings. because: Bob reads.")]
  assert run(pp.eraser_multi_rc, ex, prefix="multirc",
             input_features=["query", "answer"], drop_explanations=True) == [
                 ("multirc query: Who reads? answer: Bob", "False")]


def test_eraser_multi_rc_query_without_answer():
  ex = dict(MULTIRC, query_and_answer="  Who reads?  ")
  assert run(pp.eraser_multi_rc, ex)[0][0] == (
      "explain multirc passage: Ann sings. Bob reads. query: Who reads? "
      "answer: ")


def test_hypothesis_prediction():
  assert run(pp.hypothesis_prediction, dict(SNOW, label=2),
             label_names=pp.NLI_LABELS) == [(
                 "hyp premise: Snow covers the road. label: contradiction",
                 "The road is white.")]


def test_mask_named_entities():
  ex = {"sentence": "Ann met Bob.", "entities": {"pos": [0, 8], "len": [3, 3]}}
  assert run(pp.mask_named_entities, ex) == [
      ("nem: _X_ met Bob.", "Ann"), ("nem: Ann met _X_.", "Bob")]
  assert run(pp.mask_named_entities, ex, prefix="ner", mask="<M>") == [
      ("ner: <M> met Bob.", "Ann"), ("ner: Ann met <M>.", "Bob")]


def test_mask_named_entities_byte_offsets_and_no_entities():
  ex = {"sentence": "Zoë met Bob.", "entities": {"pos": [9], "len": [3]}}
  assert run(pp.mask_named_entities, ex) == [("nem: Zoë met _X_.", "Bob")]
  none = {"sentence": "Nobody.",
          "entities": {"pos": tf.zeros([0], tf.int64),
                       "len": tf.zeros([0], tf.int64)}}
  assert run(pp.mask_named_entities, none) == []


@pytest.mark.parametrize("fn,example", [
    (pp.esnli, SNOW), (pp.cos_e, COS_E), (pp.eraser_multi_rc, MULTIRC),
    (pp.extractive_explanations, MOVIE)])
def test_preprocessors_run_in_graph_mode(fn, example):
  """The preprocessors trace into a tf.function: no Python per example."""
  ds = tf.data.Dataset.from_tensors(example).repeat(3)

  @tf.function
  def first_targets(d):
    return fn(d).reduce(tf.constant(""), lambda acc, x: x["targets"])

  assert first_targets(ds).numpy().decode() == run(fn, example)[0][1]
