"""The WT5 answer format, shared by the core and the tools.

A WT5 target or output is text, the label followed by its explanations:

    "entailment explanation: Snow is white. explanation: Covered means hidden."

and the postprocessors turn it into an answer dict, e.g.
{"label": "entailment", "explanations": ["Snow is white.", ...]} (plus
"overlap_spans" and "span_array" for extractive tasks). Values read from
TFDS or eval files may be bytes; `as_text` reads them as UTF-8.
Pure Python: importing this module imports nothing else.
"""

from typing import Any, Mapping, Sequence

EXPLANATION_SEPARATOR = " explanation: "


def as_text(value: Any, errors: str = "replace") -> str:
  """`value` as text: bytes decoded as UTF-8, anything else by str().

  as_text(b"caf\\xc3\\xa9") -> "café"; as_text(1) -> "1". Invalid UTF-8 is
  handled by `errors` (as `bytes.decode`): as_text(b"\\xff") -> "\\ufffd".
  """
  if isinstance(value, bytes):
    return bytes(value).decode("utf-8", errors=errors)
  return str(value)


def is_extractive(values: Sequence[Any]) -> bool:
  """Whether values come from `wt5.postprocessors.extractive_explanations`.

  [{"label": "positive", "overlap_spans": [(3, 5)], "span_array": [0, 0, 0,
  1, 1], "explanations": ["great cast"]}] -> True;
  [{"label": "positive", "explanations": []}] -> False; [] -> False.
  """
  return bool(values) and all(
      isinstance(v, Mapping) and "span_array" in v and "overlap_spans" in v
      for v in values)


def is_explained(values: Sequence[Any]) -> bool:
  """Whether values are WT5 answers: dicts with a label and explanations.

  [{"label": "a", "explanations": ["b"]}] -> True; [0, 1] -> False; [] -> False.
  """
  return bool(values) and all(
      isinstance(v, Mapping) and "label" in v and "explanations" in v
      for v in values)


def check_lengths(targets: Sequence[Any], predictions: Sequence[Any],
                  what: str) -> None:
  """Raises ValueError when targets and predictions differ in number.

  check_lengths([1], [], "esnli_metric") raises
  ValueError("esnli_metric: got 1 targets but 0 predictions").
  """
  if len(targets) != len(predictions):
    raise ValueError(f"{what}: got {len(targets)} targets but "
                     f"{len(predictions)} predictions")


def identity_postprocessor(value: Any, example: Any = None,
                           is_target: bool = False) -> Any:
  """The postprocessor of a task that has none: the decoded text as it is.

  identity_postprocessor("entailment", is_target=True) -> "entailment"
  """
  return value
