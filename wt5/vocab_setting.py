"""Which SentencePiece model the WT5 tasks use: the environment variables.

`wt5.vocab` builds the vocabulary from these settings; `wt5 demo` sets them
for the binary it runs and `wt5 doctor` reports them without importing the
T5 stack. Pure Python: importing it imports nothing else.

    vocab_model_path({"WT5_VOCAB_MODEL": " /v/demo.model "}) -> "/v/demo.model"
    vocab_model_path({}) -> "gs://t5-data/vocabs/cc_all.32000/sentencepiece.model"
"""

from typing import Mapping

VOCAB_ENV = "WT5_VOCAB_MODEL"
EXTRA_IDS_ENV = "WT5_VOCAB_EXTRA_IDS"
DEFAULT_VOCAB_PATH = "gs://t5-data/vocabs/cc_all.32000/sentencepiece.model"
DEFAULT_EXTRA_IDS = 100


def custom_vocab_model(environ: Mapping[str, str]) -> str:
  """The model file `WT5_VOCAB_MODEL` names, "" when it is unset or blank.

  custom_vocab_model({"WT5_VOCAB_MODEL": "/v.model"}) -> "/v.model"
  """
  return environ.get(VOCAB_ENV, "").strip()


def vocab_model_path(environ: Mapping[str, str]) -> str:
  """The model file the tasks read: `WT5_VOCAB_MODEL`, else T5's default."""
  return custom_vocab_model(environ) or DEFAULT_VOCAB_PATH
