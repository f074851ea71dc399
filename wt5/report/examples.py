"""The examples of one task at one checkpoint, as plain data for the report page.

Each example becomes a dict of strings, numbers and lists (JSON-ready). Text
from the data or the model stays text here; the page shows it with
`textContent`, never as markup.

Extractive example (`wt5.postprocessors.extractive_explanations` outputs):

    {"index": 0, "gold_label": "positive", "predicted_label": "negative",
     "correct": False, "span_f1": 50.0, "token_f1": 66.7,
     "gold_explanations": ["great cast"], "predicted_explanations": [...],
     "segments": [["explain sentiment review: ", 0], ["great", 3], ...]}

`segments` cut the input text into runs of one highlight class: 0 none,
1 annotated (gold) only, 2 predicted only, 3 both. `span_f1` and `token_f1`
are the example's "f1" and "partial match f1" of
`wt5.metrics.extractive_explanations_metric`.

Abstractive example:

    {"index": 0, "gold_label": "entailment", "predicted_label": "neutral",
     "correct": False, "input": "explain nli ...", "predicted_explanation":
     "...", "references": ["...", "..."], "bleu": 12.3}

`bleu` is `wt5.scoring.gated.example_sentence_bleu`.
"""

import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from wt5 import answers
from wt5.formats import eval_files
from wt5.scoring import gated as gated_scores

NONE, GOLD, PREDICTED, BOTH = 0, 1, 2, 3


def display_text(value: Any) -> str:
  """A label, input or explanation as text: bytes as UTF-8, others by str().

  display_text(b"caf\\xc3\\xa9") -> "café"; display_text(1) -> "1";
  display_text(None) -> "".
  """
  return "" if value is None else answers.as_text(value)


def finite(value: float) -> Optional[float]:
  """`value` as a float, or None for NaN and infinities (JSON has neither)."""
  value = float(value)
  return value if math.isfinite(value) else None


def read_inputs(path: str) -> List[str]:
  """The input texts of a `<task>_inputs` file, newlines as spaces.

  t5_mesh_transformer writes each input as a bytes literal: the line
  `b'explain sentiment review: fun'` gives "explain sentiment review: fun".
  A file whose lines are not all string or bytes literals is read as text.
  """
  lines = eval_files.read_lines(path)
  try:
    values = eval_files.parse_lines(lines, path, "literal")
  except eval_files.EvalFileError:
    values = lines
  if not all(isinstance(v, (str, bytes)) for v in values):
    values = lines
  return [display_text(v).replace("\n", " ") for v in values]


def highlight_segments(text: str, gold: Sequence[int], predicted: Sequence[int]
                       ) -> Optional[List[Tuple[str, int]]]:
  """Cuts `text` into runs of one highlight class from two token 0/1 arrays.

  Tokens are spaCy's (`wt5.word_spans`), as the extractive postprocessor
  used them; the space between two tokens of one class takes that class.
  highlight_segments("a fun , good film", [0,1,0,0,0], [0,1,0,1,0]) ->
  [("a ", 0), ("fun", 3), (" , ", 0), ("good", 2), (" film", 0)].
  Returns None when the arrays do not have one value per token (the input
  file does not match the spans).
  """
  from wt5 import word_spans
  tokens = word_spans.tokenize_with_offsets(text)
  n = len(tokens)
  if len(gold) != n or len(predicted) != n:
    return None
  classes = [(GOLD if g == 1 else 0) | (PREDICTED if p == 1 else 0)
             for g, p in zip(gold, predicted)]
  segments: List[List[Any]] = []

  def add(piece: str, cls: int) -> None:
    if not piece:
      return
    if segments and segments[-1][1] == cls:
      segments[-1][0] += piece
    else:
      segments.append([piece, cls])

  position = 0
  for i in range(n):
    start, end = tokens.starts[i], tokens.ends[i]
    gap_class = classes[i] if i > 0 and classes[i - 1] == classes[i] else NONE
    add(text[position:start], gap_class)
    add(text[start:end], classes[i])
    position = end
  add(text[position:], NONE)
  return [(piece, cls) for piece, cls in segments]


def extractive_example(index: int, text: Optional[str],
                       target: Mapping[str, Any],
                       prediction: Mapping[str, Any]) -> Dict[str, Any]:
  """The report record of one extractive example (see the module doc)."""
  scores = gated_scores.extractive_example_scores(target, prediction)
  segments = None
  if text is not None:
    segments = highlight_segments(text, target["span_array"],
                                  prediction["span_array"])
  return {
      "index": index,
      "gold_label": display_text(target.get("label")),
      "predicted_label": display_text(prediction.get("label")),
      "correct": scores["accuracy"] == 100.0,
      "span_f1": finite(scores["f1"]),
      "token_f1": finite(scores["partial match f1"]),
      "gold_explanations": [display_text(e) for e in target.get("explanations", [])],
      "predicted_explanations": [
          display_text(e) for e in prediction.get("explanations", [])],
      "segments": segments,
      "input": text if segments is None else None,
  }


def abstractive_example(index: int, text: Optional[str],
                        target: Mapping[str, Any],
                        prediction: Mapping[str, Any]) -> Dict[str, Any]:
  """The report record of one abstractive example (see the module doc)."""
  return {
      "index": index,
      "gold_label": display_text(target.get("label")),
      "predicted_label": display_text(prediction.get("label")),
      "correct": gated_scores.label_correct(target, prediction),
      "input": text,
      "predicted_explanation": gated_scores.explanation_text(prediction, 0),
      "references": [display_text(e) for e in target.get("explanations", [])],
      "bleu": finite(gated_scores.example_sentence_bleu(target, prediction)),
  }


def plain_example(index: int, text: Optional[str], target: Any,
                  prediction: Any) -> Dict[str, Any]:
  """The record of an example without explanations (e.g. a class id)."""
  return {
      "index": index,
      "gold_label": display_text(target),
      "predicted_label": display_text(prediction),
      "correct": target == prediction,
      "input": text,
  }


def task_examples(files: eval_files.EvalFiles, step: int) -> Dict[str, Any]:
  """The examples of `files.task` at checkpoint `step`.

  Returns {"kind": "extractive" | "abstractive" | "plain", "step": step,
  "examples": [...], "notes": [...]}. Raises eval_files.EvalFileError when the
  targets or that step's predictions cannot be read, or differ in length.
  """
  if files.targets is None:
    raise eval_files.EvalFileError("%s: the targets file is missing" %
                                   files.task)
  if step not in files.predictions:
    raise eval_files.EvalFileError(
        "%s: no predictions at step %d (steps: %s)" %
        (files.task, step, ", ".join(map(str, files.predictions)) or "none"))
  targets = eval_files.read_values(files.targets, "auto")
  predictions = eval_files.read_values(files.predictions[step], "auto")
  if len(predictions) != len(targets):
    raise eval_files.EvalFileError(
        "%s has %d line(s) but %s has %d" % (
            files.targets, len(targets), files.predictions[step],
            len(predictions)))
  notes = []
  inputs_path = eval_files.task_file(os.path.dirname(files.targets),
                                     files.task, "inputs")
  texts: List[Optional[str]] = [None] * len(targets)
  try:
    read = read_inputs(inputs_path)
    if len(read) == len(targets):
      texts = list(read)
    else:
      notes.append("%s has %d line(s), the targets %d; inputs not shown" %
                   (inputs_path, len(read), len(targets)))
  except eval_files.EvalFileError as e:
    notes.append("inputs not shown: %s" % e)
  if answers.is_extractive(targets) and answers.is_extractive(predictions):
    kind, make = "extractive", extractive_example
  elif answers.is_explained(targets) and answers.is_explained(predictions):
    kind, make = "abstractive", abstractive_example
  else:
    kind, make = "plain", plain_example
  examples = [make(i, text, t, p) for i, (text, t, p) in
              enumerate(zip(texts, targets, predictions))]
  if kind == "extractive":
    unmatched = sum(1 for e, text in zip(examples, texts)
                    if e["segments"] is None and text is not None)
    if unmatched:
      notes.append("%d example(s): the span arrays do not have one value per "
                   "spaCy token of the input; shown without highlights" %
                   unmatched)
  return {"kind": kind, "step": step, "examples": examples, "notes": notes}
