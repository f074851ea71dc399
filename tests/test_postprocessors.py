"""Tests of wt5.postprocessors and wt5.word_spans."""

import logging
import random

from absl import logging as absl_logging
import pytest

import reference_2020
from wt5 import postprocessors
from wt5 import word_spans

# abstractive_explanations


@pytest.mark.parametrize("output", ["neutral explanation: A. explanation: B.",
                                    b"neutral explanation: A. explanation: B."])
def test_abstractive_str_and_bytes(output):
  assert postprocessors.abstractive_explanations(
      output, example={"inputs_pretokenized": b"x"}, is_target=True) == {
          "label": "neutral", "explanations": ["A.", "B."]}


@pytest.mark.parametrize("output,expected", [
    ("entailment", {"label": "entailment", "explanations": []}),
    (" explanation: ", {"label": "", "explanations": [""]}),
    ("", {"label": "", "explanations": []}),
    ("a explanation: x explanation: x", {"label": "a", "explanations": ["x", "x"]}),
    ("café explanation: naïve ☕", {"label": "café", "explanations": ["naïve ☕"]}),
])
def test_abstractive_edge_cases(output, expected):
  assert postprocessors.abstractive_explanations(output) == expected


def test_abstractive_custom_separator():
  assert postprocessors.abstractive_explanations(
      "True because: A because: B", separator=" because: ") == {
          "label": "True", "explanations": ["A", "B"]}


def test_empty_separator_is_an_error():
  with pytest.raises(ValueError, match="separator must be a non-empty string"):
    postprocessors.abstractive_explanations("a", separator="")


# The default tokenizer


def test_default_tokenizer_tokens():
  assert word_spans.tokenize("I don't like it, Mr. Smith's cat!") == [
      "I", "do", "n't", "like", "it", ",", "Mr.", "Smith", "'s", "cat", "!"]


def test_tokenize_with_offsets():
  tokenized = word_spans.tokenize_with_offsets("It's fine.  Really")
  assert tokenized.tokens == ["It", "'s", "fine", ".", " ", "Really"]
  assert list(tokenized.starts) == [0, 2, 5, 9, 11, 12]
  assert list(tokenized.ends) == [2, 4, 9, 10, 12, 18]
  assert len(tokenized) == 6
  assert tokenized.token(5) == "Really"
  assert tokenized.covering_span(3, 7) == (1, 3)
  assert tokenized.covering_span(10, 11) is None
  assert word_spans.tokenize_with_offsets("a b a c").find(
      word_spans.tokenize_with_offsets("a c")) == (2, 4)
  assert word_spans.tokenize_with_offsets("a b").find(
      word_spans.tokenize_with_offsets("")) == (0, 0)
  assert word_spans.tokenize_with_offsets("a").find(
      word_spans.tokenize_with_offsets("a b")) is None


def test_tokenize_non_ascii_offsets():
  tokenized = word_spans.tokenize_with_offsets("x😀. Ünïcødé")
  assert tokenized.tokens == ["x", "😀", ".", "Ünïcødé"]
  assert list(tokenized.starts) == [0, 1, 2, 4]


def test_token_cache_is_bounded(monkeypatch):
  word_spans.clear_cache()
  monkeypatch.setattr(word_spans, "CACHE_MAX_TEXTS", 2)
  monkeypatch.setattr(word_spans, "CACHE_MAX_CHARS", 10)
  for text in ["one", "two", "one", "three", "two", "abcdefghijk"]:
    word_spans.tokenize(text)
  # "one" hit once; "three" evicted "two"; "abcdefghijk" (11 > 10) not kept.
  assert word_spans.cache_info() == {
      "hits": 1, "misses": 5, "texts": 2, "chars": 8, "max_texts": 2,
      "max_chars": 10}
  word_spans.clear_cache()
  assert word_spans.cache_info()["texts"] == 0


def test_token_cache_limits_from_environment(monkeypatch):
  word_spans.clear_cache()
  monkeypatch.setenv("WT5_TOKENIZER_CACHE_TEXTS", "1")
  monkeypatch.setenv("WT5_TOKENIZER_CACHE_CHARS", "0")
  word_spans.tokenize("not kept")
  assert word_spans.cache_info()["texts"] == 0
  monkeypatch.setenv("WT5_TOKENIZER_CACHE_CHARS", "100")
  word_spans.tokenize("a")
  word_spans.tokenize("b")
  info = word_spans.cache_info()
  assert (info["texts"], info["max_texts"], info["max_chars"]) == (1, 1, 100)
  monkeypatch.setenv("WT5_TOKENIZER_CACHE_TEXTS", "many")
  with pytest.raises(ValueError, match="WT5_TOKENIZER_CACHE_TEXTS must be an integer"):
    word_spans.tokenize("c")
  word_spans.clear_cache()


def test_spacy_tokenizer_is_rebuilt_without_changing_tokens(monkeypatch):
  word_spans.clear_cache()
  monkeypatch.setattr(word_spans, "SPACY_RESET_CHARS", 5)
  monkeypatch.setattr(word_spans, "CACHE_MAX_TEXTS", 0)
  first = word_spans._get_spacy_tokenizer()
  assert word_spans.tokenize("Don't stop.") == ["Do", "n't", "stop", "."]
  assert word_spans._get_spacy_tokenizer() is not first
  assert word_spans.tokenize("Don't stop.") == ["Do", "n't", "stop", "."]


# extractive_explanations

_SPEC_EXAMPLE = {"inputs_pretokenized": b"explain review: dull plot, great cast"}
_SPEC_OUTPUT = "positive explanation: great cast explanation: great cast explanation: bad"


def test_spec_example_with_characters_as_tokens():
  assert postprocessors.extractive_explanations(
      _SPEC_OUTPUT, tokenizer_fn=list, example=_SPEC_EXAMPLE) == {
          "label": "positive",
          "overlap_spans": [(27, 37)],
          "span_array": [0] * 27 + [1] * 10,
          "explanations": ["great cast"],
      }


@pytest.mark.parametrize("output", [_SPEC_OUTPUT, _SPEC_OUTPUT.encode()])
@pytest.mark.parametrize("inputs", [_SPEC_EXAMPLE["inputs_pretokenized"],
                                    _SPEC_EXAMPLE["inputs_pretokenized"].decode()])
def test_spec_example_with_spacy(output, inputs):
  # Tokens: explain review : dull plot , great cast
  assert postprocessors.extractive_explanations(
      output, example={"inputs_pretokenized": inputs}) == {
          "label": "positive",
          "overlap_spans": [(6, 8)],
          "span_array": [0, 0, 0, 0, 0, 0, 1, 1],
          "explanations": ["great cast"],
      }


def test_predictions_not_found_are_dropped_and_logged(caplog):
  # Other modules (TensorFlow, t5) may lower absl's verbosity; log at INFO here.
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.INFO)
  absl_logging.get_absl_logger().propagate = True
  caplog.set_level(logging.INFO)
  try:
    result = _drop_two_of_three()
  finally:
    absl_logging.set_verbosity(verbosity)
  assert result == {"label": "negative", "overlap_spans": [(3, 5)],
                    "span_array": [0, 0, 0, 1, 1, 0, 0, 0],
                    "explanations": ["dull plot"]}
  assert ("dropped 2 of 3 predicted explanation(s) not found in the input text"
          in caplog.text)


def _drop_two_of_three():
  return postprocessors.extractive_explanations(
      "negative explanation: dull plot explanation: awful explanation: dull plot"
      " explanation: bad acting", example=_SPEC_EXAMPLE, is_target=False)


def test_target_not_in_input_is_a_clear_error():
  with pytest.raises(postprocessors.RationaleNotFoundError) as info:
    postprocessors.extractive_explanations(
        b"positive explanation: great cast explanation: superb music",
        example={"inputs_pretokenized": "explain review: " + "dull plot, great cast " * 20},
        is_target=True)
  message = str(info.value)
  assert message.startswith(
      "ground-truth explanation 'superb music' (label 'positive') does not "
      "occur in the input text 'explain review: dull plot, great cast dull")
  assert message.endswith("...'")
  assert isinstance(info.value, ValueError)


def test_target_tokenized_differently_in_context_is_found():
  example = {"inputs_pretokenized": "explain review: He said Mr. Smith was great.\nI'm done."}
  # In context: explain review : He said Mr. Smith was great . I 'm done .
  # Alone, "said Mr" gives ["said", "Mr"] and "m done" gives ["m", "done"].
  assert postprocessors.extractive_explanations(
      "positive explanation: said Mr explanation: m done explanation: was great.\nI",
      example=example, is_target=True) == {
          "label": "positive",
          "overlap_spans": [(4, 6), (11, 13), (7, 11)],
          "span_array": [0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0],
          "explanations": ["said Mr", "m done", "was great.\nI"],
      }


def test_token_run_match_comes_before_first_text_occurrence():
  # "in the U.S" first occurs inside "in the U.S." (tokens in the U.S.), but
  # its tokens ["in", "the", "U.S"] occur as a run only at the end.
  example = {"inputs_pretokenized": "explain review: made in the U.S. and sold in the U.S"}
  result = postprocessors.extractive_explanations(
      "positive explanation: in the U.S", example=example, is_target=True)
  assert result["overlap_spans"] == [(9, 12)]
  assert result["span_array"] == [0] * 9 + [1] * 3


def test_newlines_in_input_become_spaces():
  example = {"inputs_pretokenized": b"explain review:\nfine\n\nfilm"}
  assert postprocessors.extractive_explanations(
      "positive explanation: fine  film explanation: fine film", example=example) == {
          "label": "positive",
          "overlap_spans": [(3, 6)],
          "span_array": [0, 0, 0, 1, 1, 1],
          "explanations": ["fine  film"],
      }


@pytest.mark.parametrize("output,expected", [
    ("positive", {"label": "positive", "overlap_spans": [], "span_array": [0] * 8,
                  "explanations": []}),
    (" explanation: ", {"label": "", "overlap_spans": [(0, 0)],
                        "span_array": [0] * 8, "explanations": [""]}),
    ("", {"label": "", "overlap_spans": [], "span_array": [0] * 8,
          "explanations": []}),
    ("positive explanation:  ", {"label": "positive", "overlap_spans": [],
                                 "span_array": [0] * 8, "explanations": []}),
])
def test_edge_outputs_as_targets(output, expected):
  assert postprocessors.extractive_explanations(
      output, example=_SPEC_EXAMPLE, is_target=True) == expected


def test_empty_input_text():
  assert postprocessors.extractive_explanations(
      "positive explanation: x", example={"inputs_pretokenized": b""}) == {
          "label": "positive", "overlap_spans": [], "span_array": [],
          "explanations": []}


def test_non_ascii_and_long_input():
  text = "explain review: " + "très bon film, génial 😀! " * 2000 + "fin"
  result = postprocessors.extractive_explanations(
      "positive explanation: génial 😀! fin explanation: ☃",
      example={"inputs_pretokenized": text.encode("utf-8")})
  assert result["overlap_spans"] == [(14000, 14004)]
  assert result["explanations"] == ["génial 😀! fin"]
  assert len(result["span_array"]) == 14004  # 3 + 7 * 2000 + 1
  assert sum(result["span_array"]) == 4


def test_missing_example_is_a_clear_error():
  with pytest.raises(ValueError, match="needs example=<the evaluated example>"):
    postprocessors.extractive_explanations("positive explanation: x")
  with pytest.raises(ValueError, match=r"'inputs_pretokenized' in example; it has \['inputs', 'targets'\]"):
    postprocessors.extractive_explanations(
        "positive explanation: x", example={"inputs": [1], "targets": [2]})
  with pytest.raises(TypeError, match="must be str or bytes, got int"):
    postprocessors.extractive_explanations(
        "positive explanation: x", example={"inputs_pretokenized": 7})


def test_numpy_scalar_input():
  import numpy as np
  result = postprocessors.extractive_explanations(
      np.bytes_(b"positive explanation: great cast"),
      example={"inputs_pretokenized": np.array(b"explain review: great cast", dtype=object)})
  assert result["overlap_spans"] == [(3, 5)]


def test_custom_match_fn_and_tokenizer():
  def last_match(input_tokens, explanation_tokens):
    width = len(explanation_tokens)
    for start in range(len(input_tokens) - width, -1, -1):
      if width and input_tokens[start:start + width] == explanation_tokens:
        return [start, start + width]
    return None
  example = {"inputs_pretokenized": "explain review: good, good"}
  # The span is kept as match_fn returns it (here a list), as in 2020.
  assert postprocessors.extractive_explanations(
      "positive explanation: good", match_fn=last_match,
      example=example)["overlap_spans"] == [[5, 6]]
  assert postprocessors.extractive_explanations(
      "positive explanation: good", tokenizer_fn=str.split, match_fn=last_match,
      example=example)["overlap_spans"] == [[3, 4]]
  # str.split tokens: explain review: good, good. "good" alone matches the
  # last token; "od, go" only by characters, touching tokens 2 and 3.
  assert postprocessors.extractive_explanations(
      "positive explanation: good explanation: od, go", tokenizer_fn=str.split,
      example=example, is_target=True)["overlap_spans"] == [(3, 4), (2, 4)]
  assert postprocessors.extractive_explanations(
      "positive explanation: good", tokenizer_fn=word_spans.tokenize,
      example=example)["overlap_spans"] == [(3, 4)]


@pytest.mark.parametrize("span,expected_spans,expected_array", [
    # Any true value is a found span; span_array[start:end] is marked with
    # slice semantics (clipped, negative from the end), as the 2020 code did.
    ((0, 99), [(0, 99)], [1] * 6),
    ((4, -1), [(4, -1)], [0, 0, 0, 0, 1, 0]),
    ((3, 3), [(3, 3)], [0] * 6),
    ((5, 2), [(5, 2)], [0] * 6),
    # A false value means not found.
    ((), [], [0] * 6),
    (0, [], [0] * 6),
])
def test_match_fn_results_are_used_as_2020_used_them(span, expected_spans,
                                                      expected_array):
  result = postprocessors.extractive_explanations(
      "positive explanation: good", match_fn=lambda a, b: span,
      example={"inputs_pretokenized": "explain review: good, good"})
  assert result["overlap_spans"] == expected_spans
  assert result["span_array"] == expected_array
  assert result["explanations"] == (["good"] if expected_spans else [])


@pytest.mark.parametrize("span", [(1.5, 2), "ab", (1,), True])
def test_match_fn_result_that_is_no_span_is_a_clear_error(span):
  with pytest.raises(ValueError, match="match_fn must return None or "
                     r"\(start, end\) integers, got "):
    postprocessors.extractive_explanations(
        "positive explanation: good", match_fn=lambda a, b: span,
        example={"inputs_pretokenized": "explain review: good"})


def test_find_token_run():
  assert postprocessors.find_token_run(["a", "b", "a", "c"], ["a", "c"]) == (2, 4)
  assert postprocessors.find_token_run(["a", "b"], ["b", "c"]) is None
  assert postprocessors.find_token_run(["a"], []) == (0, 0)
  assert postprocessors.find_token_run([], []) == (0, 0)
  assert postprocessors.find_token_run([], ["a"]) is None
  assert postprocessors.find_token_run(["a", "a", "a", "b"], ["a", "a", "b"]) == (1, 4)
  # Slices compare with ==: a tuple of tokens never equals a list slice.
  assert postprocessors.find_token_run(("x", "a"), ("a",)) == (1, 2)
  assert postprocessors.find_token_run(["x", "a"], ("a",)) is None
  assert postprocessors.find_token_run("xay", "ay") == (1, 3)


def _adversarial_examples(count, seed):
  """Short inputs with specials, spacing and explanations cut anywhere."""
  rng = random.Random(seed)
  words = ["the", "U.S.", "U.S", "Mr.", "Mr", "don't", "do", "n't", "it's", "(a)",
           "well-known", "well", "-", "$5", "$", "5", "etc.", "no.", "no", "I'm",
           "m", '"quote"', "end.", "😀", "naïve", "a", "b", "c"]
  spaces = [" ", " ", " ", " ", "  ", "\n", "\t", ""]
  cases = []
  for _ in range(count):
    text = "".join(rng.choice(words) + rng.choice(spaces)
                   for _ in range(rng.randint(0, 30)))
    flat = text.replace("\n", " ")
    explanations = []
    for _ in range(rng.randint(0, 5)):
      roll = rng.random()
      if roll < 0.6 and text:
        start = rng.randrange(len(text))
        explanations.append(text[start:start + rng.randint(0, 25)])
      elif roll < 0.8:
        explanations.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 4))))
      else:
        explanations.append(rng.choice(["", " ", "  ", "\n"]))
    output = " explanation: ".join(["label"] + explanations)
    is_target = all(e.replace("\n", " ") in flat for e in explanations)
    cases.append((output, {"inputs_pretokenized": text}, is_target))
  return cases


def test_fast_path_equals_reference():
  import spacy
  reference_tokenizer = spacy.blank("en").tokenizer
  word_spans.clear_cache()
  cases = _adversarial_examples(300, seed=7)
  examples = reference_2020.make_examples(12, seed=3)
  cases += [(e["targets"], e, True) for e in examples]
  for checkpoint in range(3):
    cases += [(p, e, False) for p, e in zip(
        reference_2020.make_predictions(examples, checkpoint, seed=3), examples)]
  compared = 0
  for output, example, is_target in cases:
    expected = reference_2020.reference_extractive_explanations(
        output, example, is_target, reference_tokenizer)
    assert postprocessors.extractive_explanations(
        output, example=example, is_target=is_target) == expected, (output, example)
    compared += 1
  assert compared == 348


def test_long_and_short_texts_get_the_same_token_codes():
  # Texts over 64 tokens take the numpy path, shorter ones plain Python.
  words = ["Don't", "U.S.", "naïve", "😀", "the", "cat"]
  short = word_spans.tokenize_with_offsets(" ".join(words))
  long_text = word_spans.tokenize_with_offsets(" ".join(words * 20))
  assert (len(short), len(long_text)) == (7, 140)
  assert long_text.codes == short.codes * 20
  assert long_text.find(word_spans.tokenize_with_offsets("cat Don't U.S.")) == (6, 10)
