"""The import probe of `wt5 doctor`: imports the T5 stack, reports each step.

Run in a child process, so that a crash of TensorFlow's libraries cannot
take `wt5 doctor` down with it:

    $ python -m wt5.doctor.probe '["esnli", "cos_e"]'
    WT5_PROBE {"builders": {"ok": true, "value": ["cos_e", "esnli"]},
               "t5_models": {"ok": true, "value": "ok"}, ...}

The argument is the JSON list of TFDS builders to look for. Every step
reports {"ok": true, "value": ...} or {"ok": false, "error": "Type: first
line of the message"}; the last line of the output is `MARKER` and the JSON
of all steps.
"""

import json
import sys
from typing import Any, Callable, Dict, List, Sequence

MARKER = "WT5_PROBE "


def first_line(error: BaseException) -> str:
  """'ValueError: bad' for ValueError("bad\\nmore"); 'KeyError: ' for no text."""
  text = str(error).strip()
  return "%s: %s" % (type(error).__name__,
                     text.splitlines()[0] if text else "")


def step(fn: Callable[[], Any]) -> Dict[str, Any]:
  """Runs `fn`: {"ok": True, "value": fn()} or {"ok": False, "error": ...}."""
  try:
    return {"ok": True, "value": fn()}
  except BaseException as e:
    return {"ok": False, "error": first_line(e)}


def builders(wanted: Sequence[str]) -> List[str]:
  """The builders among `wanted` that TFDS registers."""
  import tensorflow_datasets as tfds
  return sorted(set(tfds.list_builders()) & set(wanted))


def t5_models() -> str:
  """Imports `t5.models`, which `t5_mesh_transformer` needs."""
  import t5.models
  return "ok"


def sources() -> List[str]:
  """The TFDS datasets (`name[/config]:version`) the registered tasks read."""
  import wt5.tasks
  return sorted({row.source or family.source for family in wt5.tasks.FAMILIES
                 for row in family.all_rows()})


def vocab() -> List[Any]:
  """[path, number of pieces] of the vocabulary the tasks use."""
  import sentencepiece
  import tensorflow as tf
  import wt5.vocab
  path = wt5.vocab.get_vocabulary().sentencepiece_model_file
  with tf.io.gfile.GFile(path, "rb") as f:
    model = f.read()
  processor = sentencepiece.SentencePieceProcessor()
  processor.LoadFromSerializedProto(model)
  return [path, processor.GetPieceSize()]


def probe(wanted_builders: Sequence[str]) -> Dict[str, Dict[str, Any]]:
  """Every step, in order: builders, t5_models, sources, vocab."""
  return {"builders": step(lambda: builders(wanted_builders)),
          "t5_models": step(t5_models),
          "sources": step(sources),
          "vocab": step(vocab)}


def main(argv: Sequence[str]) -> int:
  """`python -m wt5.doctor.probe BUILDERS_JSON`: prints the marker line."""
  print(MARKER + json.dumps(probe(json.loads(argv[1]))))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
