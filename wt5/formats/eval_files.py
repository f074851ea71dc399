"""Reading the files an evaluation leaves in `<model_dir>/<split>_eval/`.

`t5_mesh_transformer` (with `output_eval_examples`, its default) writes, for
every evaluated task:

    <task>_inputs                one input a line
    <task>_targets               one postprocessed target a line
    <task>_<step>_predictions    one postprocessed prediction a line, per step

Each line is `str(value)` with newlines replaced by spaces: for WT5's
postprocessors a Python literal (a dict such as
`{'label': 'positive', 'explanations': ['great cast']}`), for inputs a bytes
literal (`b'explain nli ...'`), for a task without a postprocessor the plain
text. The step is the trailing `_<digits>` before `_predictions`, so task
names may themselves hold underscores and digits.

Everything here parses without evaluating code (`ast.literal_eval`). `wt5
score`, `wt5 demo` and the other tools read eval directories through this
module only.
"""

import ast
import dataclasses
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from wt5 import answers

PREDICTIONS_RE = re.compile(r"^(?P<task>.+)_(?P<step>\d+)_predictions$")
TARGETS_SUFFIX = "_targets"
LINE_FORMATS = ("auto", "literal", "text")
_SNIPPET_CHARS = 60
_LITERAL_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError,
                   RecursionError)


class EvalFileError(ValueError):
  """An eval file or directory that cannot be read or parsed."""


@dataclasses.dataclass(frozen=True)
class EvalFiles:
  """The files one task left in an eval directory.

  `targets` is None when `<task>_targets` is missing; `predictions` maps each
  step to its `<task>_<step>_predictions` path.
  """
  task: str
  targets: Optional[str]
  predictions: Mapping[int, str]


def find_eval_files(eval_dir: str) -> Dict[str, EvalFiles]:
  """Groups the targets and predictions files of `eval_dir` by task.

  Example: a directory holding `esnli_v002_targets`, `esnli_v002_inputs`,
  `esnli_v002_100_predictions` and `esnli_v002_200_predictions` gives
  `{"esnli_v002": EvalFiles("esnli_v002", "<dir>/esnli_v002_targets",
  {100: "<dir>/esnli_v002_100_predictions", 200: ...})}`. Other files
  (inputs, `_outputs`, TensorBoard events) are ignored.
  """
  if not os.path.isdir(eval_dir):
    raise EvalFileError("%s: not a directory" % eval_dir)
  targets = {}
  predictions: Dict[str, Dict[int, str]] = {}
  for name in sorted(os.listdir(eval_dir)):
    path = os.path.join(eval_dir, name)
    match = PREDICTIONS_RE.match(name)
    if match:
      predictions.setdefault(match.group("task"), {})[
          int(match.group("step"))] = path
    elif name.endswith(TARGETS_SUFFIX) and len(name) > len(TARGETS_SUFFIX):
      targets[name[:-len(TARGETS_SUFFIX)]] = path
  return {
      task: EvalFiles(task, targets.get(task),
                      dict(sorted(predictions.get(task, {}).items())))
      for task in sorted(set(targets) | set(predictions))
  }


def split_lines(text: str) -> List[str]:
  """Splits an eval file's text into its lines.

  Both t5 writers are read: mesh_tensorflow ends every line with "\\n", t5's
  `write_lines_to_file` joins lines with "\\n". Only "\\n" separates lines.
  Example: "1\\n0\\n" -> ["1", "0"]; "1\\n0" -> ["1", "0"]; "" -> [].
  """
  if not text:
    return []
  lines = text.split("\n")
  if lines[-1] == "":
    lines.pop()
  return lines


def read_lines(path: str) -> List[str]:
  """The lines of the UTF-8 file `path`; EvalFileError if it cannot be read."""
  try:
    with open(path, "r", encoding="utf-8", newline="") as f:
      text = f.read()
  except (OSError, UnicodeDecodeError) as e:
    raise EvalFileError("%s: cannot read: %s" % (path, e)) from e
  return split_lines(text)


def snippet(line: str) -> str:
  """The start of a line for an error message: repr, cut at 60 characters."""
  if len(line) <= _SNIPPET_CHARS:
    return repr(line)
  return repr(line[:_SNIPPET_CHARS]) + "..."


def parse_literal(line: str, path: str, lineno: int) -> Any:
  """Parses one line as a Python literal, without evaluating any code.

  Example: parse_literal("{'label': 'positive', 'explanations': []}", p, 1)
  -> {'label': 'positive', 'explanations': []}. A line that is not a literal
  (for instance cut short) raises EvalFileError(
  "<path>:<lineno>: cannot parse as a Python literal (...): <line>").
  """
  try:
    return ast.literal_eval(line.strip())
  except _LITERAL_ERRORS as e:
    if isinstance(e, SyntaxError):
      reason = re.sub(r" \(detected at line \d+\)$", "", e.msg)
    elif isinstance(e, ValueError):
      reason = "code or names, not a literal value"
    else:
      reason = type(e).__name__
    raise EvalFileError("%s:%d: cannot parse as a Python literal (%s): %s" %
                        (path, lineno, reason, snippet(line))) from e


def detect_line_format(lines: Sequence[str]) -> str:
  """Whether a task's target lines are Python literals or plain text.

  "literal" when the first line starts a dict, list or tuple (WT5's
  postprocessors), or when every line is a non-string literal (class ids);
  otherwise "text" (a task without a postprocessor writes its strings bare).
  Example: ["{'label': 'a'}"] -> "literal"; ["0", "1"] -> "literal";
  ["positive", "0"] -> "text".
  """
  if lines and lines[0].lstrip()[:1] in ("{", "[", "("):
    return "literal"
  for line in lines:
    try:
      value = ast.literal_eval(line.strip())
    except _LITERAL_ERRORS:
      return "text"
    if isinstance(value, (str, bytes)):
      return "text"
  return "literal" if lines else "text"


def parse_lines(lines: Sequence[str], path: str, line_format: str) -> List[Any]:
  """Parses the lines of `path`: literals for "literal", as is for "text".

  parse_lines(["{'label': 'a'}"], "p", "literal") -> [{"label": "a"}]
  """
  if line_format == "text":
    return list(lines)
  if line_format != "literal":
    raise ValueError("line_format must be 'literal' or 'text', got %r" %
                     (line_format,))
  return [parse_literal(line, path, i + 1) for i, line in enumerate(lines)]


def read_values(path: str, line_format: str = "literal") -> List[Any]:
  """The values of an eval file, one per line ("auto" detects the format).

  A file with the lines `b'explain nli'` and `{'label': 'neutral'}` ->
  [b"explain nli", {"label": "neutral"}]
  """
  lines = read_lines(path)
  if line_format == "auto":
    line_format = detect_line_format(lines)
  return parse_lines(lines, path, line_format)


def step_file(eval_dir: str, task: str, step: int, suffix: str) -> str:
  """The path of a task's file of one step: `<task>_<step><suffix>`.

  step_file("/m/validation_eval", "esnli_v010", 400, "_predictions")
    -> "/m/validation_eval/esnli_v010_400_predictions"
  """
  return os.path.join(eval_dir, "%s_%d%s" % (task, step, suffix))


def find_step_files(eval_dir: str, task: str, suffix: str) -> Dict[int, str]:
  """A task's `<task>_<step><suffix>` files in `eval_dir` by step, sorted.

  find_step_files("m/validation_eval", "esnli_v010", "_counterfactual.jsonl")
    -> {300: "m/validation_eval/esnli_v010_300_counterfactual.jsonl"}
  """
  if not os.path.isdir(eval_dir):
    return {}
  prefix, found = task + "_", {}
  for name in os.listdir(eval_dir):
    if name.startswith(prefix) and name.endswith(suffix):
      step = name[len(prefix):len(name) - len(suffix)]
      if step.isdigit():
        found[int(step)] = os.path.join(eval_dir, name)
  return dict(sorted(found.items()))


def task_file(eval_dir: str, task: str, kind: Union[str, int]) -> str:
  """The path of one of a task's files; `kind` is "inputs", "targets" or a step.

  task_file("/m/validation_eval", "esnli_v010", 400)
    -> "/m/validation_eval/esnli_v010_400_predictions"
  """
  if isinstance(kind, int):
    return step_file(eval_dir, task, kind, "_predictions")
  return os.path.join(eval_dir, "%s_%s" % (task, kind))


# ---------------------------------------------------------------------------
# Writing, as t5_mesh_transformer does (mesh_tensorflow's write_lines_to_file).


def eval_line(value: Any) -> str:
  """One value as a line of an eval file: `str()`, newlines as spaces.

  eval_line({"label": "a\nb"}) -> "{'label': 'a b'}"; eval_line(b"x y") -> "b'x y'"
  """
  return str(value).replace("\n", " ")


def eval_text(values: Sequence[Any]) -> str:
  """The text of an eval file: eval_text(["a", 1]) -> "a\\n1\\n"."""
  return "".join(eval_line(value) + "\n" for value in values)


def write_values(values: Sequence[Any], path: str) -> None:
  """Writes one `eval_line` per value, each ended by "\n", replacing `path`."""
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write(eval_text(values))


def write_values_unless_same(values: Sequence[Any], path: str) -> bool:
  """`write_values`, unless `path` already holds exactly that text.

  Returns whether the file was written.
  """
  text = eval_text(values)
  try:
    with open(path, encoding="utf-8", newline="") as f:
      if f.read() == text:
        return False
  except (OSError, UnicodeDecodeError):
    pass
  write_values(values, path)
  return True


def format_output(value: Any) -> str:
  """A decoded, postprocessed output as one line of text.

  format_output({"label": "neutral", "explanations": ["Not every man is tall."]})
    -> "neutral | explanation: Not every man is tall."
  format_output({"label": "True", "explanations": []}) -> "True"
  """
  if isinstance(value, bytes):
    return answers.as_text(value)
  if isinstance(value, Mapping) and "label" in value:
    text = format_output(value["label"])
    for explanation in value.get("explanations") or []:
      text += " | explanation: " + format_output(explanation)
    return text
  return str(value)


@dataclasses.dataclass(frozen=True)
class EvaluatedExample:
  """One evaluated example as text: its input, prediction and target."""
  inputs: str
  prediction: str
  target: str


def read_evaluated_examples(eval_dir: str, task: str, step: int,
                  limit: int) -> List[EvaluatedExample]:
  """The first `limit` eval examples of `task` with the predictions at `step`."""
  inputs = read_values(task_file(eval_dir, task, "inputs"))
  predictions = read_values(task_file(eval_dir, task, step), "auto")
  targets = read_values(task_file(eval_dir, task, "targets"), "auto")
  return [EvaluatedExample(format_output(i), format_output(p),
                           format_output(t))
          for i, p, t in zip(inputs[:limit], predictions, targets)]
