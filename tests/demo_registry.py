"""The demo registry for tests: demo TFDS data, a vocabulary, registration.

`registered(data_dir, vocab_model)` re-registers every WT5 task and mixture
on a SentencePiece model and points seqio at a TFDS data dir, and on exit
puts back what it found (the data dir override, the global cache dirs and
the default registration):

    with registered("/tmp/tfds", "/tmp/spm.model") as vocabulary:
      seqio.get_mixture_or_task("esnli_v010").get_dataset(...)

`make(root, sizes=..., sources=..., vocab_model=...)` writes the data under
root/tfds first (and trains a vocabulary there when none is given). The
fixtures `demo_registry` and `small_vocab` (tests/conftest.py) use these.
`split_sizes` spells out `sizes` with each source's real TFDS split names.
"""

import contextlib
import dataclasses
import pathlib
from typing import Dict, Iterator, Mapping, Optional, Sequence, Tuple

def split_sizes(counts: Mapping[str, Tuple[int, int, int]]
               ) -> Dict[str, Dict[str, int]]:
  """`sizes` for the demo data: (train, validation, test) examples a source.

  Each split of the source's TFDS dataset gets the count of its kind: train,
  validation (validation_matched, ...) or test (test_matched, ...,
  unsupervised); a kind the dataset lacks is ignored.

  split_sizes({"glue/mnli_matched": (0, 7, 2)})
  -> {"glue/mnli_matched": {"validation": 7, "test": 2}}
  """
  from wt5.datasets import demo_data
  known = {s.key: s for s in demo_data.SOURCES}
  amazon = [k.split("/", 1)[1] for k in counts
            if k.startswith("amazon_us_reviews/")]
  known.update({s.key: s for s in demo_data.amazon_sources(amazon)})
  sizes = {}
  for key, (train, validation, test) in counts.items():
    if key not in known:
      raise ValueError("split_sizes: unknown source %r" % key)
    sizes[key] = {
        split: (train if split.startswith("train") else validation
                if split.startswith("validation") else test)
        for split in known[key].sizes}
  return sizes


# The session's demo run (`demo_run`, tests/conftest.py): its mixtures and
# training steps (checkpoints at half and all of them). The binary's training
# is not seeded, so the T5 1.0 of esnli_mnli_all_explanations learns at a
# different pace each run: on e-SNLI and MNLI it was at 30 to 60% accuracy
# after 60 steps (chance is 33%), at 88 to 100% after 100 and at 93 to 98%
# after 120, so that its predictions mean something when
# tests/test_convert.py compares them across the stacks.
DEMO_MIXTURES = ("esnli_mnli_all_explanations",
                 "movie_rationales_1000_explanations")
DEMO_STEPS = 120

# The text the session's vocabulary is trained on: two sources are enough
# for 600 pieces (with WT5's prompt words); the byte fallback encodes any
# other text exactly.
SMALL_VOCAB_SOURCES = ["esnli", "movie_rationales"]
SMALL_VOCAB_SIZES = {"esnli": {"train": 400, "validation": 2, "test": 2},
                     "movie_rationales": {"train": 20, "validation": 2,
                                          "test": 2}}
SMALL_VOCAB_SIZE = 600


@dataclasses.dataclass(frozen=True)
class DemoRegistry:
  """Where a test's demo data and vocabulary are, and the vocabulary."""
  root: pathlib.Path
  data_dir: str
  vocab_model: str
  vocabulary: object  # wt5.vocab.WT5Vocabulary


@contextlib.contextmanager
def registered(data_dir: str, vocab_model: str) -> Iterator[object]:
  """Every WT5 task and mixture on `vocab_model`, reading `data_dir`."""
  import seqio
  from wt5 import mixtures
  from wt5 import tasks
  from wt5 import vocab

  old_data_dir = seqio.utils._TFDS_DATA_DIR_OVERRIDE
  old_cache_dirs = list(seqio.utils.get_global_cache_dirs())
  vocabulary = vocab.WT5Vocabulary(vocab_model)
  seqio.set_tfds_data_dir_override(data_dir)
  tasks.register_tasks(vocabulary)
  mixtures.register_mixtures()
  try:
    yield vocabulary
  finally:
    seqio.set_tfds_data_dir_override(old_data_dir)
    seqio.set_global_cache_dirs(old_cache_dirs)
    tasks.register_tasks()
    mixtures.register_mixtures()


def write_data(root: pathlib.Path,
               sizes: Optional[Mapping[str, Mapping[str, int]]] = None,
               sources: Optional[Sequence[str]] = None,
               amazon_configs: Optional[Sequence[str]] = None) -> str:
  """Writes demo data under root/tfds; returns that directory."""
  from wt5.datasets import demo_data as demo_data
  data_dir = str(root / "tfds")
  kwargs = {} if amazon_configs is None else {"amazon_configs": amazon_configs}
  demo_data.write_demo_data(data_dir, sizes=sizes, sources=sources, **kwargs)
  return data_dir


def train_vocab(data_dir: str, root: pathlib.Path,
                vocab_size: int = SMALL_VOCAB_SIZE) -> str:
  """A SentencePiece model trained on data_dir, under root/spm."""
  from wt5.datasets import demo_data as demo_data
  return demo_data.train_demo_vocabulary(data_dir, str(root / "spm"),
                                         vocab_size=vocab_size)


@contextlib.contextmanager
def make(root: pathlib.Path, *, vocab_model: Optional[str] = None,
         vocab_size: int = SMALL_VOCAB_SIZE,
         sizes: Optional[Mapping[str, Mapping[str, int]]] = None,
         sources: Optional[Sequence[str]] = None,
         amazon_configs: Optional[Sequence[str]] = None
        ) -> Iterator[DemoRegistry]:
  """Demo data under root/tfds, registered on `vocab_model` (or one trained on it)."""
  data_dir = write_data(root, sizes, sources, amazon_configs)
  vocab_model = vocab_model or train_vocab(data_dir, root, vocab_size)
  with registered(data_dir, vocab_model) as vocabulary:
    yield DemoRegistry(root, data_dir, vocab_model, vocabulary)
