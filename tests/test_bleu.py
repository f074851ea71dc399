"""`wt5.bleu` gives t5's BLEU without importing t5, and the metrics use it."""

import random
import subprocess
import sys

from t5.evaluation import metrics as t5_metrics

import no_tensorflow
from wt5 import bleu

WORDS = ("a", "man", "is", "tall", "Snow", "white", ".", ",", "dog's", "runs",
         "ﬁsh", "café", "2,000", "isn't", "(yes)", "über", "—", "!", "x-ray")


def sentence(rng):
  return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12)))


def test_corpus_bleu_equals_t5s_bleu():
  rng = random.Random(0)
  for case in range(300):
    n = rng.randint(1, 8)
    predictions = [sentence(rng) for _ in range(n)]
    if case % 3 == 0:  # One stream of references, as a flat list.
      references = [sentence(rng) for _ in range(n)]
    else:
      references = [[sentence(rng) for _ in range(n)]
                    for _ in range(rng.randint(1, 3))]
    if case % 10 == 0:  # Predictions equal to the first references.
      predictions = list(references[0] if case % 3 else references)
    expected = t5_metrics.bleu(references, predictions)["bleu"]
    assert abs(bleu.corpus_bleu(references, predictions) - expected) <= 1e-9, (
        references, predictions)


def test_corpus_bleu_by_hand():
  assert bleu.corpus_bleu([["Snow is white ."]], ["Snow is white ."]) == (
      t5_metrics.bleu([["Snow is white ."]], ["Snow is white ."])["bleu"])
  assert bleu.corpus_bleu(["a b c d"], ["x y z w"]) == 0.0


def test_esnli_metric_without_tensorflow():
  code = no_tensorflow.PRELUDE + (
      "from wt5 import metrics\n"
      "print(metrics.esnli_metric(\n"
      "    [{'label': 'a', 'explanations': ['Snow is white .', 'It snows .']},\n"
      "     {'label': 'b', 'explanations': ['x y z w']}],\n"
      "    [{'label': 'a', 'explanations': ['Snow is white .']},\n"
      "     {'label': 'a', 'explanations': ['x y z']}]))\n"
      "assert not [m for m in %r if sys.modules.get(m) is not None]\n"
      % (no_tensorflow.BLOCKED,))
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  references = [["Snow is white .", "x y z w"], ["It snows .", ""]]
  expected_bleu = t5_metrics.bleu(references,
                                  ["Snow is white .", "x y z"])["bleu"]
  assert result.stdout == "%r\n" % {"accuracy": 50.0, "bleu": expected_bleu,
                                    "expln1_length": 15}
