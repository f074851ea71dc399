"""The SentencePiece vocabulary of the WT5 tasks.

By default every WT5 task uses the T5 default vocabulary,
`gs://t5-data/vocabs/cc_all.32000/sentencepiece.model` with 100 extra ids,
exactly as `t5.data.get_default_vocabulary()`.

To use another SentencePiece model (for example offline, or the demo's small
vocabulary), point the environment variable `WT5_VOCAB_MODEL` at its `.model`
file before `wt5.tasks` is imported:

    WT5_VOCAB_MODEL=/data/spm/my.model t5_mesh_transformer \\
        --module_import=wt5.mixtures ...

(An environment variable rather than a gin parameter, because
`t5_mesh_transformer` imports `--module_import` modules before it parses any
gin file.) `WT5_VOCAB_EXTRA_IDS` sets the number of sentinel ids added to that
model (default 0 for a custom model, 100 for the T5 default).

Nothing is read when the vocabulary is created; the model file is read the
first time it is used, and a file that cannot be read raises
`VocabularyError` naming the path and the setting.
"""

import os
from typing import Mapping, Optional

import seqio

from wt5.vocab_setting import (DEFAULT_EXTRA_IDS, DEFAULT_VOCAB_PATH,
                               EXTRA_IDS_ENV, VOCAB_ENV, custom_vocab_model)


class VocabularyError(RuntimeError):
  """A SentencePiece model file that could not be read or parsed."""


class WT5Vocabulary(seqio.SentencePieceVocabulary):
  """A `seqio.SentencePieceVocabulary` whose load errors say what to fix.

  Equal (and interchangeable) to a `seqio.SentencePieceVocabulary` of the same
  file and extra ids.
  """

  def __init__(self, sentencepiece_model_file: str, extra_ids: int = 0):
    super().__init__(sentencepiece_model_file, extra_ids=extra_ids)
    self._setting = _setting_for(sentencepiece_model_file)

  def __getstate__(self):
    state = super().__getstate__()
    state.pop("_setting", None)
    return state

  def __setstate__(self, state):
    super().__setstate__(state)
    self._setting = _setting_for(self.sentencepiece_model_file)

  def _model_context(self):
    try:
      return super()._model_context()
    except Exception as e:  # TF's GCS layer, protobuf and sentencepiece raise many types.
      raise VocabularyError(
          "Cannot read the SentencePiece vocabulary %r (set by %s): %s: %s. "
          "Set %s to a readable SentencePiece .model file (for example one "
          "written by `wt5 data --vocab`)." %
          (self.sentencepiece_model_file, self._setting, type(e).__name__,
           str(e).strip().splitlines()[0] if str(e).strip() else "",
           VOCAB_ENV)) from None

  def __repr__(self) -> str:
    return "WT5Vocabulary(%r, extra_ids=%d)" % (self.sentencepiece_model_file,
                                               self.extra_ids)

  __str__ = __repr__


def get_vocabulary(environ: Optional[Mapping[str, str]] = None
                  ) -> WT5Vocabulary:
  """Returns the vocabulary chosen by `WT5_VOCAB_MODEL` (else T5's default).

  get_vocabulary({}) -> WT5Vocabulary('gs://t5-data/vocabs/cc_all.32000/sentencepiece.model', extra_ids=100)
  get_vocabulary({"WT5_VOCAB_MODEL": "/v/demo.model"}) -> WT5Vocabulary('/v/demo.model', extra_ids=0)
  """
  environ = os.environ if environ is None else environ
  path = custom_vocab_model(environ)
  if not path:
    extra_ids = _extra_ids(environ, DEFAULT_EXTRA_IDS)
    return WT5Vocabulary(DEFAULT_VOCAB_PATH, extra_ids=extra_ids)
  return WT5Vocabulary(os.path.expanduser(path),
                       extra_ids=_extra_ids(environ, 0))


def _setting_for(path: str) -> str:
  """Names the setting a vocabulary path comes from, for error messages."""
  if path == DEFAULT_VOCAB_PATH:
    return "the default T5 vocabulary; %s is not set" % VOCAB_ENV
  return "the environment variable %s" % VOCAB_ENV


def _extra_ids(environ: Mapping[str, str], default: int) -> int:
  """Reads `WT5_VOCAB_EXTRA_IDS`: _extra_ids({"WT5_VOCAB_EXTRA_IDS": "8"}, 0) -> 8."""
  value = environ.get(EXTRA_IDS_ENV, "").strip()
  if not value:
    return default
  try:
    extra_ids = int(value)
  except ValueError:
    extra_ids = -1
  if extra_ids < 0:
    raise VocabularyError("%s must be a non-negative integer, got %r." %
                          (EXTRA_IDS_ENV, value))
  return extra_ids


def output_features(vocabulary: seqio.Vocabulary
                    ) -> Mapping[str, seqio.Feature]:
  """The standard T5 output features (EOS appended to both) for `vocabulary`."""
  return {
      "inputs": seqio.Feature(vocabulary=vocabulary, add_eos=True,
                              required=False),
      "targets": seqio.Feature(vocabulary=vocabulary, add_eos=True),
  }
