"""Preprocessors that turn rationale datasets into WT5 text-to-text examples.

Every preprocessor takes a `tf.data.Dataset` of TFDS examples and returns a
dataset of `{"inputs": tf.string, "targets": tf.string}`. All work happens in
graph mode inside `tf.data`: there is no Python code per example.

A WT5 target is the label followed by its explanations, joined with
`" explanation: "`:

    "entailment explanation: Snow is white. explanation: Covered means hidden."

With no explanation the target is the label. e-SNLI leaves out empty
explanations; CoS-E, extractive rationales and MultiRC keep an empty
explanation as an empty part ("positive explanation:  explanation: e"), as the
2020 WT5 code does.

A label index must name one of the label names: -1 (unlabelled) gives
"<unk>", any other index outside the names fails inside `tf.data` with an
error that names the value and the valid range.
"""

from typing import Optional, Sequence

import seqio
import tensorflow.compat.v2 as tf

from wt5.answers import EXPLANATION_SEPARATOR
NLI_LABELS = ("entailment", "neutral", "contradiction")
SENTIMENT_LABELS = ("negative", "positive")
MULTIRC_LABELS = ("False", "True")
UNKNOWN_LABEL = "<unk>"


def _label_name(label_names: Sequence[str], label: tf.Tensor, what: str,
                negative_is_unlabelled: bool = False) -> tf.Tensor:
  """Returns `label_names[label]`; "<unk>" for the unlabelled -1.

  `_label_name(("False", "True"), 1, "eraser_multi_rc")` -> b"True";
  `_label_name(("False", "True"), -1, "eraser_multi_rc")` -> b"<unk>".
  With `negative_is_unlabelled` every negative index gives "<unk>". Any other
  index fails (tf.errors.InvalidArgumentError) with the message
  "eraser_multi_rc: label 2 is out of range: valid labels are 0..1
  (False, True), or -1 (unlabelled)".
  """
  count = len(label_names)
  names = tf.constant(list(label_names) + [UNKNOWN_LABEL])
  label = tf.cast(label, tf.int64)
  if negative_is_unlabelled:
    unlabelled = label < 0
    unlabelled_text = "a negative index (unlabelled)"
  else:
    unlabelled = tf.equal(label, -1)
    unlabelled_text = "-1 (unlabelled)"
  valid = tf.logical_or(unlabelled, tf.logical_and(label >= 0, label < count))
  message = tf.strings.join([
      "%s: label " % what, tf.strings.as_string(label),
      " is out of range: valid labels are 0..%d (%s), or %s" % (
          count - 1, ", ".join(label_names), unlabelled_text)])
  check = tf.debugging.Assert(valid, [message])
  with tf.control_dependencies([check]):
    index = tf.where(unlabelled, tf.constant(count, tf.int64), label)
  return tf.gather(names, index)


def join_explanations(label: tf.Tensor, explanations: tf.Tensor,
                       separator: str = EXPLANATION_SEPARATOR) -> tf.Tensor:
  """Joins a label and its explanations, empty ones included, with `separator`.

  `join_explanations("True", ["A.", "", "B."])` ->
  b"True explanation: A. explanation:  explanation: B."
  """
  explanations = tf.reshape(tf.convert_to_tensor(explanations, tf.string), [-1])
  parts = tf.concat([tf.reshape(label, [1]), explanations], axis=0)
  return tf.strings.reduce_join(parts, separator=separator)


def _non_empty(explanations: Sequence[tf.Tensor]) -> tf.Tensor:
  """Returns the non-empty strings of `explanations` as a vector.

  `_non_empty(["A.", "", " "])` -> [b"A.", b" "].
  """
  explanations = tf.stack(explanations)
  return tf.boolean_mask(explanations, tf.strings.length(explanations) > 0)


@seqio.map_over_dataset
def _cos_e_example(x, prefix, question_prefix, choice_prefix,
                   drop_explanations):
  choices = tf.strings.reduce_join(
      tf.strings.join([choice_prefix, " ", x["choices"]]), separator=" ")
  inputs = tf.strings.join([prefix, question_prefix, x["question"], choices],
                           separator=" ")
  if drop_explanations:
    targets = x["answer"]
  else:
    targets = join_explanations(x["answer"], x["abstractive_explanation"])
  return {"inputs": inputs, "targets": targets}


def cos_e(dataset: tf.data.Dataset,
          prefix: str = "explain cos_e",
          question_prefix: str = "question:",
          choice_prefix: str = "choice:",
          drop_explanations: bool = False) -> tf.data.Dataset:
  """Preprocesses CoS-E (commonsense QA with explanations).

  {question: "Where do fish live?", choices: ["water", "sky"], answer: "water",
   abstractive_explanation: "Fish need water."} with prefix="explain nli",
  question_prefix="premise:" ->
    inputs  "explain nli premise: Where do fish live? choice: water choice: sky"
    targets "water explanation: Fish need water."

  An empty `abstractive_explanation` stays an empty part ("water
  explanation: "); with no choices the inputs end with the space that would
  precede them ("explain cos_e question: Where? ").
  """
  return _cos_e_example(dataset, prefix=prefix,
                        question_prefix=question_prefix,
                        choice_prefix=choice_prefix,
                        drop_explanations=drop_explanations)


@seqio.map_over_dataset
def _esnli_example(x, prefix, drop_explanations, add_choices):
  inputs = tf.strings.join(
      [prefix, " hypothesis: ", x["hypothesis"], " premise: ", x["premise"]])
  if add_choices:
    inputs = tf.strings.join(
        [inputs, "".join(" choice: " + n for n in NLI_LABELS)])
  label = _label_name(NLI_LABELS, x["label"], "esnli")
  if drop_explanations:
    targets = label
  else:
    explanations = [x.get("explanation_%d" % i, tf.constant(""))
                    for i in (1, 2, 3)]
    targets = join_explanations(label, _non_empty(explanations))
  return {"inputs": inputs, "targets": targets}


def esnli(dataset: tf.data.Dataset,
          prefix: str = "explain nli",
          drop_explanations: bool = False,
          add_choices: bool = False) -> tf.data.Dataset:
  """Preprocesses e-SNLI (natural language inference with explanations).

  {premise: "Snow covers the road.", hypothesis: "The road is white.",
   label: 0, explanation_1: "Snow is white.", explanation_2: "",
   explanation_3: "Covered means hidden."} ->
    inputs  "explain nli hypothesis: The road is white. premise: Snow covers the road."
    targets "entailment explanation: Snow is white. explanation: Covered means hidden."

  With `add_choices` the inputs end in
  " choice: entailment choice: neutral choice: contradiction". Empty (or
  absent) explanations are left out. Label -1 gives "<unk>"; 3 or more is an
  error.
  """
  return _esnli_example(dataset, prefix=prefix,
                        drop_explanations=drop_explanations,
                        add_choices=add_choices)


@seqio.map_over_dataset
def _imdb_example(x, prefix, output_classes):
  return {"inputs": tf.strings.join([prefix, ": ", x["text"]]),
          "targets": _label_name(output_classes, x["label"], "imdb_reviews",
                                 negative_is_unlabelled=True)}


def imdb_reviews(dataset: tf.data.Dataset,
                 prefix: str = "sentiment",
                 output_classes: Sequence[str] = SENTIMENT_LABELS
                 ) -> tf.data.Dataset:
  """Preprocesses IMDB movie reviews.

  {text: "A fine film.", label: 1} -> inputs "sentiment: A fine film.",
  targets "positive". The unlabelled split (label -1; any negative label)
  gets targets "<unk>"; a label of `len(output_classes)` or more is an error.
  """
  return _imdb_example(dataset, prefix=prefix,
                       output_classes=tuple(output_classes))


@seqio.map_over_dataset
def _amazon_example(x, prefix, binary_output):
  data = x["data"]
  inputs = tf.strings.join([prefix, " review: ", data["review_headline"], " ",
                            data["review_body"]])
  stars = tf.cast(data["star_rating"], tf.int32)
  if binary_output:
    targets = tf.where(stars < 3, "negative", "positive")
  else:
    targets = tf.strings.as_string(stars)
  return {"inputs": inputs, "targets": targets}


def amazon_reviews(dataset: tf.data.Dataset,
                   prefix: str = "sentiment",
                   binary_output: bool = True) -> tf.data.Dataset:
  """Preprocesses Amazon product reviews (`amazon_us_reviews`).

  {data: {review_headline: "Great", review_body: "Works well.",
          star_rating: 5}} ->
    inputs "sentiment review: Great Works well.", targets "positive".

  With `binary_output`, 3-star reviews are dropped, fewer stars are
  "negative" and more are "positive". Otherwise the target is the star
  rating as a decimal string ("5") and nothing is dropped.
  """
  if binary_output:
    dataset = dataset.filter(
        lambda x: tf.not_equal(tf.cast(x["data"]["star_rating"], tf.int32), 3))
  return _amazon_example(dataset, prefix=prefix, binary_output=binary_output)


@seqio.map_over_dataset
def _extractive_example(x, prefix, input_feature, output_classes,
                        drop_explanations):
  inputs = tf.strings.join([prefix, " ", input_feature, ": ",
                            x[input_feature]])
  label = _label_name(output_classes, x["label"], "extractive_explanations")
  if drop_explanations:
    targets = label
  else:
    targets = join_explanations(label, x["evidences"])
  return {"inputs": inputs, "targets": targets}


def extractive_explanations(dataset: tf.data.Dataset,
                            prefix: str = "explain sentiment",
                            input_feature: str = "review",
                            output_classes: Optional[Sequence[str]] = (
                                SENTIMENT_LABELS),
                            drop_explanations: bool = False
                            ) -> tf.data.Dataset:
  """Preprocesses a dataset whose explanations are spans of the input.

  Movie rationales: {review: "dull plot, great cast", label: 1,
  evidences: ["great cast"]} ->
    inputs  "explain sentiment review: dull plot, great cast"
    targets "positive explanation: great cast"

  `output_classes=None` means ("negative", "positive"). Every evidence is
  kept, an empty one as an empty part ("positive explanation:  explanation:
  great cast").
  """
  return _extractive_example(
      dataset, prefix=prefix, input_feature=input_feature,
      output_classes=tuple(output_classes or SENTIMENT_LABELS),
      drop_explanations=drop_explanations)


def _split_query_and_answer(query_and_answer: tf.Tensor):
  """Returns the stripped first and second "||" segments: question and answer.

  "Who reads? ||  Bob " -> (b"Who reads?", b"Bob"); "q||a||b" -> (b"q", b"a");
  "q||||a" -> (b"q", b""). Without "||" the answer is empty.
  """
  parts = tf.concat([tf.strings.split(query_and_answer, "||"), [""]], axis=0)
  return tf.strings.strip(parts[0]), tf.strings.strip(parts[1])


@seqio.map_over_dataset
def _multi_rc_example(x, prefix, input_features, explanation_separator,
                      drop_explanations):
  query, answer = _split_query_and_answer(x["query_and_answer"])
  values = dict(x, query=query, answer=answer)
  fields = [tf.strings.join([name, ": ", values[name]])
            for name in input_features]
  inputs = tf.strings.join([prefix] + fields, separator=" ")
  label = _label_name(MULTIRC_LABELS, x["label"], "eraser_multi_rc")
  if drop_explanations:
    targets = label
  else:
    targets = join_explanations(label, x["evidences"],
                                 " %s " % explanation_separator)
  return {"inputs": inputs, "targets": targets}


def eraser_multi_rc(dataset: tf.data.Dataset,
                    prefix: str = "explain multirc",
                    input_features: Optional[Sequence[str]] = None,
                    explanation_separator: str = "explanation:",
                    drop_explanations: bool = False) -> tf.data.Dataset:
  """Preprocesses ERASER MultiRC (reading comprehension with evidence).

  {passage: "Ann sings. Bob reads.", query_and_answer: "Who reads? ||  Bob ",
   label: 1, evidences: ["Bob reads."]} ->
    inputs  "explain multirc passage: Ann sings. Bob reads. query: Who reads? answer: Bob"
    targets "True explanation: Bob reads."

  `input_features=None` means ("passage", "query", "answer"); "query" and
  "answer" are the first and second segments of `query_and_answer` split on
  "||" (anything after a second "||" is not used). Empty evidences are kept
  as empty parts.
  """
  return _multi_rc_example(
      dataset, prefix=prefix,
      input_features=tuple(input_features or ("passage", "query", "answer")),
      explanation_separator=explanation_separator,
      drop_explanations=drop_explanations)


@seqio.map_over_dataset
def _hypothesis_example(x, label_names, prefix):
  inputs = tf.strings.join([prefix, " premise: ", x["premise"], " label: ",
                            _label_name(label_names, x["label"],
                                        "hypothesis_prediction")])
  return {"inputs": inputs, "targets": x["hypothesis"]}


def hypothesis_prediction(dataset: tf.data.Dataset,
                          label_names: Sequence[str],
                          prefix: str = "hyp") -> tf.data.Dataset:
  """Asks for a hypothesis that has the given label against the premise.

  {premise: "Snow covers the road.", hypothesis: "The road is white.",
   label: 0} with NLI label names ->
    inputs "hyp premise: Snow covers the road. label: entailment",
    targets "The road is white."
  """
  return _hypothesis_example(dataset, label_names=tuple(label_names),
                             prefix=prefix)


def _masked_entity_examples(x, prefix: str, mask: str) -> tf.data.Dataset:
  sentence = x["sentence"]
  pos = tf.cast(tf.reshape(x["entities"]["pos"], [-1]), tf.int32)
  length = tf.cast(tf.reshape(x["entities"]["len"], [-1]), tf.int32)
  sentences = tf.fill(tf.shape(pos), sentence)
  end = pos + length
  before = tf.strings.substr(sentences, tf.zeros_like(pos), pos)
  after = tf.strings.substr(sentences, end,
                            tf.strings.length(sentences) - end)
  entity = tf.strings.substr(sentences, pos, length)
  inputs = tf.strings.join([prefix + ": ", before, mask, after])
  return tf.data.Dataset.from_tensor_slices(
      {"inputs": inputs, "targets": entity})


def mask_named_entities(dataset: tf.data.Dataset,
                        prefix: str = "nem",
                        mask: str = "_X_") -> tf.data.Dataset:
  """Makes one example per named entity, with the entity masked.

  {sentence: "Ann met Bob.", entities: {pos: [0, 8], len: [3, 3]}} ->
    {inputs "nem: _X_ met Bob.", targets "Ann"},
    {inputs "nem: Ann met _X_.", targets "Bob"}

  Offsets are in UTF-8 bytes; a sentence with no entity yields nothing.
  """
  return dataset.flat_map(
      lambda x: _masked_entity_examples(x, prefix=prefix, mask=mask))
