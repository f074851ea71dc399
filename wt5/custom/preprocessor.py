"""The graph-mode preprocessor of custom WT5 tasks: records to inputs/targets.

A record (see `wt5.custom.fields`) holds the input texts, the label name and
the explanations. The strings are the 2020 formats: the inputs are the
prefix followed by `" <field>: <text>"` for each input field, the targets the
label joined with its explanations by `" explanation: "`:

    {"fields": ["The road is white.", "Snow covers the road."],
     "label": "entailment", "explanations": ["Snow is white."]}
    with field_names=("hypothesis", "premise"), prefix="explain nli" ->
      inputs  "explain nli hypothesis: The road is white. premise: Snow covers the road."
      targets "entailment explanation: Snow is white."

which is what `wt5.preprocessors.esnli` gives for the same e-SNLI example
(and `extractive_explanations` for a movie review with one "review" field).
"""

from typing import Sequence

import seqio
import tensorflow.compat.v2 as tf

from wt5 import preprocessors


@seqio.map_over_dataset
def _example(x, field_names, prefix, drop_explanations):
  parts = [prefix]
  for index, name in enumerate(field_names):
    parts += [" %s: " % name, x["fields"][index]]
  if drop_explanations:
    targets = x["label"]
  else:
    targets = preprocessors.join_explanations(x["label"], x["explanations"])
  return {"inputs": tf.strings.join(parts), "targets": targets}


def explanation_example(dataset: tf.data.Dataset,
                        field_names: Sequence[str],
                        prefix: str,
                        drop_explanations: bool = False) -> tf.data.Dataset:
  """Preprocesses records into WT5 inputs and targets (see the module doc).

  With `drop_explanations` the targets are the label alone.
  """
  return _example(dataset, field_names=tuple(field_names), prefix=prefix,
                  drop_explanations=drop_explanations)
