"""The `wt5 export` directory: its manifest, its example files (pure Python).

An export directory holds `manifest.json` and JSON Lines files (optionally
gzip-compressed, then ending in `.gz`), one example a line:

    {"task": "esnli_v010", "inputs": [37, 5, ..., 1], "targets": [8, ..., 1],
     "inputs_pretokenized": "explain nli hypothesis: ...",
     "targets_pretokenized": "entailment explanation: ..."}

`inputs` and `targets` are the token ids exactly as the seqio task produces
them for the manifest's sequence lengths (trimmed, EOS appended, no padding).
Examples of an evaluation split also carry `target_line`: the line that
`t5_mesh_transformer` writes for this example into `<task>_targets` (the
postprocessed target, `str()`, newlines replaced by spaces).

The manifest (format "wt5-export-1"):

    {"format": "wt5-export-1",
     "name": "esnli_mnli_all_explanations",
     "vocabulary": {"path": "...", "extra_ids": 0, "size": 2000,
                    "pad_id": 0, "eos_id": 1},
     "sequence_length": {"inputs": 512, "targets": 256},
     "tasks": {"esnli_v010": {"rate": 549367.0,
                              "postprocessor": "wt5.postprocessors.abstractive_explanations",
                              "metrics": ["wt5.metrics.esnli_metric"]}, ...},
     "splits": {"train": {"kind": "mixture", "seed": 0, "count": 1000,
                          "files": {"*": "train.jsonl.gz"},
                          "counts": {"esnli_v010": 500, ...}},
                "validation": {"kind": "per_task",
                               "files": {"esnli_v010": "validation/esnli_v010.jsonl.gz", ...},
                               "counts": {"esnli_v010": 100, ...}}}}

A "mixture" split is one file of the mixture's examples in the order seqio's
rate-weighted sampling drew them; a "per_task" split has one file per task in
the task's dataset order (the order `t5_mesh_transformer` evaluates in).

`Export` reads a directory (its manifest once):

    export = Export("exports/esnli")
    export.tasks("validation") -> ["esnli_v010"]
    export.examples("validation", "esnli_v010")[0]["target_line"] -> "{'label': ...}"
    export.vocabulary.eos_id -> 1; export.sequence_length -> {"inputs": 512, "targets": 256}

`wt5 export` writes one with `new_manifest`, `write_examples`,
`mixture_entry`/`per_task_entry` and `write_manifest`.
"""

import dataclasses
import gzip
import io
import json
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional

FORMAT = "wt5-export-1"
MANIFEST = "manifest.json"
MIXED = "*"
EXAMPLE_KEYS = ("task", "inputs", "targets", "inputs_pretokenized",
                "targets_pretokenized")


class ExportError(ValueError):
  """An export directory or file that is missing or malformed."""


def open_text(path: str, mode: str = "rt") -> io.TextIOBase:
  """Opens `path` as UTF-8 text, through gzip when it ends in `.gz`.

  open_text("d/train.jsonl.gz") -> a gzip text stream; open_text("d/x.jsonl") -> a plain one.
  """
  if path.endswith(".gz"):
    return gzip.open(path, mode, encoding="utf-8")
  return open(path, mode, encoding="utf-8")


def read_manifest(export_dir: str) -> Dict[str, Any]:
  """Reads and checks `<export_dir>/manifest.json`.

  read_manifest("d")["sequence_length"] -> {"inputs": 512, "targets": 256}
  """
  path = os.path.join(export_dir, MANIFEST)
  if not os.path.exists(path):
    raise ExportError("%s: no %s here; write an export with `wt5 export`" %
                      (export_dir, MANIFEST))
  try:
    with open(path, encoding="utf-8") as f:
      manifest = json.load(f)
  except (OSError, ValueError) as e:
    raise ExportError("%s: cannot read the manifest: %s" % (path, e)) from None
  if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
    raise ExportError("%s: not a %s manifest (format %r)" % (
        path, FORMAT, manifest.get("format") if isinstance(manifest, dict)
        else None))
  for key in ("name", "vocabulary", "sequence_length", "tasks", "splits"):
    if key not in manifest:
      raise ExportError("%s: the manifest has no %r entry" % (path, key))
  return manifest


def split_entry(manifest: Mapping[str, Any], split: str,
                export_dir: str = "") -> Mapping[str, Any]:
  """The manifest's entry for `split`, or an error naming the splits there.

  split_entry({"splits": {"train": {...}}}, "train") -> {...}
  """
  splits = manifest["splits"]
  if split not in splits:
    raise ExportError("%s: split %r was not exported; exported: %s" % (
        export_dir or manifest.get("name"), split,
        ", ".join(sorted(splits)) or "none"))
  return splits[split]


def split_tasks(manifest: Mapping[str, Any], split: str) -> List[str]:
  """The tasks with examples in `split` (per-task files, or the mixture's).

  split_tasks(m, "validation") -> ["esnli_v010", "mnli_explain_eval_matched_v002"]
  """
  entry = split_entry(manifest, split)
  return sorted(t for t, n in entry.get("counts", {}).items() if n)


def split_file(export_dir: str, manifest: Mapping[str, Any], split: str,
               task: Optional[str] = None) -> str:
  """The path of `split`'s file: the mixed one, or `task`'s.

  split_file("d", m, "train") -> "d/train.jsonl.gz"
  split_file("d", m, "validation", "esnli_v010") -> "d/validation/esnli_v010.jsonl.gz"
  """
  files = split_entry(manifest, split, export_dir)["files"]
  key = MIXED if task is None else task
  if key not in files:
    if task is None:
      raise ExportError(
          "%s: split %r was exported per task (%s); name one task" %
          (export_dir, split, ", ".join(sorted(files))))
    raise ExportError("%s: split %r has no file for task %r; it has: %s" % (
        export_dir, split, task, ", ".join(sorted(files))))
  return os.path.join(export_dir, files[key])


def parse_example(line: str, path: str, lineno: int) -> Dict[str, Any]:
  """Parses and checks one example line.

  parse_example('{"task": "t", "inputs": [5, 1], "targets": [1], "inputs_pretokenized": "a", "targets_pretokenized": ""}', "f", 1)
  -> {"task": "t", "inputs": [5, 1], "targets": [1], ...}
  """
  try:
    example = json.loads(line)
  except ValueError as e:
    raise ExportError("%s:%d: not a JSON object: %s" % (path, lineno, e)) from None
  if not isinstance(example, dict):
    raise ExportError("%s:%d: expected a JSON object, got %s" % (
        path, lineno, type(example).__name__))
  missing = [k for k in EXAMPLE_KEYS if k not in example]
  if missing:
    raise ExportError("%s:%d: the example has no %s" % (
        path, lineno, ", ".join(missing)))
  for key in ("inputs", "targets"):
    ids = example[key]
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and i >= 0 for i in ids):
      raise ExportError("%s:%d: %r must be a list of token ids (ints >= 0)" %
                        (path, lineno, key))
  return example


def iter_examples(path: str) -> Iterator[Dict[str, Any]]:
  """Yields the examples of one export file, in order.

  next(iter_examples("d/train.jsonl.gz"))["task"] -> "esnli_v010"
  """
  if not os.path.exists(path):
    raise ExportError("%s: missing export file" % path)
  with open_text(path) as f:
    for lineno, line in enumerate(f, 1):
      if line.strip():
        yield parse_example(line, path, lineno)


def read_split(export_dir: str, split: str,
               task: Optional[str] = None) -> List[Dict[str, Any]]:
  """All examples of `split` (of one `task` for a per-task split).

  read_split("d", "validation", "esnli_v010") is
  `Export("d").examples("validation", "esnli_v010")`; len(...) -> 100
  """
  return Export(export_dir).examples(split, task)


def check_embedding(vocab_size: int, model_vocab_size: int,
                    where: str = "the model",
                    vocab_path: Optional[str] = None) -> Optional[str]:
  """Checks that a model's embedding covers a vocabulary of `vocab_size` ids.

  Returns None when the sizes are equal, a note when the model has more rows
  (Hugging Face T5 checkpoints pad 32100 ids to 32128), and raises
  `ExportError` when the model has fewer rows than the vocabulary has ids.

  check_embedding(32100, 32128) -> "the model's embedding has 32128 rows for a vocabulary of 32100 ids; ..."
  """
  if model_vocab_size < vocab_size:
    raise ExportError(
        "Vocabulary mismatch: %s has an embedding of %d rows but the export's "
        "vocabulary %s has %d ids; ids >= %d would index past the embedding. "
        "Export with the model's own vocabulary (WT5_VOCAB_MODEL=<checkpoint>/"
        "spiece.model) or train a model of vocab_size %d." % (
            where, model_vocab_size, vocab_path, vocab_size,
            model_vocab_size, vocab_size))
  if model_vocab_size > vocab_size:
    return ("%s's embedding has %d rows for a vocabulary of %d ids; the "
            "extra rows are never produced by the vocabulary" % (
                where, model_vocab_size, vocab_size))
  return None


@dataclasses.dataclass(frozen=True)
class Vocabulary:
  """The manifest's vocabulary entry.

  Vocabulary.from_entry({"path": "v.model", "extra_ids": 0, "size": 2000,
  "pad_id": 0, "eos_id": 1}).size -> 2000
  """
  path: str
  size: int
  pad_id: int = 0
  eos_id: int = 1
  extra_ids: int = 0

  @classmethod
  def from_entry(cls, entry: Mapping[str, Any]) -> "Vocabulary":
    return cls(str(entry["path"]), int(entry["size"]),
               int(entry.get("pad_id", 0)), int(entry.get("eos_id", 1)),
               int(entry.get("extra_ids", 0)))


class Export:
  """An export directory; the manifest is read and checked once, here.

  export = Export("exports/esnli"); export.tasks("validation") -> ["esnli_v010"]
  """

  def __init__(self, path: str):
    self.path = path
    self.manifest = read_manifest(path)
    self.vocabulary = Vocabulary.from_entry(self.manifest["vocabulary"])
    self.sequence_length: Dict[str, int] = {
        k: int(v) for k, v in self.manifest["sequence_length"].items()}

  @property
  def name(self) -> str:
    """The exported task or mixture: "esnli_mnli_all_explanations"."""
    return self.manifest["name"]

  def task_info(self, task: str) -> Mapping[str, Any]:
    """A task's manifest entry: {"rate": ..., "postprocessor": ..., "metrics": [...]}."""
    return self.manifest["tasks"][task]

  def split(self, split: str) -> Mapping[str, Any]:
    """The manifest's entry for `split`; ExportError naming the exported ones."""
    return split_entry(self.manifest, split, self.path)

  def tasks(self, split: str) -> List[str]:
    """The tasks with examples in `split`: tasks("validation") -> ["esnli_v010"]."""
    self.split(split)
    return split_tasks(self.manifest, split)

  def check_per_task(self, split: str) -> None:
    """Raises ExportError unless `split` was exported task by task."""
    if self.split(split)["kind"] != "per_task":
      raise ExportError(
          "%s: split %r was exported as a sampled mixture; export evaluation "
          "splits per task (`wt5 export NAME --split %s`)" % (self.path, split,
                                                               split))

  def file(self, split: str, task: Optional[str] = None) -> str:
    """The path of `split`'s file (of `task` for a per-task split)."""
    return split_file(self.path, self.manifest, split, task)

  def examples(self, split: str,
               task: Optional[str] = None) -> List[Dict[str, Any]]:
    """All examples of `split` (of one `task` for a per-task split).

    len(Export("d").examples("validation", "esnli_v010")) -> 100
    """
    return list(iter_examples(self.file(split, task)))

  def check_embedding(self, model_vocab_size: int,
                      where: str = "the model") -> Optional[str]:
    """`check_embedding` of the export's vocabulary against a model's rows."""
    return check_embedding(self.vocabulary.size, model_vocab_size, where,
                           self.vocabulary.path)


# ---------------------------------------------------------------------------
# Writing, for `wt5 export`.


def new_manifest(name: str, vocabulary: Mapping[str, Any],
                 sequence_length: Mapping[str, int]) -> Dict[str, Any]:
  """A manifest without tasks or splits.

  new_manifest("esnli_v010", {"path": "v", "size": 2000, ...}, {"inputs": 64,
  "targets": 32}) -> {"format": "wt5-export-1", "name": "esnli_v010", ...,
  "tasks": {}, "splits": {}}
  """
  return {"format": FORMAT, "name": name, "vocabulary": dict(vocabulary),
          "sequence_length": dict(sequence_length), "tasks": {}, "splits": {}}


def load_or_new_manifest(output_dir: str, name: str,
                         vocabulary: Mapping[str, Any],
                         sequence_length: Mapping[str, int]) -> Dict[str, Any]:
  """The directory's manifest to add a split to (a new one if none).

  Refuses a directory exported for another task, vocabulary or lengths.
  """
  if not os.path.exists(os.path.join(output_dir, MANIFEST)):
    return new_manifest(name, vocabulary, sequence_length)
  manifest = read_manifest(output_dir)
  for key, value in (("name", name), ("vocabulary", dict(vocabulary)),
                     ("sequence_length", dict(sequence_length))):
    if manifest[key] != value:
      raise ValueError(
          "%s holds an export with %s %r, not %r; export into another "
          "directory" % (output_dir, key, manifest[key], value))
  return manifest


def write_examples(examples: Iterator[Mapping[str, Any]],
                   path: str) -> Dict[str, int]:
  """Writes JSON Lines (gzip for ".gz"); returns the count per task.

  write_examples(iter([{"task": "t", ...}]), "d/train.jsonl.gz") -> {"t": 1}
  """
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  counts: Dict[str, int] = {}
  tmp = path + ".tmp" + (".gz" if path.endswith(".gz") else "")
  with open_text(tmp, "wt") as f:
    for example in examples:
      f.write(json.dumps(example, ensure_ascii=False, sort_keys=True) + "\n")
      counts[example["task"]] = counts.get(example["task"], 0) + 1
  os.replace(tmp, path)
  return counts


def mixture_entry(relative: str, counts: Mapping[str, int],
                  seed: int) -> Dict[str, Any]:
  """A mixed split's manifest entry: one file of the sampled examples.

  mixture_entry("train.jsonl.gz", {"t": 3}, 0) -> {"kind": "mixture",
  "seed": 0, "count": 3, "files": {"*": "train.jsonl.gz"}, "counts": {"t": 3}}
  """
  return {"kind": "mixture", "seed": seed, "count": sum(counts.values()),
          "files": {MIXED: relative}, "counts": dict(counts)}


def per_task_entry(files: Mapping[str, str],
                   counts: Mapping[str, int]) -> Dict[str, Any]:
  """A per-task split's manifest entry: one file per task.

  per_task_entry({"t": "validation/t.jsonl.gz"}, {"t": 3}) -> {"kind":
  "per_task", "count": 3, "files": {...}, "counts": {"t": 3}}
  """
  return {"kind": "per_task", "count": sum(counts.values()),
          "files": dict(files), "counts": dict(counts)}


def write_manifest(output_dir: str, manifest: Mapping[str, Any]) -> None:
  """Writes `<output_dir>/manifest.json` (indented, keys sorted)."""
  with open(os.path.join(output_dir, MANIFEST), "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write("\n")
