"""Embedded WT5 demo data: small synthetic datasets in the real TFDS format.

TFDS cannot download the WT5 datasets offline (and the Amazon reviews were
withdrawn upstream). `write_demo_data(data_dir)` writes, for every source the
WT5 tasks read, a small prepared TFDS dataset with that builder's real
`features`, name, config and version, so that `tfds.load("esnli:0.1.0",
data_dir=data_dir)`, seqio's `TfdsDataSource("glue/mnli:1.0.0",
tfds_data_dir=data_dir)` and `t5_mesh_transformer --t5_tfds_data_dir=data_dir`
read it as they would read the real one.

The examples are generated from the templates of `wt5.datasets.demo_templates`,
deterministically from a seed, and carry learnable structure: labels follow from the words, explanations say why
in short formulaic sentences, and extractive rationales are substrings of the
input. No text comes from the real datasets.

`train_demo_vocabulary(data_dir, prefix)` trains a SentencePiece model that
covers every character of the data (byte fallback, identity normalization),
for use through `WT5_VOCAB_MODEL`.

Command line: `wt5 data --data_dir DIR [--all_amazon] [--vocab]`.
"""

import argparse
import contextlib
import dataclasses
import functools
import io
import json
import os
import random
import subprocess
import sys
from typing import (Any, Dict, Iterator, List, Mapping, Optional,
                    Sequence)

from wt5 import answers
from wt5 import cli_options
from wt5 import tfds_data
from wt5.datasets.demo_templates import (OTHER_PLACES, PROMPT_WORDS,
                                         FeatureDict, Generator,
                                         amazon_example, cos_e_example,
                                         esnli_example, imdb_example,
                                         mnli_example, movie_example,
                                         multi_rc_example)

# ---------------------------------------------------------------------------
# The sources: builder, config, version, splits and default sizes.
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Source:
  """One TFDS dataset to write: `name[/config]:version` and its splits."""
  name: str
  config: Optional[str]
  version: str
  sizes: Mapping[str, int]
  generate: Generator

  @property
  def key(self) -> str:
    """The name used in `sizes` and `sources`: "glue/mnli" or "esnli"."""
    return self.name + ("/" + self.config if self.config else "")

  @property
  def full_name(self) -> str:
    """Source("glue", "mnli", "1.0.0", ...).full_name -> "glue/mnli:1.0.0"."""
    return "%s:%s" % (self.key, self.version)

  def path(self, data_dir: str) -> str:
    """Where TFDS keeps the prepared data: DATA_DIR/glue/mnli/1.0.0."""
    return tfds_data.prepared_dir(data_dir, self.name, self.config,
                                  self.version)


SOURCES = (
    Source("esnli", None, "0.1.0",
           {"train": 3000, "validation": 100, "test": 100}, esnli_example),
    Source("cos_e", None, "0.0.1", {"train": 1000, "validation": 100},
           cos_e_example),
    Source("movie_rationales", None, "0.1.0",
           {"train": 1600, "validation": 100, "test": 100}, movie_example),
    Source("eraser_multi_rc", None, "0.1.1",
           {"train": 1000, "validation": 100, "test": 100}, multi_rc_example),
    Source("glue", "mnli", "1.0.0",
           {"train": 500, "validation_matched": 100,
            "validation_mismatched": 100, "test_matched": 50,
            "test_mismatched": 50}, mnli_example),
    Source("glue", "mnli_matched", "1.0.0", {"validation": 100, "test": 50},
           mnli_example),
    Source("glue", "mnli_mismatched", "1.0.0", {"validation": 100, "test": 50},
           functools.partial(mnli_example, places=OTHER_PLACES)),
    Source("imdb_reviews", "plain_text", "1.0.0",
           {"train": 200, "test": 100, "unsupervised": 50}, imdb_example),
)
AMAZON_SIZES = {"train": 300}
DEFAULT_AMAZON_CONFIGS = ("Books_v1_00",)


def amazon_category(config: str) -> str:
  """amazon_category("Digital_Ebook_Purchase_v1_01") -> "Digital_Ebook_Purchase"."""
  return config.rsplit("_v", 1)[0]


def amazon_sources(configs: Sequence[str]) -> List[Source]:
  """Sources for `amazon_us_reviews/<config>:0.1.0`, one per configuration.

  amazon_sources(["Books_v1_00"])[0].full_name -> "amazon_us_reviews/Books_v1_00:0.1.0"
  """
  return [Source(tfds_data.AMAZON, config, tfds_data.AMAZON_VERSION,
                 AMAZON_SIZES,
                 functools.partial(amazon_example,
                                   category=amazon_category(config)))
          for config in configs]


def generate_split(source: Source, split: str, size: int,
                   seed: int = 0) -> Iterator[FeatureDict]:
  """The first `size` examples of one split; the same for the same seed.

  next(generate_split(SOURCES[0], "test", 1))["label"] -> 0, 1 or 2
  """
  rng = random.Random("%s/%s/%d" % (source.key, split, seed))
  for index in range(size):
    yield source.generate(rng, index, split)


def select_sources(sources: Optional[Sequence[str]] = None,
                   amazon_configs: Sequence[str] = DEFAULT_AMAZON_CONFIGS
                   ) -> List[Source]:
  """The sources to write: all of SOURCES and the Amazon configurations given,
  narrowed to `sources` (keys like "glue/mnli" or dataset names like "glue").

  [s.key for s in select_sources(["glue"], [])] -> ["glue/mnli",
      "glue/mnli_matched", "glue/mnli_mismatched"]
  """
  if isinstance(amazon_configs, str):
    raise TypeError("amazon_configs: expected a sequence of configuration "
                    "names, got the string %r" % amazon_configs)
  known = set(tfds_data.amazon_configs())
  unknown = [c for c in amazon_configs if c not in known]
  if unknown:
    raise ValueError("amazon_configs: %s not among the amazon_us_reviews "
                     "configurations of TFDS (e.g. Books_v1_00)" % unknown)
  candidates = list(SOURCES) + amazon_sources(amazon_configs)
  if sources is None:
    return candidates
  if isinstance(sources, str):
    raise TypeError("sources: expected a sequence of names, got the string %r"
                    % sources)
  for wanted in sources:
    if not any(wanted in (s.key, s.name) for s in candidates):
      raise ValueError("sources: %r matches no demo dataset; known: %s" % (
          wanted, ", ".join(s.key for s in candidates)))
  return [s for s in candidates if s.key in sources or s.name in sources]


def split_sizes(source: Source,
                sizes: Optional[Mapping[str, Mapping[str, int]]] = None
                ) -> Dict[str, int]:
  """A source's split sizes with the overrides of `sizes[source.key]`.

  split_sizes(SOURCES[1], {"cos_e": {"train": 5}}) -> {"train": 5, "validation": 100}
  """
  override = dict((sizes or {}).get(source.key, {}))
  for split, size in override.items():
    if split not in source.sizes:
      raise ValueError("sizes[%r]: unknown split %r; %s has %s" % (
          source.key, split, source.full_name, sorted(source.sizes)))
    if not isinstance(size, int) or size < 0:
      raise ValueError("sizes[%r][%r]: expected a count >= 0, got %r" % (
          source.key, split, size))
  return dict(source.sizes, **override)


def write_demo_data(data_dir: str, *,
                    sizes: Optional[Mapping[str, Mapping[str, int]]] = None,
                    seed: int = 0,
                    amazon_configs: Sequence[str] = DEFAULT_AMAZON_CONFIGS,
                    sources: Optional[Sequence[str]] = None
                    ) -> Dict[str, Dict[str, int]]:
  """Writes the demo datasets under `data_dir`; returns {dataset: {split: n}}.

  `sizes` overrides split sizes per source key, e.g. {"esnli": {"train": 50},
  "amazon_us_reviews/Books_v1_00": {"train": 20}}. `amazon_configs` names the
  `amazon_us_reviews` configurations to write
  (`wt5.tfds_data.amazon_configs()` for all 46); `sources` narrows what is
  written to some keys or dataset names. A dataset already prepared in
  `data_dir` under the same name, config and version is replaced; other
  datasets there are left alone.

  write_demo_data("/tmp/d", sources=["cos_e"]) -> {"cos_e:0.0.1": {"train": 1000, "validation": 100}}
  """
  import tensorflow_datasets as tfds

  selected = select_sources(sources, amazon_configs)
  known_keys = {s.key for s in SOURCES} | {
      s.key for s in amazon_sources(tfds_data.amazon_configs())}
  for key in sizes or {}:
    if key not in known_keys:
      raise ValueError("sizes: unknown dataset %r; known: %s" % (
          key, ", ".join(sorted(known_keys))))
  plan = [(source, split_sizes(source, sizes)) for source in selected]

  tfds.disable_progress_bar()
  summary = {}
  with tfds_data.no_new_downloads_dir(data_dir):
    for source, counts in plan:
      tfds_data.remove_prepared(source.path(data_dir))
      summary[source.full_name] = _write_source(source, counts, data_dir, seed)
  return summary


def _write_source(source: Source, counts: Dict[str, int], data_dir: str,
                  seed: int) -> Dict[str, int]:
  """Writes one source's splits in TFDS format; returns `counts`."""
  import tensorflow_datasets as tfds
  split_datasets = {
      split: [("%s-%07d" % (split, i), example) for i, example in enumerate(
          generate_split(source, split, count, seed))]
      for split, count in counts.items()}
  with contextlib.redirect_stdout(io.StringIO()):  # TFDS's "Downloading".
    tfds.dataset_builders.store_as_tfds_dataset(
        name=source.name, config=source.config, version=source.version,
        features=tfds.builder(source.key).info.features,
        split_datasets=split_datasets, data_dir=data_dir,
        # Shuffled by key like real TFDS data: t5_mesh_transformer reads
        # training data with shuffle_files=True, which TFDS refuses for
        # datasets written in order.
        disable_shuffling=False,
        description="WT5 demo data: synthetic examples in the schema of "
        "%s." % source.key)
  return counts


def _text_values(value: Any) -> Iterator[str]:
  """The strings in a (nested) numpy example.

  list(_text_values({"a": b"x", "b": [b"y", b"z"], "c": 3})) -> ["x", "y", "z"]
  """
  if isinstance(value, (bytes, str)):
    yield answers.as_text(value, errors="strict")
  elif isinstance(value, Mapping):
    for key in sorted(value):
      yield from _text_values(value[key])
  elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
    items = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(items, list):
      for item in items:
        yield from _text_values(item)


def iter_demo_text(data_dir: str,
                   max_per_split: Optional[int] = None) -> Iterator[str]:
  """Every string feature of the demo datasets prepared under `data_dir`.

  Reads the sources of SOURCES and every Amazon configuration found there, in
  a fixed order.

  next(iter_demo_text("/tmp/d")) -> "A dog is an animal."
  """
  import tensorflow_datasets as tfds

  for source in list(SOURCES) + amazon_sources(tfds_data.amazon_configs()):
    path = source.path(data_dir)
    if not os.path.exists(os.path.join(path, tfds_data.INFO_FILE)):
      continue
    builder = tfds.builder_from_directory(path)
    for split in sorted(builder.info.splits):
      ds = builder.as_dataset(split=split, shuffle_files=False)
      if max_per_split is not None:
        ds = ds.take(max_per_split)
      for example in tfds.as_numpy(ds):
        yield from _text_values(example)


def train_demo_vocabulary(data_dir: str, model_prefix: str,
                          vocab_size: int = 2000) -> str:
  """Trains a SentencePiece model on the demo data; returns the .model path.

  T5's conventions (pad 0, EOS 1, unk 2, no BOS); identity normalization,
  every character covered and byte fallback, so that every text decodes back
  exactly and never to unk. The prompt and label words of WT5
  (`PROMPT_WORDS`) are in the training text. Deterministic for the same data.

  train_demo_vocabulary("/tmp/d", "/tmp/d/vocab/wt5_demo") -> "/tmp/d/vocab/wt5_demo.model"
  """
  directory = os.path.dirname(os.path.abspath(model_prefix))
  os.makedirs(directory, exist_ok=True)
  corpus = model_prefix + ".corpus.txt"
  lines = 0
  with open(corpus, "w", encoding="utf-8") as f:
    for _ in range(1000):
      f.write(" ".join(PROMPT_WORDS) + "\n")
    for text in iter_demo_text(data_dir):
      for line in text.splitlines():
        if line.strip():
          f.write(line + "\n")
          lines += 1
  if not lines:
    os.remove(corpus)
    raise ValueError("train_demo_vocabulary: no demo datasets under %r; run "
                     "write_demo_data(%r) first" % (data_dir, data_dir))
  try:
    _train_sentencepiece(
        input=corpus, model_prefix=model_prefix, vocab_size=vocab_size,
        model_type="bpe", character_coverage=1.0, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False,
        split_digits=True, hard_vocab_limit=False, pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
  finally:
    os.remove(corpus)
  return model_prefix + ".model"


_TRAIN_SENTENCEPIECE = (
    "import json, sys\n"
    "import sentencepiece\n"
    "sentencepiece.SentencePieceTrainer.train(**json.loads(sys.argv[1]))\n")


def _train_sentencepiece(**options: Any) -> None:
  """Runs `SentencePieceTrainer.train(**options)` in a fresh interpreter.

  sentencepiece's trainer can crash the process (SIGSEGV) when TensorFlow's
  shared libraries were loaded before sentencepiece's, which is the case in
  any process that has read TFDS data; a child that imports only
  sentencepiece is safe. _train_sentencepiece(input="c.txt",
  model_prefix="v", vocab_size=2000) writes v.model and v.vocab.
  """
  result = subprocess.run(
      [sys.executable, "-c", _TRAIN_SENTENCEPIECE, json.dumps(options)],
      stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise RuntimeError(
        "SentencePiece training of %s failed (exit code %d):\n%s" %
        (options.get("model_prefix"), result.returncode,
         result.stderr[-2000:]))


# ---------------------------------------------------------------------------
# `wt5 data`
# ---------------------------------------------------------------------------

VOCAB_PREFIX = os.path.join("vocab", "wt5_demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 data`."""
  cli_options.DATA_DIR.add(
      parser, default="wt5_demo/data", help="The TFDS data directory to "
      "write into (datasets already there under the same names are "
      "replaced).")
  cli_options.SEED.add(parser, help="Seed of the generated examples.")
  parser.add_argument("--all_amazon", action="store_true",
                      help="Write all 46 amazon_us_reviews configurations "
                      "(default: Books_v1_00 only).")
  parser.add_argument("--vocab", action="store_true",
                      help="Also train a SentencePiece vocabulary on the data "
                      "into DATA_DIR/vocab/wt5_demo.model.")


def run(args: argparse.Namespace) -> int:
  """Writes the demo data (and vocabulary) and says how to use them."""
  configs = (tfds_data.amazon_configs() if args.all_amazon
             else DEFAULT_AMAZON_CONFIGS)
  data_dir = os.path.abspath(args.data_dir)
  summary = write_demo_data(data_dir, seed=args.seed, amazon_configs=configs)
  for name, counts in summary.items():
    print("%-40s %s" % (name, ", ".join("%s=%d" % kv for kv in counts.items())))
  print("\nWrote %d datasets to %s" % (len(summary), data_dir))
  print("Read them with tfds.load(NAME, data_dir=%r), or train with:\n"
        "  t5_mesh_transformer --t5_tfds_data_dir=%s "
        "--module_import=wt5.mixtures ..." % (data_dir, data_dir))
  if args.vocab:
    model = train_demo_vocabulary(data_dir,
                                  os.path.join(data_dir, VOCAB_PREFIX))
    print("Wrote the vocabulary %s; use it with:\n"
          "  export WT5_VOCAB_MODEL=%s" % (model, model))
  return 0
