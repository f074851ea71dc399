"""A seqio data source over a user's files (or a TFDS dataset), read lazily.

Nothing is read when the source is made. `get_dataset(split)` streams the
records of the split's files (in the order given, rows in file order) into
`tf.data` from a Python generator; `num_input_examples(split)` counts them
once per process. Split mappings follow TFDS slicing with example counts:
{"train": "train[0:100]"} is the first 100 training records,
{"train": "train[100:]"} the rest.

    source = RowsSource(data_files({"train": "t.jsonl"}), fields,
                        {"train": "train[0:2]"})
    list(source.get_dataset("train").as_numpy_iterator())[0]["label"] -> b"entailment"
"""

import dataclasses
import functools
import itertools
import re
from typing import (Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple,
                    Union)

from absl import logging
import seqio
import tensorflow.compat.v2 as tf

from wt5.custom import readers
from wt5.custom.fields import Fields

ON_ERROR = ("raise", "skip")
_SLICE = re.compile(r"^([^\[\]]+)(?:\[(\d*):(\d*)\])?$")


@dataclasses.dataclass(frozen=True)
class DataFiles:
  """Where the rows are: files per split, or a TFDS name and split mapping.

  Pairs rather than dicts, so that it is hashable:
  DataFiles(files=(("train", ("a.jsonl",)),)).splits -> ("train",)
  DataFiles(tfds_name="esnli:0.1.0", tfds_splits=(("train", "train"),)).splits -> ("train",)
  """
  files: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
  tfds_name: Optional[str] = None
  tfds_splits: Tuple[Tuple[str, str], ...] = ()
  on_error: str = "raise"

  @property
  def splits(self) -> Tuple[str, ...]:
    return tuple(s for s, _ in self.files or self.tfds_splits)

  def numbered_rows(self, split: str) -> Iterator[Tuple[str, Iterator[Any]]]:
    """(where, numbered rows) for each file (or the TFDS split) of `split`."""
    if self.tfds_name:
      tfds_split = dict(self.tfds_splits)[split]
      yield (readers.tfds_location(self.tfds_name, tfds_split),
             readers.read_tfds(self.tfds_name, tfds_split))
      return
    for path in readers.expand_paths(dict(self.files)[split]):
      yield path, readers.read_file(path)


def data_files(files: Union[None, str, Mapping[str, Any]] = None,
               tfds_name: Optional[str] = None,
               tfds_splits: Optional[Mapping[str, str]] = None,
               on_error: str = "raise") -> DataFiles:
  """Checks the user's description of the data, without reading anything.

  data_files({"train": "a.jsonl", "validation": ["b.csv", "c.csv"]}).files
    -> (("train", ("a.jsonl",)), ("validation", ("b.csv", "c.csv")))
  """
  if on_error not in ON_ERROR:
    raise ValueError("on_error: expected 'raise' or 'skip', got %r" %
                     (on_error,))
  if (files is None) == (tfds_name is None):
    raise ValueError("give either data_files (a mapping from split to files) "
                     "or tfds_name")
  if tfds_name:
    splits = dict(tfds_splits or {"train": "train", "validation": "validation"})
    return DataFiles(tfds_name=tfds_name, tfds_splits=tuple(splits.items()),
                     on_error=on_error)
  if not isinstance(files, Mapping) or not files:
    raise ValueError("data_files: expected a mapping from split name to a "
                     "file or a list of files, got %r" % (files,))
  normalized = {}
  for split, paths in files.items():
    paths = (paths,) if isinstance(paths, str) else tuple(paths)
    if not paths or not all(isinstance(p, str) for p in paths):
      raise ValueError("data_files[%r]: expected a path or a list of paths, "
                       "got %r" % (split, files[split]))
    for path in paths:
      readers.file_format(path)
    normalized[split] = paths
  return DataFiles(files=tuple(normalized.items()), on_error=on_error)


def parse_split(spec: str) -> Tuple[str, int, Optional[int]]:
  """A split and slice: parse_split("train[100:]") -> ("train", 100, None).

  parse_split("validation") -> ("validation", 0, None)
  """
  match = _SLICE.match(spec)
  if not match:
    raise ValueError("split %r: expected NAME, NAME[START:STOP] with example "
                     "counts" % spec)
  name, start, stop = match.groups()
  return name, int(start or 0), int(stop) if stop else None


def iter_records(data: DataFiles, fields: Fields, split: str,
                 log_skipped: bool = True) -> Iterator[Dict[str, Any]]:
  """The records of one split, file by file; bad rows raise DataError or are
  skipped (`on_error="skip"`), the number skipped logged per file."""
  for where, rows in data.numbered_rows(split):
    skipped = []
    yield from readers.checked_rows(rows, where, fields.record,
                                    data.on_error == "skip", skipped.append)
    if skipped and log_skipped:
      logging.warning("%s: skipped %d bad row(s) (on_error='skip'); the "
                      "first: %s", where, len(skipped), skipped[0])


@functools.lru_cache(maxsize=None)
def count_records(data: DataFiles, fields: Fields, split: str) -> int:
  """The number of records of a split (read once per process; the reading
  of the examples logs the rows skipped)."""
  return sum(1 for _ in iter_records(data, fields, split, log_skipped=False))


def _signature(fields: Fields) -> Dict[str, tf.TensorSpec]:
  return {"fields": tf.TensorSpec([len(fields.inputs)], tf.string),
          "label": tf.TensorSpec([], tf.string),
          "explanations": tf.TensorSpec([None], tf.string)}


class RowsSource(seqio.DataSource):
  """The records of a `DataFiles` under a split mapping (see the module doc)."""

  def __init__(self, data: DataFiles, fields: Fields,
               split_map: Union[None, Sequence[str], Mapping[str, str]] = None):
    if split_map is None:
      split_map = {s: s for s in data.splits}
    elif not isinstance(split_map, Mapping):
      split_map = {s: s for s in split_map}
    for split, spec in split_map.items():
      if parse_split(spec)[0] not in data.splits:
        raise ValueError("split %r reads %r, which the data do not have (%s)"
                         % (split, spec, ", ".join(data.splits)))
    super().__init__(splits=tuple(split_map))
    self._data, self._fields, self._split_map = data, fields, dict(split_map)

  @property
  def supports_arbitrary_sharding(self) -> bool:
    # One shard per split: seqio's cache job then reads each split once, and
    # seqio shards the read split itself (`Dataset.shard`) for several hosts.
    return False

  def list_shards(self, split: str) -> Sequence[str]:
    return [self._split_map[split]]

  def _records(self, split: str) -> Iterator[Dict[str, Any]]:
    name, start, stop = parse_split(self._split_map[split])
    return itertools.islice(iter_records(self._data, self._fields, name),
                            start, stop)

  def get_dataset(self, split: str = "train", shuffle: bool = True,
                  seed: Optional[int] = None,
                  shard_info: Optional[seqio.ShardInfo] = None,
                  *, sequence_length=None, use_cached=False, num_epochs=1
                  ) -> tf.data.Dataset:
    """The records of `split` in file order (seqio shuffles them later)."""
    del shuffle, seed, sequence_length, use_cached, num_epochs  # Unused.
    dataset = tf.data.Dataset.from_generator(
        functools.partial(self._records, split),
        output_signature=_signature(self._fields))
    if shard_info and shard_info.num_shards > 1:
      dataset = dataset.shard(shard_info.num_shards, shard_info.index)
    return dataset

  def num_input_examples(self, split: str) -> int:
    name, start, stop = parse_split(self._split_map[split])
    total = count_records(self._data, self._fields, name)
    return max(0, min(total, stop if stop is not None else total) - start)
