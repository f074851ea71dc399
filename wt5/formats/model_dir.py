"""The model directory: Hugging Face checkpoints and eval directories (pure Python).

`wt5 train` and `wt5 convert` write each checkpoint as a saved Hugging Face
model in `<model_dir>/checkpoint-<step>/` (with its `config.json`);
`t5_mesh_transformer`, `wt5 evaluate` and the tools after them write the
eval files of a split into `<model_dir>/<split>_eval/` (their format:
`wt5.formats.eval_files`).

    model_dir = ModelDir("runs/esnli")
    model_dir.steps() -> [100, 200]
    model_dir.checkpoint(200) -> "runs/esnli/checkpoint-200"
    model_dir.latest -> "runs/esnli/checkpoint-200"
    model_dir.eval_dir("validation") -> "runs/esnli/validation_eval"
"""

import dataclasses
import os
import re
from typing import List, Optional, Sequence

CHECKPOINT_PREFIX = "checkpoint-"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
CONFIG = "config.json"
EVAL_SUFFIX = "_eval"


class ModelDirError(ValueError):
  """A model directory without the checkpoints asked for."""


def checkpoint_name(step: int) -> str:
  """checkpoint_name(100) -> "checkpoint-100"."""
  return "%s%d" % (CHECKPOINT_PREFIX, step)


def checkpoint_step(path: str) -> Optional[int]:
  """The step a checkpoint directory's name carries, or None.

  checkpoint_step("runs/x/checkpoint-100/") -> 100; checkpoint_step("runs/x") -> None
  """
  match = CHECKPOINT_RE.match(os.path.basename(os.path.normpath(path)))
  return int(match.group(1)) if match else None


def is_checkpoint_dir(path: str) -> bool:
  """Whether `path` is a saved model directory: is_checkpoint_dir("out/checkpoint-100") -> True."""
  return os.path.isfile(os.path.join(path, CONFIG))


def eval_dir_name(split: str) -> str:
  """eval_dir_name("validation") -> "validation_eval"."""
  return split + EVAL_SUFFIX


@dataclasses.dataclass(frozen=True)
class ModelDir:
  """A model directory: its `checkpoint-<step>` directories and eval directories."""
  path: str

  def steps(self) -> List[int]:
    """The steps of the saved checkpoints, sorted: steps() -> [100, 200].

    A `checkpoint-<step>` directory without `config.json` (a save cut short)
    does not count.
    """
    if not os.path.isdir(self.path):
      return []
    return sorted(
        int(m.group(1)) for m in map(CHECKPOINT_RE.match, os.listdir(self.path))
        if m and is_checkpoint_dir(os.path.join(self.path, m.group(0))))

  def checkpoint_path(self, step: int) -> str:
    """Where the checkpoint of `step` is or goes: "<path>/checkpoint-<step>"."""
    return os.path.join(self.path, checkpoint_name(step))

  def checkpoint(self, step: int) -> str:
    """The saved checkpoint of `step`; ModelDirError naming the steps there.

    checkpoint(300) raises ModelDirError("m has no checkpoint-300; it has steps [100, 200]")
    """
    return self.checkpoint_path(self.choose_steps([step])[0])

  @property
  def latest(self) -> Optional[str]:
    """The newest saved checkpoint, or None: "runs/x/checkpoint-200"."""
    steps = self.steps()
    return self.checkpoint_path(steps[-1]) if steps else None

  def steps_or_error(self) -> List[int]:
    """`steps()`, or ModelDirError when there is no checkpoint."""
    steps = self.steps()
    if not steps:
      raise ModelDirError("%s: no checkpoint-<step> directories; train with "
                          "`wt5 train --model_dir %s`" % (self.path, self.path))
    return steps

  def choose_steps(self, steps: Optional[Sequence[int]],
                   newest_only: bool = False) -> List[int]:
    """`steps` (each must be saved), else all saved ones (or the newest).

    choose_steps(None) -> [100, 200]; choose_steps(None, newest_only=True) ->
    [200]; choose_steps([300]) raises ModelDirError("m has no checkpoint-300;
    it has steps [100, 200]").
    """
    available = self.steps_or_error()
    if steps:
      chosen = sorted(set(steps))
    else:
      chosen = available[-1:] if newest_only else available
    missing = [s for s in chosen if s not in available]
    if missing:
      raise ModelDirError("%s has no %s; it has steps %s" % (
          self.path, checkpoint_name(missing[0]), available))
    return chosen

  def eval_dir(self, split: str) -> str:
    """The eval directory of `split`: eval_dir("validation") -> "<path>/validation_eval"."""
    return os.path.join(self.path, eval_dir_name(split))
