"""Amazon US reviews from the original TSV release, in TFDS format.

The `amazon_us_reviews` source files were withdrawn upstream, so TFDS can no
longer download them. Who holds copies of the public release
(`amazon_reviews_us_<Category>_v1_00.tsv` or `.tsv.gz`, tab-separated, with
the header `HEADER`) can prepare `amazon_us_reviews/<Config>:0.1.0` from them:

    wt5 data amazon --tsv amazon_reviews_us_Books_v1_02.tsv.gz ... --data_dir DIR

The configuration comes from the file name. The files are read as a stream,
one line at a time, and written by TFDS's own builder for that dataset (its
features, name, version and sharded TFRecord writer, which keeps at most about
1 GB in memory and spills the rest to disk while it shuffles), so that
`tfds.load("amazon_us_reviews/Books_v1_02:0.1.0", data_dir=DIR)` and the WT5
Amazon tasks read it. A row that does not parse is reported with its file and
line and skipped; text is kept verbatim.
"""

import argparse
import collections
import contextlib
import dataclasses
import gzip
import io
import os
import re
import sys
from typing import (Callable, Dict, IO, Iterator, List, Optional,
                    Sequence, Tuple)

from wt5 import cli_options
from wt5 import tfds_data

HEADER = ("marketplace", "customer_id", "review_id", "product_id",
          "product_parent", "product_title", "product_category", "star_rating",
          "helpful_votes", "total_votes", "vine", "verified_purchase",
          "review_headline", "review_body", "review_date")
NAME = tfds_data.AMAZON
VERSION = tfds_data.AMAZON_VERSION
FILE_PATTERN = re.compile(r"^amazon_reviews_us_(?P<config>.+?)\.tsv(\.gz)?$")
FLAGS = ("Y", "N")  # The ClassLabel names of `vine` and `verified_purchase`.

# Why a row is skipped.
WRONG_COLUMNS = "wrong number of columns"
BAD_STAR_RATING = "star rating not 1 to 5"
BAD_ENCODING = "not UTF-8"
BAD_VOTES = "votes not a count"
BAD_FLAG = "vine/verified_purchase not Y or N"


class BadRow(ValueError):
  """A TSV row that cannot become an example; `reason` is one of the above."""

  def __init__(self, reason: str, detail: str):
    super().__init__("%s: %s" % (reason, detail))
    self.reason = reason


@dataclasses.dataclass
class Counts:
  """What a conversion read, wrote and skipped (by reason)."""
  read: int = 0
  written: int = 0
  skipped: Dict[str, int] = dataclasses.field(
      default_factory=collections.Counter)

  def summary(self) -> str:
    """Counts(read=5, written=3, skipped={"x": 2}).summary() -> "read 5, written 3, skipped 2 (x: 2)" """
    total = sum(self.skipped.values())
    reasons = ", ".join("%s: %d" % kv for kv in sorted(self.skipped.items()))
    return "read %d, written %d, skipped %d%s" % (
        self.read, self.written, total, " (%s)" % reasons if reasons else "")


def config_from_filename(path: str, known: Sequence[str]) -> str:
  """The configuration a release file holds, from its name.

  config_from_filename("/d/amazon_reviews_us_Books_v1_02.tsv.gz", known) -> "Books_v1_02"
  """
  match = FILE_PATTERN.match(os.path.basename(path))
  if not match:
    raise ValueError(
        "%s: not a file of the Amazon reviews release; expected a name like "
        "amazon_reviews_us_Books_v1_00.tsv or .tsv.gz" % path)
  config = match.group("config")
  if config not in known:
    raise ValueError(
        "%s: %r is not an amazon_us_reviews configuration of TFDS; known: %s"
        % (path, config, ", ".join(known)))
  return config


def parse_row(line: bytes) -> Dict[str, str]:
  """One TSV line (without its newline) -> the `data` dict of an example.

  Raises BadRow. Text is kept as it is, HTML included.
  parse_row(b"US\\t1\\tR1\\tP1\\t2\\tLamp\\tHome\\t5\\t0\\t1\\tN\\tY\\tGreat\\tIt works.<br />Yes\\t2015-08-31")
    -> {"marketplace": "US", ..., "star_rating": "5", ..., "review_body": "It works.<br />Yes", ...}
  """
  try:
    text = line.decode("utf-8")
  except UnicodeDecodeError as e:
    raise BadRow(BAD_ENCODING, "byte %d" % (e.start + 1)) from None
  fields = text.split("\t")
  if len(fields) != len(HEADER):
    raise BadRow(WRONG_COLUMNS, "%d instead of %d" % (len(fields),
                                                     len(HEADER)))
  row = dict(zip(HEADER, fields))
  if row["star_rating"] not in ("1", "2", "3", "4", "5"):
    raise BadRow(BAD_STAR_RATING, repr(row["star_rating"]))
  for key in ("helpful_votes", "total_votes"):
    if not row[key].isdigit():
      raise BadRow(BAD_VOTES, "%s=%r" % (key, row[key]))
  for key in ("vine", "verified_purchase"):
    if row[key] not in FLAGS:
      raise BadRow(BAD_FLAG, "%s=%r" % (key, row[key]))
  return row


def _open(path: str) -> IO[bytes]:
  return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def check_header(path: str) -> None:
  """Raises ValueError unless the file's first line is the release header."""
  with _open(path) as f:
    first = f.readline().rstrip(b"\r\n")
  if first.decode("utf-8", "replace").split("\t") != list(HEADER):
    raise ValueError("%s: line 1 is not the header of the Amazon reviews "
                     "release; expected the tab-separated columns %s" %
                     (path, " ".join(HEADER)))


MessageSink = Callable[[str], None]  # receives each problem, as one line


def read_examples(path: str, counts: Counts, report: MessageSink
                  ) -> Iterator[Tuple[str, Dict[str, Dict[str, str]]]]:
  """Streams (key, example) pairs from one release file, one line at a time.

  Bad rows are counted in `counts.skipped`, reported as "FILE:LINE: reason"
  and skipped; blank lines are ignored. Keys are "FILE_NAME:LINE".
  """
  name = os.path.basename(path)
  with _open(path) as f:
    for number, line in enumerate(f, start=1):
      if number == 1:
        continue  # The header (see check_header).
      line = line.rstrip(b"\r\n")
      if not line:
        continue
      counts.read += 1
      try:
        row = parse_row(line)
      except BadRow as e:
        counts.skipped[e.reason] += 1
        report("%s:%d: skipped, %s" % (path, number, e))
        continue
      counts.written += 1
      yield "%s:%d" % (name, number), {"data": row}


MAX_REPORTS_PER_FILE = 1000  # Bad rows a Beam worker hands back per file.


def _file_examples(path: str, counts_dir: str
                   ) -> Iterator[Tuple[str, Dict[str, Dict[str, str]]]]:
  """A Beam worker's share: one file's examples, then its counts as JSON.

  Bad rows are logged on the worker; the first MAX_REPORTS_PER_FILE reports
  and all counts go to COUNTS_DIR/<file name>.json for the launcher.
  """
  import json
  import logging
  import tensorflow as tf
  counts, reports = Counts(), []

  def report(message: str) -> None:
    logging.warning(message)
    if len(reports) < MAX_REPORTS_PER_FILE:
      reports.append(message)

  yield from read_examples(path, counts, report)
  with tf.io.gfile.GFile(os.path.join(counts_dir, os.path.basename(path) +
                                      ".json"), "w") as f:
    json.dump({"read": counts.read, "written": counts.written,
               "skipped": dict(counts.skipped), "reports": reports}, f)


def _collect_counts(counts_dir: str, counts: Counts,
                    report: MessageSink) -> None:
  """Adds the counts (and reports) the Beam workers left in `counts_dir`."""
  import json
  import tensorflow as tf
  for name in sorted(tf.io.gfile.listdir(counts_dir)):
    with tf.io.gfile.GFile(os.path.join(counts_dir, name)) as f:
      part = json.load(f)
    counts.read += part["read"]
    counts.written += part["written"]
    counts.skipped.update(part["skipped"])
    for message in part["reports"]:
      report(message)
    skipped = sum(part["skipped"].values())
    if skipped > len(part["reports"]):
      report("%s: %d more skipped rows are in the Beam workers' logs" % (
          name[:-len(".json")], skipped - len(part["reports"])))


def _builder_class(files: Sequence[str], counts: Counts, report: MessageSink,
                   counts_dir: Optional[str] = None):
  """TFDS's amazon_us_reviews builder, reading `files` instead of the web.

  With `counts_dir`, the examples come from a Beam pipeline (one file per
  worker task) and the counts are left there.
  """
  import tensorflow_datasets as tfds
  base = tfds.builder_cls(NAME)

  class FromTsv(base, skip_registration=True):
    """amazon_us_reviews prepared from local copies of the release."""
    name = NAME

    def _split_generators(self, dl_manager):
      del dl_manager  # Nothing to download.
      if counts_dir:
        import apache_beam as beam
        return {"train": beam.Create(list(files)) | "ReadTsv" >> beam.FlatMap(
            _file_examples, counts_dir=counts_dir)}
      return {"train": self._generate_examples(files)}

    def _generate_examples(self, file_paths):
      for path in file_paths:
        yield from read_examples(path, counts, report)

  return FromTsv


def convert(tsv_files: Sequence[str], data_dir: str,
            report: MessageSink = (
                lambda message: print(message, file=sys.stderr)),
            pipeline_options: Optional[Sequence[str]] = None
            ) -> Dict[str, Counts]:
  """Writes `amazon_us_reviews/<Config>:0.1.0` under `data_dir` from TSV files.

  Every file's name and header are checked before anything is written; a
  dataset already prepared there under the same configuration is replaced.
  With `pipeline_options` (Beam's, e.g. ["--runner=DirectRunner"]) TFDS
  writes through a Beam pipeline on that runner. Returns {config: Counts}.

  convert(["amazon_reviews_us_Books_v1_00.tsv"], "/d")
    -> {"Books_v1_00": Counts(read=5, written=4, skipped={"wrong number of columns": 1})}
  """
  import tensorflow_datasets as tfds

  if not tsv_files:
    raise ValueError("no TSV files given")
  known = tfds_data.amazon_configs()
  by_config: Dict[str, List[str]] = collections.OrderedDict()
  for path in tsv_files:
    if not os.path.isfile(path):
      raise FileNotFoundError("%s: no such file" % path)
    by_config.setdefault(config_from_filename(path, known), []).append(path)
    check_header(path)
  for config, paths in by_config.items():
    if len(paths) > 1:
      raise ValueError("%s: all hold the configuration %s; give one file per "
                       "configuration" % (", ".join(paths), config))

  tfds.disable_progress_bar()
  results = collections.OrderedDict()
  with tfds_data.no_new_downloads_dir(data_dir):
    for config, paths in by_config.items():
      tfds_data.remove_prepared(
          tfds_data.prepared_dir(data_dir, NAME, config, VERSION))
      results[config] = _convert_config(config, paths, data_dir, report,
                                        pipeline_options)
  return results


def _convert_config(config: str, paths: Sequence[str], data_dir: str,
                    report: MessageSink,
                    pipeline_options: Optional[Sequence[str]]) -> Counts:
  """Writes one configuration from its TSV files; returns what it counted."""
  import shutil
  import tensorflow_datasets as tfds
  counts = Counts()
  download_config = None
  counts_dir = None
  if pipeline_options is not None:
    import tempfile
    from apache_beam.options import pipeline_options as beam_options
    os.makedirs(data_dir, exist_ok=True)
    counts_dir = tempfile.mkdtemp(prefix="amazon_tsv_counts_",
                                  dir=data_dir)
    download_config = tfds.download.DownloadConfig(
        beam_options=beam_options.PipelineOptions(list(pipeline_options)))
  builder = _builder_class(paths, counts, report, counts_dir)(
      config=config, data_dir=data_dir)
  try:
    with contextlib.redirect_stdout(io.StringIO()):  # TFDS's "Downloading".
      builder.download_and_prepare(download_config=download_config)
  except AssertionError as e:  # TFDS refuses to write an empty split.
    if "No examples were yielded" not in str(e):
      raise
    raise ValueError("%s: no review row to write for %s (%s)" % (
        ", ".join(paths), config, counts.summary())) from None
  if counts_dir:
    _collect_counts(counts_dir, counts, report)
    shutil.rmtree(counts_dir)
  return counts


# ---------------------------------------------------------------------------
# `wt5 data amazon`
# ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 data amazon`."""
  parser.add_argument("--tsv", nargs="+", required=True, metavar="FILE",
                      help="Files of the release: amazon_reviews_us_<Config>"
                      ".tsv or .tsv.gz (one per configuration).")
  cli_options.DATA_DIR.add(parser, required=True,
                           help="The TFDS data directory to write into.")
  parser.add_argument("--pipeline_options", default=None,
                      help="Write through an Apache Beam pipeline with these "
                      "comma-separated Beam options, e.g. "
                      "--runner=DirectRunner,--direct_num_workers=2 (or a "
                      "Dataflow, Flink or Spark runner's options).")


def run(args: argparse.Namespace) -> int:
  """Converts the files and prints the counts per configuration."""
  data_dir = os.path.abspath(args.data_dir)
  try:
    options = (None if args.pipeline_options is None else
               [o for o in args.pipeline_options.split(",") if o])
    results = convert(args.tsv, data_dir, pipeline_options=options)
  except (ValueError, OSError) as e:
    print("wt5 data amazon: %s" % e, file=sys.stderr)
    return 2
  for config, counts in results.items():
    print("%s/%s:%s: %s" % (NAME, config, VERSION, counts.summary()))
  print("Wrote %d dataset(s) to %s; the WT5 Amazon tasks read them with "
        "--t5_tfds_data_dir=%s" % (len(results), data_dir, data_dir))
  return 0
