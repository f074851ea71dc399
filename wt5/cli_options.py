"""The options several `wt5` subcommands share, each declared once (pure).

A subcommand adds a shared option with `Option.add`, changing only what
differs for it (its default, or what the default means):

    parser = argparse.ArgumentParser()
    MODEL_DIR.add(parser)
    STEP.add(parser, help="Checkpoint step (repeatable; default the newest).")
    parser.parse_args(["--model_dir", "m", "--step", "5"])
      -> Namespace(model_dir="m", step=[5])

An options dataclass declares each of its fields' option once, in the
field's metadata (`option_field`); `add_dataclass_options` builds the
parser from it and `from_args` the dataclass from the parsed arguments.
"""

import argparse
import dataclasses
import typing
from typing import Any, Dict, Mapping, Optional, Type, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Option:
  """One command-line option: its flag and `add_argument`'s settings."""
  flag: str
  settings: Mapping[str, Any]

  @property
  def dest(self) -> str:
    """The attribute the parsed value lands in: Option("--export", {"dest": "export_dir"}).dest -> "export_dir"."""
    return self.settings.get("dest", self.flag.lstrip("-"))

  def add(self, parser: argparse.ArgumentParser, **changes: Any) -> Any:
    """Adds the option to `parser`; `changes` replace some settings.

    BATCH_SIZE.add(parser, default=8) -> the argparse action of --batch_size
    """
    return parser.add_argument(self.flag, **{**self.settings, **changes})


MODEL_DIR = Option("--model_dir", {
    "required": True,
    "help": "The model directory: its checkpoint-<step>/ directories and "
            "<split>_eval/ eval directories."})
EXPORT = Option("--export", {
    "dest": "export_dir", "required": True,
    "help": "A `wt5 export` directory."})
SPLIT = Option("--split", {
    "default": "validation", "help": "The split (default %(default)s)."})
STEP = Option("--step", {
    "type": int, "action": "append", "default": None,
    "help": "Checkpoint step (repeatable; default all)."})
ONE_STEP = Option("--step", {
    "type": int, "default": None,
    "help": "The checkpoint step (default the newest)."})
TASK = Option("--task", {
    "action": "append", "default": None,
    "help": "Task (repeatable; default all with metrics)."})
BATCH_SIZE = Option("--batch_size", {
    "type": int, "default": 32,
    "help": "Examples per forward pass (default %(default)s)."})
DATA_DIR = Option("--data_dir", {
    "default": None,
    "help": "The TFDS data directory (as t5_mesh_transformer's "
            "--t5_tfds_data_dir)."})
SEED = Option("--seed", {"type": int, "default": 0,
                         "help": "The random seed (default 0)."})
BOOTSTRAP = Option("--bootstrap", {
    "type": int, "default": 1000,
    "help": "Bootstrap resamples for the 95%% intervals (default "
            "%(default)s)."})
NO_PROGRESS = Option("--no_progress", {
    "action": "store_true", "help": "Do not draw progress bars."})
VOCAB_MODEL = Option("--vocab_model", {
    "default": None,
    "help": "Local SentencePiece model, if the export's is not readable "
            "here."})


def option_field(default: Any = dataclasses.MISSING,
                 help: Optional[str] = None,
                 option: Optional[Option] = None, **settings: Any) -> Any:
  """A dataclass field that declares its command-line option.

  `option` is a shared `Option` (its flag and settings; `help` and
  `settings` still change them); otherwise the flag is the field's name.

    steps: int = option_field(1000, "Training steps.")
  """
  metadata = {"help": help, "option": option, "settings": settings}
  return dataclasses.field(default=default, metadata=metadata)


def field_settings(field: dataclasses.Field, hint: Any) -> Dict[str, Any]:
  """`add_argument`'s settings of a field, from its type, default and metadata.

  A required field (no default) gives a required option; bool a switch
  (`--x/--no-x` when the default is True or None, `--x` when False);
  Optional[int] an int option.
  """
  settings: Dict[str, Any] = {}
  if field.default is dataclasses.MISSING:
    settings["required"] = True
  else:
    settings["default"] = field.default
  args = [a for a in typing.get_args(hint) if a is not type(None)]
  kind = args[0] if typing.get_origin(hint) is typing.Union and len(
      args) == 1 else hint
  if kind is bool:
    settings["action"] = ("store_true" if field.default is False else
                          argparse.BooleanOptionalAction)
  elif kind in (int, float):
    settings["type"] = kind
  if field.metadata.get("help"):
    settings["help"] = field.metadata["help"]
  settings.update(field.metadata.get("settings") or {})
  return settings


def add_dataclass_options(parser: argparse.ArgumentParser,
                          cls: Type[Any]) -> None:
  """Adds one option per field of the dataclass `cls` (see `option_field`)."""
  hints = typing.get_type_hints(cls)
  for field in dataclasses.fields(cls):
    settings = field_settings(field, hints[field.name])
    option = field.metadata.get("option")
    if option is None:
      parser.add_argument("--" + field.name, **settings)
      continue
    if option.dest != field.name:
      raise ValueError("%s.%s: the option %s fills %r" % (
          cls.__name__, field.name, option.flag, option.dest))
    changes = {k: v for k, v in settings.items()
               if k != "help" or field.metadata.get("help")}
    option.add(parser, **changes)


def from_args(cls: Type[T], args: argparse.Namespace) -> T:
  """The dataclass `cls` of parsed arguments (other attributes are ignored).

  from_args(TrainOptions, parser.parse_args([...])) -> TrainOptions(...)
  """
  names = {f.name for f in dataclasses.fields(cls)}
  return cls(**{k: v for k, v in vars(args).items() if k in names})
