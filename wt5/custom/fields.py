"""Turning one data row into a WT5 record: input texts, a label, explanations.

`Fields` names the fields of a row; `Fields.record(row)` checks the row and
returns the record that the task's preprocessor turns into inputs and
targets, or raises `RowError` saying what is wrong with the row:

    Fields(("hypothesis", "premise"), "label", "explanations").record(
        {"hypothesis": "A man sleeps.", "premise": "A man naps.",
         "label": "entailment", "explanations": ["Napping is sleeping."]})
      -> {"fields": ["A man sleeps.", "A man naps."], "label": "entailment",
          "explanations": ["Napping is sleeping."]}

Rules (nothing is changed silently: what a rule does not allow is an error):
  * input fields hold strings;
  * the label is a non-empty string; with `label_names` it must be one of
    them, or an integer index into them (a CSV cell of digits counts);
  * explanations: one string, a list of strings (in CSV/TSV one cell holding
    a JSON list), or, with several explanation fields, one string per field.
    Abstractive (like e-SNLI): empty strings are left out, as the 2020 e-SNLI
    preprocessor does, and at least one must remain. Extractive (like movie
    rationales): at least one evidence, none empty, each a substring of the
    text;
  * neither the label nor an explanation contains " explanation: ", which
    separates them in the targets.
"""

import dataclasses
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from wt5.answers import EXPLANATION_SEPARATOR as SEPARATOR
from wt5.custom.readers import CellRow, RowError, preview
from wt5.custom.readers import value_kind as _kind


def _field(row: Dict[str, Any], name: str) -> Any:
  if name not in row:
    raise RowError("no field %r (the row has: %s)" % (
        name, ", ".join(map(str, row)) or "no fields"))
  return row[name]


def _text(row: Dict[str, Any], name: str) -> str:
  value = _field(row, name)
  if not isinstance(value, str):
    raise RowError("field %r is %s, expected a string" % (name, _kind(value)))
  return value


def _no_separator(text: str, what: str) -> str:
  if SEPARATOR in text:
    raise RowError("%s %s contains %r, which separates the label from the "
                   "explanations in the targets" % (what, preview(text),
                                                    SEPARATOR))
  return text


def _cell_list(value: Any, name: str) -> Any:
  """A CSV/TSV cell that holds a JSON list, as that list; others as they are.

  _cell_list('["a", "b"]', "evidences") -> ["a", "b"]; _cell_list("a", "e") -> "a"
  """
  if isinstance(value, str) and value.lstrip().startswith("["):
    try:
      parsed = json.loads(value)
    except json.JSONDecodeError as e:
      raise RowError("field %r starts with '[' but is not a JSON list: %s "
                     "(column %d); write one such string as a JSON list of "
                     "it" % (name, e.msg, e.colno)) from None
    if isinstance(parsed, list):
      return parsed
  return value


@dataclasses.dataclass(frozen=True)
class Fields:
  """The fields of a row that make one WT5 example.

  `inputs`: the input fields, in the order they appear in the inputs
  (extractive: the one text field). `explanations`: one field (a string or a
  list of strings) or several (one string each). `extractive`: explanations
  are evidence strings that must occur in the text.
  """
  inputs: Tuple[str, ...]
  label: str
  explanations: Union[str, Tuple[str, ...]]
  label_names: Optional[Tuple[str, ...]] = None
  extractive: bool = False

  def __post_init__(self):
    if isinstance(self.inputs, str):
      raise TypeError("input fields: expected a sequence of field names, got "
                      "the string %r" % self.inputs)
    if not self.inputs:
      raise ValueError("input fields: at least one field is needed")
    if self.label_names is not None:
      names = list(self.label_names)
      if isinstance(self.label_names, str) or not names or not all(
          isinstance(n, str) and n for n in names):
        raise ValueError("label_names: expected non-empty strings, got %r" %
                         (self.label_names,))
      if len(set(names)) != len(names):
        raise ValueError("label_names: %r names a label twice" % (names,))
      for name in names:
        if SEPARATOR in name:
          raise ValueError("label_names: %r contains %r" % (name, SEPARATOR))

  @property
  def what(self) -> str:
    """How messages name one explanation: "evidence" or "explanation"."""
    return "evidence" if self.extractive else "explanation"

  def label_of(self, row: Dict[str, Any]) -> str:
    """The row's label name.

    Fields(("t",), "label", "e", ("no", "yes")).label_of({"label": 1}) -> "yes"
    """
    value = _field(row, self.label)
    names = self.label_names
    if isinstance(value, str):
      if names is None or value in names:
        if not value:
          raise RowError("label is empty")
        return _no_separator(value, "label")
      if not value.strip().isdigit():
        raise RowError("label %r is not one of the label names (%s)" % (
            value, ", ".join(names)))
      value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
      raise RowError("label is %s, expected a string%s" % (
          _kind(value), " or an index into label_names" if names else ""))
    if names is None:
      raise RowError("label %d is a number; pass label_names to name the "
                     "labels" % value)
    if not 0 <= value < len(names):
      raise RowError("label %d is out of range: label_names has %d names "
                     "(0..%d: %s)" % (value, len(names), len(names) - 1,
                                      ", ".join(names)))
    return names[value]

  def explanations_of(self, row: Dict[str, Any],
                      text: str) -> List[str]:
    """The row's explanations, checked by the rules above."""
    if isinstance(self.explanations, str):
      name = self.explanations
      value = _field(row, name)
      if isinstance(row, CellRow):
        value = _cell_list(value, name)
      items = [value] if isinstance(value, str) else value
      if not isinstance(items, list):
        raise RowError("field %r is %s, expected a string or a list of "
                       "strings" % (name, _kind(value)))
      labels = ["%s[%d]" % (name, i) for i in range(len(items))]
    else:
      items = [_field(row, name) for name in self.explanations]
      labels = ["field %r" % name for name in self.explanations]
      name = ", ".join(self.explanations)
    for label, item in zip(labels, items):
      if not isinstance(item, str):
        raise RowError("%s is %s, expected a string" % (label, _kind(item)))
    if self.extractive:
      for label, item in zip(labels, items):
        if not item:
          raise RowError("%s is an empty evidence" % label)
        if item not in text:
          raise RowError("evidence %s (%s) does not occur in field %r" % (
              preview(item), label, self.inputs[0]))
    else:
      items = [item for item in items if item]
    if not items:
      raise RowError("no %s: %r is %s" % (
          self.what, name, json.dumps(_field(row, self.explanations)) if
          isinstance(self.explanations, str) else "empty in every field"))
    return [_no_separator(item, self.what) for item in items]

  def record(self, row: Dict[str, Any]) -> Dict[str, Any]:
    """The record of a row: {"fields": [...], "label", "explanations": [...]}."""
    texts = [_text(row, name) for name in self.inputs]
    label = self.label_of(row)
    return {"fields": texts, "label": label,
            "explanations": self.explanations_of(row, texts[0])}
