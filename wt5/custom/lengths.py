"""Sequence lengths for a custom task, measured on its data.

    report = sequence_lengths("my_nli", output="my_nli.gin")
    print(report.summary())

tokenizes the inputs and targets of the task's training rows (with
explanations: the longest targets of its tasks) with the task's vocabulary,
takes a percentile (default the 99th) of the token lengths, EOS included,
rounds it up to a multiple of `round_to` (default 8), counts the examples
that would be trimmed at those lengths, and writes a gin file like
`wt5/gin/sequence_lengths/*.gin`:

    # Sequence lengths for the my_nli tasks and mixtures.
    # ...the 99th percentile of the token lengths (EOS included)...
    utils.run.sequence_length = {'inputs': 48, 'targets': 32}
"""

import dataclasses
import math
from typing import Any, Dict, Mapping, Optional

import numpy as np
import seqio
import tensorflow.compat.v2 as tf

from wt5.custom import registration
from wt5.custom import source as source_lib

FEATURES = ("inputs", "targets")


@dataclasses.dataclass(frozen=True)
class LengthReport:
  """What `sequence_lengths` measured; `gin_text()` is the gin file."""
  task: str
  split: str
  examples: int
  percentile: float
  round_to: int
  lengths: Mapping[str, int]
  longest: Mapping[str, int]
  trimmed: Mapping[str, int]
  trimmed_examples: int
  vocabulary: str

  def gin_text(self) -> str:
    """The gin file's text (comments say how the lengths were chosen)."""
    return (
        "# Sequence lengths for the %s tasks and mixtures.\n"
        "# Measured on the %s split of %s (%d examples, vocabulary %s): the\n"
        "# %s percentile of the token lengths (EOS included), rounded up to a\n"
        "# multiple of %d. Trimmed at these lengths: %d of %d inputs, "
        "%d of %d\n"
        "# targets (%d examples). Longest: inputs %d, targets %d tokens.\n"
        "utils.run.sequence_length = {'inputs': %d, 'targets': %d}\n" % (
            self.task, self.split, self.task, self.examples, self.vocabulary,
            _ordinal(self.percentile), self.round_to, self.trimmed["inputs"],
            self.examples, self.trimmed["targets"], self.examples,
            self.trimmed_examples, self.longest["inputs"],
            self.longest["targets"], self.lengths["inputs"],
            self.lengths["targets"]))

  def summary(self) -> str:
    """A few lines for the terminal."""
    lines = ["%s, %s split: %d examples; %s percentile of token lengths "
             "(EOS included), rounded up to a multiple of %d" % (
                 self.task, self.split, self.examples,
                 _ordinal(self.percentile), self.round_to)]
    for feature in FEATURES:
      lines.append("  %-8s %5d tokens (longest %d); %d example(s) would be "
                   "trimmed" % (feature, self.lengths[feature],
                                self.longest[feature], self.trimmed[feature]))
    lines.append("  %d of %d examples would be trimmed in all" % (
        self.trimmed_examples, self.examples))
    return "\n".join(lines)


def _ordinal(value: float) -> str:
  """An ordinal: _ordinal(99.0) -> "99th"; _ordinal(92) -> "92nd".

  _ordinal(99.5) -> "99.5th"
  """
  if value != int(value):
    return "%gth" % value
  number = int(value)
  suffix = "th" if 10 <= number % 100 <= 20 else {
      1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
  return "%d%s" % (number, suffix)


def _round_up(value: int, multiple: int) -> int:
  """_round_up(41, 8) -> 48; _round_up(48, 8) -> 48."""
  return int(math.ceil(value / multiple) * multiple)


def _custom_task(name: str) -> registration.CustomTask:
  if name not in registration.REGISTERED:
    known = ", ".join(sorted(registration.REGISTERED)) or "none"
    raise ValueError("%r is not a custom task registered in this process "
                     "(registered: %s); import the module that calls "
                     "wt5.custom.add_*_task first" % (name, known))
  return registration.REGISTERED[name]


def token_lengths(name: str, split: str = "train",
                  data_files: Optional[Mapping[str, Any]] = None
                  ) -> Dict[str, np.ndarray]:
  """Token lengths (EOS included) of a custom task's examples, per feature."""
  custom = _custom_task(name)
  data = custom.data
  if data_files is not None:
    data = source_lib.data_files(data_files, on_error=data.on_error)
  if split not in data.splits:
    raise ValueError("%s: no %r split in the data (%s)" % (
        name, split, ", ".join(data.splits)))
  task = seqio.get_mixture_or_task(name)
  family = custom.family()
  dataset = source_lib.RowsSource(data, custom.fields, [split]).get_dataset(
      split, shuffle=False)
  dataset = family.preprocessor(dataset, prefix="explain " + custom.prefix)
  dataset = seqio.preprocessors.tokenize(dataset, task.output_features,
                                         copy_pretokenized=False)
  dataset = dataset.map(lambda x: {k: tf.size(x[k]) + 1 for k in FEATURES})
  lengths = {k: [] for k in FEATURES}
  for example in dataset.as_numpy_iterator():
    for feature in FEATURES:
      lengths[feature].append(int(example[feature]))
  return {k: np.array(v, dtype=np.int64) for k, v in lengths.items()}


def sequence_lengths(name: str,
                     data_files: Optional[Mapping[str, Any]] = None,
                     split: str = "train",
                     percentile: float = 99.0,
                     round_to: int = 8,
                     output: Optional[str] = None) -> LengthReport:
  """Measures a custom task's token lengths; writes the gin file to `output`.

  `data_files` (default: the task's own) maps splits to files as in
  `add_abstractive_task`. Returns the `LengthReport`.
  """
  if not 0 < percentile <= 100:
    raise ValueError("percentile: expected a number in (0, 100], got %r" %
                     (percentile,))
  if round_to < 1:
    raise ValueError("round_to: expected a positive integer, got %r" %
                     (round_to,))
  lengths = token_lengths(name, split, data_files)
  count = len(lengths["inputs"])
  if not count:
    raise ValueError("%s: the %r split has no examples" % (name, split))
  chosen = {k: _round_up(int(np.percentile(v, percentile, method="higher")),
                         round_to) for k, v in lengths.items()}
  over = {k: lengths[k] > chosen[k] for k in FEATURES}
  vocabulary = seqio.get_mixture_or_task(name).output_features[
      "targets"].vocabulary
  report = LengthReport(
      task=name, split=split, examples=count, percentile=percentile,
      round_to=round_to, lengths=chosen,
      longest={k: int(v.max()) for k, v in lengths.items()},
      trimmed={k: int(v.sum()) for k, v in over.items()},
      trimmed_examples=int((over["inputs"] | over["targets"]).sum()),
      vocabulary=getattr(vocabulary, "sentencepiece_model_file",
                         type(vocabulary).__name__))
  if output:
    with tf.io.gfile.GFile(output, "w") as f:
      f.write(report.gin_text())
  return report
