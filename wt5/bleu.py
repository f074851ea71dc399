"""BLEU as T5 computes it, without importing t5 or TensorFlow.

`t5.evaluation.metrics.bleu` is `sacrebleu.corpus_bleu` with fixed settings
("intl" tokenizer, exponential smoothing, case-sensitive, no effective
order); `corpus_bleu` calls sacrebleu with the same settings and returns the
same number, so the WT5 metrics compute where only Python and sacrebleu are
installed (the PyTorch route). `sentence_bleu` is the per-example score with
those settings.

    corpus_bleu([["Snow is white."]], ["Snow is white."]) -> 100.00000000000004
"""

from typing import Sequence, Union

TOKENIZER = "intl"
SMOOTH_METHOD = "exp"


def corpus_bleu(references: Union[Sequence[str], Sequence[Sequence[str]]],
                predictions: Sequence[str]) -> float:
  """`t5.evaluation.metrics.bleu(references, predictions)["bleu"]`.

  `references` is one stream of strings, or a list of streams (one string
  per prediction in each); sacrebleu pairs them with the predictions in
  order and stops at the shortest. Not clamped: a perfect match can give
  100.00000000000004, as in t5.
  corpus_bleu(["a b c d"], ["a b c d"]) -> 100.00000000000004
  """
  import sacrebleu
  if isinstance(references[0], list):
    streams = [list(stream) for stream in references]
  else:
    streams = [references]
  return sacrebleu.corpus_bleu(
      predictions, streams, smooth_method=SMOOTH_METHOD, smooth_value=0.0,
      force=False, lowercase=False, tokenize=TOKENIZER,
      use_effective_order=False).score


def sentence_bleu(prediction: str, references: Sequence[str]) -> float:
  """sacrebleu's sentence BLEU with the settings of `corpus_bleu`, in 0..100.

  sentence_bleu("Snow is white.", ["Snow is white."]) -> 100.0.
  """
  import sacrebleu
  score = sacrebleu.sentence_bleu(prediction, list(references),
                                  smooth_method=SMOOTH_METHOD,
                                  tokenize=TOKENIZER).score
  return min(100.0, max(0.0, float(score)))
