"""Property tests of the postprocessors and metrics over arbitrary input."""

import math

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import reference_2020
from wt5 import metrics
from wt5 import postprocessors
from wt5 import word_spans

SEPARATOR = " explanation: "
_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True, database=None)
_FEW = settings(max_examples=15, deadline=None, derandomize=True, database=None)


def _reference():
  import spacy
  tokenizer = spacy.blank("en").tokenizer
  return lambda output, example, is_target: reference_2020.reference_extractive_explanations(
      output, example, is_target, tokenizer)


_REFERENCE = []
_SPACY = []

# Pieces that exercise the tokenizer: specials, affixes, spacing, newlines.
_PIECES = st.sampled_from([
    " ", "  ", "\n", "\t", ".", ",", "'s", "n't", "don't", "Mr.", "U.S.", "U.S",
    "(", ")", '"', "-", "$5", "e.g.", "😀", "ü", "explanation:", SEPARATOR,
    " explanation:", "explanation: ", "a", "b", "the",
])
_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=25).map("".join),
)


@st.composite
def _case(draw):
  """An input text, and an output whose explanations are often taken from it."""
  text = draw(_TEXT)
  flat = text.replace("\n", " ")
  explanations = []
  for _ in range(draw(st.integers(0, 5))):
    if flat and draw(st.booleans()):
      start = draw(st.integers(0, len(text) - 1))
      explanations.append(text[start:start + draw(st.integers(0, 20))])
    else:
      explanations.append(draw(_TEXT))
  label = draw(_TEXT)
  output = SEPARATOR.join([label] + explanations)
  output = draw(st.sampled_from(["", SEPARATOR])) + output + draw(
      st.sampled_from(["", SEPARATOR, SEPARATOR.strip()]))
  as_bytes = draw(st.booleans())
  return (output.encode("utf-8") if as_bytes else output,
          {"inputs_pretokenized": text.encode("utf-8") if draw(st.booleans()) else text})


def _check_result(result, output, example):
  text = example["inputs_pretokenized"]
  if isinstance(text, bytes):
    text = text.decode("utf-8")
  if isinstance(output, bytes):
    output = output.decode("utf-8")
  parts = output.split(SEPARATOR)
  num_tokens = len(word_spans.tokenize(text.replace("\n", " ")))
  assert set(result) == {"label", "overlap_spans", "span_array", "explanations"}
  assert result["label"] == parts[0]
  assert len(result["span_array"]) == num_tokens
  assert len(result["overlap_spans"]) == len(result["explanations"])
  assert len(set(result["explanations"])) == len(result["explanations"])
  assert set(result["explanations"]) <= set(parts[1:])
  covered = [0] * num_tokens
  for (start, end), explanation in zip(result["overlap_spans"],
                                       result["explanations"]):
    if explanation:
      assert 0 <= start < end <= num_tokens
    else:  # The empty explanation is the empty run at the start.
      assert (start, end) == (0, 0)
    covered[start:end] = [1] * (end - start)
  assert result["span_array"] == covered


def _located(is_target, output, example):
  """The library's result, or the error class it raised."""
  try:
    return postprocessors.extractive_explanations(
        output, example=example, is_target=is_target)
  except postprocessors.RationaleNotFoundError:
    return postprocessors.RationaleNotFoundError


def _reference_located(is_target, output, example):
  if not _REFERENCE:
    _REFERENCE.append(_reference())
  try:
    return _REFERENCE[0](output, example, is_target)
  except postprocessors.RationaleNotFoundError:
    return postprocessors.RationaleNotFoundError


@_SETTINGS
@given(_case())
def test_extractive_predictions_never_raise(case):
  output, example = case
  result = _located(False, output, example)
  assert result is not postprocessors.RationaleNotFoundError
  _check_result(result, output, example)
  assert result == _reference_located(False, output, example)


@_SETTINGS
@given(_case())
def test_extractive_targets_raise_only_for_absent_rationales(case):
  output, example = case
  result = _located(True, output, example)
  text = example["inputs_pretokenized"]
  text = (text.decode("utf-8") if isinstance(text, bytes) else text).replace("\n", " ")
  out = output.decode("utf-8") if isinstance(output, bytes) else output
  absent = [e for e in out.split(SEPARATOR)[1:] if e.replace("\n", " ") not in text]
  if result is postprocessors.RationaleNotFoundError:
    assert absent
  else:
    _check_result(result, output, example)
  if not absent:
    assert result is not postprocessors.RationaleNotFoundError
  assert result == _reference_located(True, output, example)


@_SETTINGS
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", "replace").encode())),
       st.sampled_from([SEPARATOR, " because: ", "|"]))
def test_abstractive_never_raises(output, separator):
  result = postprocessors.abstractive_explanations(output, separator=separator)
  text = output.decode("utf-8") if isinstance(output, bytes) else output
  assert [result["label"]] + result["explanations"] == text.split(separator)


@_SETTINGS
@given(st.text(max_size=300))
def test_token_offsets_match_the_text(text):
  tokenized = word_spans.tokenize_with_offsets(text)
  tokens = tokenized.tokens
  if not _SPACY:
    import spacy
    _SPACY.append(spacy.blank("en").tokenizer)
  doc = _SPACY[0](text)
  assert tokens == [token.text for token in doc]
  assert list(tokenized.starts) == [token.idx for token in doc]
  assert all(token for token in tokens)
  assert [text[s:e] for s, e in zip(tokenized.starts, tokenized.ends)] == tokens
  assert list(tokenized.starts) == sorted(tokenized.starts)


@_FEW
@given(st.integers(20_000, 200_000), st.text(min_size=1, max_size=30),
       st.booleans())
def test_huge_strings(size, piece, as_target):
  text = (piece * (size // len(piece) + 1))[:size]
  output = "label" + SEPARATOR + text[size // 2:size // 2 + 50] + SEPARATOR + text
  result = postprocessors.extractive_explanations(
      output, example={"inputs_pretokenized": text}, is_target=as_target)
  _check_result(result, output, {"inputs_pretokenized": text})
  predictions = [result]
  for metric in (metrics.extractive_explanations_metric, metrics.eraser_rationale_metrics,
                 metrics.esnli_metric):
    _check_metric(metric(predictions, predictions))


_LABEL = st.one_of(st.text(max_size=10), st.binary(max_size=10), st.integers(),
                   st.none(), st.floats(), st.booleans())


@st.composite
def _postprocessed(draw, labels=_LABEL):
  """Lists of target and prediction dicts as the postprocessors make them."""
  size = draw(st.integers(0, 6))
  targets, predictions = [], []
  for _ in range(size):
    num_tokens = draw(st.integers(0, 12))
    pair = []
    for _ in range(2):
      spans = []
      for _ in range(draw(st.integers(0, 4))):
        if num_tokens == 0:
          break
        start = draw(st.integers(0, num_tokens - 1))
        spans.append((start, draw(st.integers(start + 1, num_tokens))))
      array = [0] * num_tokens
      for start, end in spans:
        array[start:end] = [1] * (end - start)
      pair.append({"label": draw(labels), "overlap_spans": spans, "span_array": array,
                   "explanations": draw(st.lists(st.text(max_size=20), max_size=3))})
    targets.append(pair[0])
    predictions.append(pair[1])
  return targets, predictions


_RANGES = {
    "accuracy": 100, "f1": 100, "partial match f1": 100, "bleu": 100,
    "iou_precision": 1, "iou_recall": 1, "iou_f1": 1, "token_precision": 1,
    "token_recall": 1, "token_f1": 1,
}


def _check_metric(result):
  for key, value in result.items():
    assert math.isfinite(value), (key, value)
    assert value >= 0, (key, value)
    if key in _RANGES:
      assert value <= _RANGES[key], (key, value)


@_SETTINGS
@given(_postprocessed())
def test_metrics_finite_and_in_range(lists):
  targets, predictions = lists
  extractive = metrics.extractive_explanations_metric(targets, predictions)
  assert set(extractive) == {"accuracy", "f1", "partial match f1", "avg_explanation_count"}
  _check_metric(extractive)
  eraser = metrics.eraser_rationale_metrics(targets, predictions)
  assert set(eraser) == {"iou_precision", "iou_recall", "iou_f1", "token_precision",
                         "token_recall", "token_f1"}
  _check_metric(eraser)
  esnli = metrics.esnli_metric(targets, predictions)
  assert set(esnli) == {"accuracy", "bleu", "expln1_length"}
  _check_metric(esnli)
  assert isinstance(esnli["expln1_length"], int)


@_SETTINGS
@given(st.lists(_case(), max_size=4))
def test_postprocessed_fuzz_through_metrics(cases):
  targets, predictions = [], []
  for output, example in cases:
    text = example["inputs_pretokenized"]
    target = "label" + SEPARATOR + (text.decode("utf-8") if isinstance(text, bytes) else text)
    targets.append(postprocessors.extractive_explanations(target, example=example, is_target=True))
    predictions.append(postprocessors.extractive_explanations(output, example=example))
  _check_metric(metrics.extractive_explanations_metric(targets, predictions))
  _check_metric(metrics.eraser_rationale_metrics(targets, predictions))
  abstractive = [postprocessors.abstractive_explanations(output) for output, _ in cases]
  _check_metric(metrics.esnli_metric(abstractive, abstractive[::-1]))




@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(_postprocessed(labels=st.sampled_from(["a", "b", "a\x00", "1", 1, 0.0, True])))
def test_extractive_metric_equals_the_2020_computation(lists):
  """Where the 2020 computation (scikit-learn) returns, the values agree."""
  targets, predictions = lists
  import warnings
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      expected = reference_2020.reference_metric(targets, predictions)
  except (TypeError, ValueError, ZeroDivisionError):
    return  # The 2020 code raises here (labels, empty arrays, no examples).
  result = metrics.extractive_explanations_metric(targets, predictions)
  assert set(result) == set(expected)
  for key, value in expected.items():
    assert abs(result[key] - value) <= 1e-9, (key, result, expected)

