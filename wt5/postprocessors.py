"""Postprocessors that split WT5 outputs into a label and its explanations.

seqio calls a task's `postprocess_fn(text, example=..., is_target=...)` on each
decoded prediction and each target string. A WT5 output is the label followed
by its explanations, joined with `" explanation: "`:

    abstractive_explanations("entailment explanation: Snow is white.")
      -> {"label": "entailment", "explanations": ["Snow is white."]}

`extractive_explanations` also locates each explanation in the example's
input text, as a span of input tokens.
"""

import bisect
import operator
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from absl import logging

from wt5 import answers
from wt5 import word_spans
from wt5.answers import EXPLANATION_SEPARATOR
_INPUT_PREVIEW_CHARS = 200

Span = Tuple[int, int]
MatchFn = Callable[[List[str], List[str]], Optional[Span]]
TokenizerFn = Callable[[str], Sequence[str]]


class RationaleNotFoundError(ValueError):
  """A ground-truth explanation does not occur in its example's input text."""


def _as_text(value: Any, what: str) -> str:
  """Returns `value` (str, bytes, or a scalar numpy/TF string) as str.

  `_as_text(b"caf\\xc3\\xa9", "output")` -> "café". Bytes that are not valid
  UTF-8 are decoded with U+FFFD replacement characters.
  """
  if isinstance(value, (str, bytes)):
    return answers.as_text(value)
  if hasattr(value, "numpy"):  # A scalar tf.Tensor.
    value = value.numpy()
  elif hasattr(value, "item") and getattr(value, "shape", None) == ():
    value = value.item()  # A 0-d numpy array.
  if isinstance(value, (str, bytes)):
    return _as_text(value, what)
  raise TypeError(f"{what} must be str or bytes, got {type(value).__name__}: "
                  f"{value!r:.100}")


def _split_output(output: Union[str, bytes],
                  separator: Union[str, bytes]) -> List[Union[str, bytes]]:
  """Splits an output into [label, explanation, ...].

  `_split_output(b"pos explanation: a", " explanation: ")` -> ["pos", "a"]:
  bytes are read as UTF-8 text. When `output` and `separator` are both
  bytes the parts stay bytes, as `bytes.split` gives them:
  `_split_output(b"pos explanation: a", b" explanation: ")` -> [b"pos", b"a"].
  """
  if not separator:
    raise ValueError("separator must be a non-empty string")
  if isinstance(output, bytes) and isinstance(separator, bytes):
    return bytes(output).split(bytes(separator))
  return _as_text(output, "output").split(_as_text(separator, "separator"))


def abstractive_explanations(output: Union[str, bytes],
                             separator: str = EXPLANATION_SEPARATOR,
                             **unused_kwargs) -> Dict[str, Any]:
  """Splits `output` into its label and the explanations that follow it.

  `abstractive_explanations("neutral explanation: A. explanation: B.")` ->
  {"label": "neutral", "explanations": ["A.", "B."]}. `output` may be bytes
  (read as UTF-8; with a bytes `separator` too, the parts stay bytes).
  Keyword arguments other than `separator` (seqio passes `example` and
  `is_target`) are ignored.
  """
  parts = _split_output(output, separator)
  return {"label": parts[0], "explanations": parts[1:]}


def find_token_run(input_tokens: Sequence[Any],
                   explanation_tokens: Sequence[Any]) -> Optional[Span]:
  """Returns the first `(start, end)` where `explanation_tokens` occur as a run.

  `find_token_run(["a", "b", "a", "c"], ["a", "c"])` -> (2, 4); `end` is
  exclusive. An empty run occurs at the start: `find_token_run(["a"], [])`
  -> (0, 0). None when the tokens do not occur. A run is a slice of
  `input_tokens` that compares equal (`==`) to `explanation_tokens`. This is
  the default `match_fn` of `extractive_explanations`.
  """
  width = len(explanation_tokens)
  last_start = len(input_tokens) - width
  if (width and type(input_tokens) is list
      and type(explanation_tokens) is list):
    first = explanation_tokens[0]
    position = 0
    while position <= last_start:
      try:
        position = input_tokens.index(first, position, last_start + 1)
      except ValueError:
        return None
      if input_tokens[position:position + width] == explanation_tokens:
        return (position, position + width)
      position += 1
    return None
  for position in range(last_start + 1):
    if input_tokens[position:position + width] == explanation_tokens:
      return (position, position + width)
  return None


def _input_text(example: Optional[Mapping[str, Any]]) -> str:
  """Returns the example's `inputs_pretokenized` as text, newlines as spaces.

  `_input_text({"inputs_pretokenized": b"a\\nb"})` -> "a b".
  """
  if example is None:
    raise ValueError(
        "extractive_explanations needs example=<the evaluated example> with "
        "the feature 'inputs_pretokenized' (seqio passes it); got example=None")
  try:
    raw = example["inputs_pretokenized"]
  except (KeyError, TypeError, IndexError):
    keys = sorted(map(str, example.keys())) if hasattr(example, "keys") else []
    raise ValueError(
        "extractive_explanations needs the feature 'inputs_pretokenized' in "
        f"example; it has {keys} (keep the pretokenized inputs in the task)"
    ) from None
  return _as_text(raw, "example['inputs_pretokenized']").replace("\n", " ")


def _token_positions(span: Any, num_tokens: int) -> range:
  """The input token positions a found span covers, with slice semantics.

  `_token_positions((2, 4), 5)` -> range(2, 4); `_token_positions((3, 99), 5)`
  -> range(3, 5) (clipped, as a slice is); `_token_positions((0, 0), 5)` ->
  range(0, 0). `span[0]` and `span[1]` must be integers.
  """
  try:
    start, end = operator.index(span[0]), operator.index(span[1])
  except (TypeError, IndexError, KeyError):
    raise ValueError(f"match_fn must return None or (start, end) integers, "
                     f"got {span!r:.100}") from None
  return range(*slice(start, end).indices(num_tokens))


class _SpacyLocator:
  """Locates explanations in one input text with the cached spaCy tokens."""

  def __init__(self, text: str, match_fn: Optional[MatchFn]):
    self._input = word_spans.tokenize_with_offsets(text)
    self._match_fn = match_fn
    self._input_tokens: Optional[List[str]] = None
    self.num_tokens = len(self._input)

  def _match(self, explanation: str) -> Any:
    tokenized = word_spans.tokenize_with_offsets(explanation)
    if self._match_fn is None:
      return self._input.find(tokenized)
    if self._input_tokens is None:
      self._input_tokens = self._input.tokens
    return self._match_fn(self._input_tokens, tokenized.tokens)

  def locate(self, explanation: Union[str, bytes]) -> Any:
    """The span where the explanation's tokens occur as a run, or None."""
    return self._match(_as_text(explanation, "explanation"))

  def locate_in_text(self, explanation: str) -> Any:
    """A span for a target explanation that the token run missed.

    The token run of `explanation` (its newlines already read as spaces),
    else the input tokens its characters touch where its text occurs in the
    input text; None if neither.
    """
    span = self._match(explanation)
    if not span and explanation:
      begin = self._input.text.find(explanation)
      if begin >= 0:
        span = self._input.covering_span(begin, begin + len(explanation))
    return span


def _align(text: str, tokens: Sequence[Any]) -> Optional[Tuple[List[int], List[int]]]:
  """Character offsets of `tokens` found left to right in `text`, or None.

  `_align("ab c", ["ab", "c"])` -> ([0, 3], [2, 4]); None when a token is not
  a str or does not occur in order.
  """
  starts, ends, position = [], [], 0
  for token in tokens:
    if not isinstance(token, str):
      return None
    start = text.find(token, position)
    if start < 0:
      return None
    position = start + len(token)
    starts.append(start)
    ends.append(position)
  return starts, ends


class _GenericLocator:
  """Locates explanations with a caller's tokenizer_fn (no caching)."""

  def __init__(self, text: str, tokenizer_fn: TokenizerFn,
               match_fn: Optional[MatchFn]):
    self._text = text
    self._tokenizer_fn = tokenizer_fn
    self._match_fn = match_fn or find_token_run
    self._tokens = tokenizer_fn(text)
    self._offsets: Any = False  # Computed on first need.
    self.num_tokens = len(self._tokens)

  def locate(self, explanation: Union[str, bytes]) -> Any:
    """The span that `match_fn` gives for the explanation's tokens."""
    return self._match_fn(self._tokens, self._tokenizer_fn(explanation))

  def locate_in_text(self, explanation: str) -> Any:
    """A span for a target explanation that the token run missed.

    The token run of `explanation` (its newlines already read as spaces),
    else the input tokens its characters touch where its text occurs in the
    input text (when the input tokens occur in the text in order).
    """
    span = self.locate(explanation)
    if not span and explanation:
      begin = self._text.find(explanation)
      if begin >= 0:
        if self._offsets is False:
          self._offsets = _align(self._text, list(self._tokens))
        if self._offsets is not None:
          starts, ends = self._offsets
          first = bisect.bisect_right(ends, begin)
          last = bisect.bisect_left(starts, begin + len(explanation))
          span = (first, last) if first < last else None
    return span


def _dedupe(items: Sequence[str]) -> List[str]:
  """Drops repeated items, keeping first occurrences in order.

  `_dedupe(["a", "b", "a"])` -> ["a", "b"].
  """
  return list(dict.fromkeys(items))


def extractive_explanations(
    output: Union[str, bytes],
    separator: str = EXPLANATION_SEPARATOR,
    match_fn: Optional[MatchFn] = None,
    tokenizer_fn: Optional[TokenizerFn] = None,
    example: Optional[Mapping[str, Any]] = None,
    is_target: bool = False,
    **unused_kwargs) -> Dict[str, Any]:
  """Splits `output` and locates each explanation in the example's input.

  With `tokenizer_fn=list` (characters as tokens), input
  "explain review: dull plot, great cast" and the prediction
  "positive explanation: great cast explanation: great cast explanation: bad":

      {"label": "positive", "overlap_spans": [(27, 37)],
       "span_array": [0] * 27 + [1] * 10,
       "explanations": ["great cast"]}

  Steps, as in the 2020 WT5 code: split `output` on `separator` into a label
  and explanations and drop repeated explanations (first kept). The input
  text is `example["inputs_pretokenized"]` with every "\\n" replaced by a
  space. Each explanation, as it is, is tokenized alone and located with
  `match_fn(input_tokens, explanation_tokens)` (default `find_token_run`: the
  first run of input tokens equal to its tokens). An empty explanation is an
  empty run: span (0, 0), and it is kept. A predicted explanation located
  nowhere is dropped (the count is logged): one that tokenizes differently
  alone, cuts through a word or holds a newline is not found.

  Ground truth only (`is_target=True`), where the 2020 code stopped with an
  error: an explanation whose tokens do not occur as a run is still located
  if its text, newlines read as spaces, occurs in the input text: by the
  token run of that text, else as the input tokens its characters touch. One
  whose text does not occur raises `RationaleNotFoundError`; one that occurs
  but touches no token (spaces only) is dropped.

  The default tokenizer is spaCy's English tokenizer (`wt5.word_spans`);
  each distinct input text is tokenized once per process (bounded cache) and
  matching is linear in the input length. A custom `tokenizer_fn` maps a
  string to tokens; a custom `match_fn` returns a span `(start, end)` or a
  false value (not found). A span is kept as `match_fn` returns it and marks
  the tokens of `span_array[start:end]`.

  Returns {"label", "overlap_spans": [(start, end), ...] of the found
  explanations, "span_array": one 0/1 int per input token, "explanations":
  the found explanation strings}.
  """
  parts = _split_output(output, separator)
  label, explanations = parts[0], _dedupe(parts[1:])
  text = _input_text(example)
  if tokenizer_fn is None or tokenizer_fn is word_spans.tokenize:
    locator = _SpacyLocator(text, match_fn)
  else:
    locator = _GenericLocator(text, tokenizer_fn, match_fn)

  spans: List[Any] = []
  found: List[Union[str, bytes]] = []
  dropped = 0
  for explanation in explanations:
    span = locator.locate(explanation)
    if not span and is_target:
      searched = _as_text(explanation, "explanation").replace("\n", " ")
      span = locator.locate_in_text(searched)
      if not span and searched not in text:
        preview = text[:_INPUT_PREVIEW_CHARS]
        if len(text) > _INPUT_PREVIEW_CHARS:
          preview += "..."
        raise RationaleNotFoundError(
            f"ground-truth explanation {explanation!r} (label {label!r}) does "
            f"not occur in the input text {preview!r}")
    if not span:
      dropped += 1
      continue
    spans.append(span)
    found.append(explanation)

  if dropped:
    logging.info("extractive_explanations: dropped %d of %d %s explanation(s) "
                 "not found in the input text", dropped, len(explanations),
                 "target" if is_target else "predicted")
  span_array = [0] * locator.num_tokens
  for span in spans:
    positions = _token_positions(span, locator.num_tokens)
    span_array[positions.start:positions.stop] = [1] * len(positions)
  return {
      "label": label,
      "overlap_spans": spans,
      "span_array": span_array,
      "explanations": found,
  }
