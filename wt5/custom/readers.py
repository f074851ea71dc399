"""Reading the rows of a user's data files: JSON Lines, CSV, TSV, or TFDS.

The format comes from the file name: `.jsonl` (also `.json`, `.ndjson`),
`.csv` or `.tsv`, each optionally followed by `.gz`. Any path that
`tf.io.gfile` opens works (local, `gs://`, ...); a path with `*`, `?` or `[`
is a glob, read in sorted order.

    list(read_file("train.jsonl"))
      -> [(1, {"premise": "A man sleeps.", "label": "neutral", ...}), ...]

Every row comes with its line number (the line where a CSV record starts;
for TFDS the 1-based example number). A row that cannot be read comes as a
`DataError` naming the file, the line and the problem, which `checked_rows`
raises (or skips) there:

    DataError: data/train.jsonl:7: invalid JSON: Expecting ',' delimiter (column 31)

JSON Lines: one JSON object per line; blank lines are not rows. CSV: a header
row of field names, RFC 4180 quoting. TSV: a header row, tab-separated cells,
no quoting (a cell holds no tab or newline). A UTF-8 byte order mark at the
start of a file is not part of the first field name.
"""

import csv
import gzip
import io
import json
import os
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Tuple, Union)

import tensorflow as tf

Row = Dict[str, Any]
NumberedRow = Tuple[int, Union[Row, "DataError"]]

_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
            ".csv": "csv", ".tsv": "tsv"}
_PREVIEW_CHARS = 60


class DataError(ValueError):
  """A data row that cannot be used: "<file>:<line>: <problem>"."""

  def __init__(self, where: str, line: int, problem: str):
    super().__init__("%s:%d: %s" % (where, line, problem))
    self.where, self.line, self.problem = where, line, problem


class CellRow(dict):
  """A CSV or TSV row: every value is the text of a cell."""


class RowError(ValueError):
  """A problem with one row; the reader adds the file and line."""


def preview(text: str) -> str:
  """Quotes `text` for a message, cut at 60 characters.

  preview("a" * 70) -> "'aaaa...aaa...'" (60 a's then '...')
  """
  return repr(text if len(text) <= _PREVIEW_CHARS else
              text[:_PREVIEW_CHARS] + "...")


def file_format(path: str) -> str:
  """The format of a data file from its name.

  file_format("gs://b/dev.csv.gz") -> "csv"; file_format("a.jsonl") -> "jsonl"
  """
  name = path[:-3] if path.endswith(".gz") else path
  extension = os.path.splitext(name)[1].lower()
  if extension not in _FORMATS:
    raise ValueError(
        "%s: unknown data file format %r; name the file .jsonl, .csv or .tsv "
        "(optionally followed by .gz)" % (path, extension or name))
  return _FORMATS[extension]


def expand_paths(paths: Iterable[str]) -> List[str]:
  """The files of `paths`, globs expanded in sorted order.

  expand_paths(["d/train-*.jsonl"]) -> ["d/train-0.jsonl", "d/train-1.jsonl"]
  """
  files = []
  for path in paths:
    if any(c in path for c in "*?["):
      matches = sorted(tf.io.gfile.glob(path))
      if not matches:
        raise FileNotFoundError("no file matches %r" % path)
      files.extend(matches)
    else:
      files.append(path)
  return files


def _binary_lines(path: str) -> Iterator[bytes]:
  """The raw lines of a file, gunzipped if its name ends in .gz."""
  with tf.io.gfile.GFile(path, "rb") as f:
    stream = gzip.GzipFile(fileobj=f) if path.endswith(".gz") else f
    for line in io.BufferedReader(stream) if path.endswith(".gz") else stream:
      yield line


def _text_lines(path: str) -> Iterator[Tuple[int, str, Optional[str]]]:
  """(line number, text, problem) of each line, decoded as strict UTF-8.

  A line that is not valid UTF-8 comes decoded with U+FFFD and its problem
  ("invalid UTF-8: byte 0xff at byte 3 of the line"); else problem is None.
  """
  for number, raw in enumerate(_binary_lines(path), start=1):
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
      raw = raw[3:]
    try:
      yield number, raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
      yield number, raw.decode("utf-8", errors="replace"), (
          "invalid UTF-8: byte 0x%02x at byte %d of the line" %
          (raw[e.start], e.start + 1))


def _jsonl_rows(path: str) -> Iterator[NumberedRow]:
  for number, text, problem in _text_lines(path):
    if problem:
      yield number, DataError(path, number, problem)
    elif text.strip():
      try:
        row = json.loads(text)
      except json.JSONDecodeError as e:
        yield number, DataError(path, number, "invalid JSON: %s (column %d)" %
                                (e.msg, e.colno))
        continue
      if not isinstance(row, dict):
        row = DataError(path, number, "expected a JSON object, got %s" %
                        value_kind(row))
      yield number, row


def value_kind(value: Any) -> str:
  """How messages name a JSON value's type: value_kind([1]) -> "a list"."""
  for kind, name in ((bool, "a boolean"), (str, "a string"),
                     ((list, tuple), "a list"), (dict, "an object"),
                     ((int, float), "a number")):
    if isinstance(value, kind):
      return name
  return "null" if value is None else type(value).__name__


def _delimited_rows(path: str, delimiter: str) -> Iterator[NumberedRow]:
  position = [0]  # The physical line last handed to the csv reader.
  problems = {}  # line number -> invalid UTF-8 problem

  def feed() -> Iterator[str]:
    for number, text, problem in _text_lines(path):
      position[0] = number
      if problem:
        problems[number] = problem
      yield text

  quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
  reader = csv.reader(feed(), delimiter=delimiter, quoting=quoting,
                      strict=True)
  kind = "TSV" if delimiter == "\t" else "CSV"
  header = None
  while True:
    start = position[0] + 1
    try:
      cells = next(reader)
    except StopIteration:
      return
    except csv.Error as e:
      yield start, DataError(path, start, "invalid %s: %s" % (kind, e))
      continue
    bad = [problems[n] for n in range(start, position[0] + 1) if n in problems]
    if bad:
      yield start, DataError(path, start, bad[0])
    elif not cells:
      continue
    elif header is None:
      header = cells
    elif len(cells) != len(header):
      yield start, DataError(
          path, start, "%s row has %d cells, the header has %d (%s)" % (
              kind, len(cells), len(header), ", ".join(header)))
    else:
      yield start, CellRow(zip(header, cells))


def read_file(path: str) -> Iterator[NumberedRow]:
  """The rows of one data file with their line numbers (bad: a DataError)."""
  kind = file_format(path)
  if kind == "jsonl":
    return _jsonl_rows(path)
  return _delimited_rows(path, "\t" if kind == "tsv" else ",")


def _plain(value: Any) -> Any:
  """A TFDS numpy value as plain Python: bytes -> str, arrays -> lists.

  _plain(np.array([b"a", b"b"])) -> ["a", "b"]; _plain(np.int64(2)) -> 2
  """
  if isinstance(value, bytes):
    return value.decode("utf-8")
  if isinstance(value, dict):
    return {k: _plain(v) for k, v in value.items()}
  if hasattr(value, "tolist"):
    value = value.tolist()
  if isinstance(value, list):
    return [_plain(v) for v in value]
  return value


def read_tfds(name: str, split: str) -> Iterator[NumberedRow]:
  """The examples of a prepared TFDS split, in TFDS order, numbered from 1.

  Reads from seqio's TFDS data directory override when one is set.
  """
  import seqio
  import tensorflow_datasets as tfds
  data_dir = getattr(seqio.utils, "_TFDS_DATA_DIR_OVERRIDE", None)
  builder = tfds.builder(name, data_dir=data_dir)
  dataset = builder.as_dataset(split=split, shuffle_files=False)
  where = tfds_location(name, split)
  for number, example in enumerate(tfds.as_numpy(dataset), start=1):
    try:
      yield number, _plain(example)
    except UnicodeDecodeError as e:
      yield number, DataError(where, number, "invalid UTF-8: byte 0x%02x at "
                              "byte %d of a text feature" % (
                                  e.object[e.start], e.start + 1))


def tfds_location(name: str, split: str) -> str:
  """How messages name a TFDS split.

  tfds_location("esnli", "train") -> "esnli[train]"
  """
  return "%s[%s]" % (name, split)


def checked_rows(rows: Iterable[NumberedRow], where: str,
                 to_record: Callable[[Row], Any], skip: bool,
                 skipped: Callable[[DataError], None]) -> Iterator[Any]:
  """`to_record(row)` for each row; a bad row raises DataError, or is skipped.

  `rows` holds (line, row) pairs where a row the reader could not read is a
  DataError. With `skip`, a bad row (unreadable, or rejected by `to_record`
  with a RowError) goes to `skipped` and reading goes on; else it is raised.
  """
  for number, row in rows:
    if not isinstance(row, DataError):
      try:
        yield to_record(row)
        continue
      except RowError as e:
        row = DataError(where, number, str(e))
    if not skip:
      raise row
    skipped(row)
