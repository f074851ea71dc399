"""Registering WT5 tasks and mixtures on a user's own data.

`add_abstractive_task` (explanations written in words, like e-SNLI and CoS-E)
and `add_extractive_task` (evidence copied from the input, like movie
rationales) declare a `CustomTask`, a record of data like the `Family`
tables of `wt5.tasks`, and register what the 2020 code registers for its
datasets, named after the task:

    name                        all splits, labels and explanations, metrics
    name_labels                 labels only (prefix without "explain")
    name_explanations_take{N}   the first N training rows, with explanations
    name_labels_skip{N}         the other training rows, labels only
    name_eval                   validation (and test) splits, with metrics
    mixture name_{N}_explanations  take N + skip N + eval, rated as in 2020:
                                N, (training rows - N), training rows

Abstractive tasks score with `esnli_metric` (accuracy, BLEU) after the
`abstractive_explanations` postprocessor; `name_labels` is scored too, as
`esnli_v010_0_expln` is, and its skip tasks drop "explain" from the prefix as
e-SNLI's do. Extractive tasks use the `extractive_explanations` postprocessor
and metric (accuracy, span F1, partial match F1); `name_labels` is not
scored and the skip tasks keep the "explain" prefix, as the movie-rationale
tasks do. Registration reads nothing; `name_eval` exists when the data have
a validation or test split.
"""

import dataclasses
import functools
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import seqio

from wt5 import metrics
from wt5 import mixtures
from wt5 import postprocessors
from wt5 import tasks
from wt5.custom import preprocessor
from wt5.custom import source as source_lib
from wt5.custom.fields import Fields

EVAL_SPLITS = ("validation", "test")
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"

# Every CustomTask registered in this process, by name.
REGISTERED: Dict[str, "CustomTask"] = {}


@dataclasses.dataclass(frozen=True)
class CustomTask:
  """A WT5 task on a user's data, declared as data (see the module doc)."""
  name: str
  fields: Fields
  data: source_lib.DataFiles
  prefix: str
  take: Tuple[int, ...] = ()

  @property
  def extractive(self) -> bool:
    return self.fields.extractive

  @property
  def eval_splits(self) -> List[str]:
    return [s for s in EVAL_SPLITS if s in self.data.splits]

  @property
  def eval_task(self) -> Optional[str]:
    return self.name + "_eval" if self.eval_splits else None

  def source(self, split_map: tasks.Splits) -> seqio.DataSource:
    return source_lib.RowsSource(self.data, self.fields, split_map)

  def family(self) -> tasks.Family:
    """The task table: rows and take/skip sizes, as `wt5.tasks` declares."""
    explained = {"prefix": "explain " + self.prefix}
    labels = {"prefix": self.prefix, "drop_explanations": True}
    rows = [tasks.Row(self.name, kwargs=explained),
            tasks.Row(self.name + "_labels", kwargs=labels,
                      evaluated=not self.extractive)]
    if self.eval_task:
      rows.append(tasks.Row(self.eval_task, self.eval_splits, explained))
    if self.extractive:
      postprocessor = postprocessors.extractive_explanations
      metric_fns = [metrics.extractive_explanations_metric]
      skip = dict(explained, drop_explanations=True)
    else:
      postprocessor = postprocessors.abstractive_explanations
      metric_fns = [metrics.esnli_metric]
      skip = labels
    return tasks.Family(
        source=self.source,
        preprocessor=functools.partial(preprocessor.explanation_example,
                                       field_names=self.fields.inputs),
        postprocessor=postprocessor,
        metrics=metric_fns,
        rows=rows,
        take_sizes=self.take,
        take_name=self.name + "_explanations_take{n}",
        skip_name=self.name + "_labels_skip{n}",
        take_kwargs=explained,
        skip_kwargs=skip)

  def mixture_table(self) -> List[Tuple[str, List[Tuple[str, Any]]]]:
    """The "N explanations" mixtures, rates counted when first used."""
    family = self.family()
    return [("%s_%d_explanations" % (self.name, n),
             mixtures.explanation_mixture(family, n, self.eval_task,
                                          train_task=self.name))
            for n in self.take]


def _check_name(name: str, what: str = "name") -> str:
  if not isinstance(name, str) or not name or not all(
      c in _NAME_CHARS for c in name):
    raise ValueError("%s: expected lower-case letters, digits and '_', got "
                     "%r" % (what, name))
  return name


def _check_take(take: Sequence[int], splits: Sequence[str]) -> Tuple[int, ...]:
  if isinstance(take, int):
    take = (take,)
  take = tuple(take)
  if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
             for n in take) or len(set(take)) != len(take):
    raise ValueError("take: expected distinct positive numbers of rows, got "
                     "%r" % (take,))
  if take and "train" not in splits:
    raise ValueError("take: the data have no 'train' split to take rows "
                     "from (splits: %s)" % ", ".join(splits))
  return take


def unregister(name: str) -> List[str]:
  """Removes the tasks and mixtures of a custom task; returns their names.

  unregister("my_nli") -> ["my_nli", "my_nli_labels", ..., "my_nli_100_explanations"]
  """
  task = REGISTERED.pop(name, None)
  if task is None:
    return []
  names = [row.name for row in task.family().all_rows()]
  for task_name in names:
    seqio.TaskRegistry.remove(task_name)
  mixture_names = [mixture for mixture, _ in task.mixture_table()]
  for mixture in mixture_names:
    seqio.MixtureRegistry.remove(mixture)
  return names + mixture_names


def register(task: CustomTask,
             vocabulary: Optional[seqio.Vocabulary] = None) -> List[str]:
  """Registers a custom task's tasks and mixtures, replacing what an earlier
  registration under the same name added. Returns the names, tasks first.
  """
  unregister(task.name)
  names = tasks.register_family(task.family(), vocabulary)
  names += mixtures.register_table(task.mixture_table())
  REGISTERED[task.name] = task
  return names


def _add(name, data_files, tfds_name, tfds_splits, on_error, fields, prefix,
         take, vocabulary) -> List[str]:
  data = source_lib.data_files(data_files, tfds_name, tfds_splits, on_error)
  prefix = name if prefix is None else prefix
  if not isinstance(prefix, str) or not prefix:
    raise ValueError("prefix: expected a non-empty string, got %r" % (prefix,))
  task = CustomTask(_check_name(name), fields, data, prefix,
                    _check_take(take, data.splits))
  return register(task, vocabulary)


def _names(value: Union[str, Sequence[str]]) -> Union[str, Tuple[str, ...]]:
  return value if isinstance(value, str) else tuple(value)


def add_abstractive_task(
    name: str,
    data_files: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    input_fields: Sequence[str] = ("premise",),
    label_field: str = "label",
    explanation_field: Union[str, Sequence[str]] = "explanations",
    label_names: Optional[Sequence[str]] = None,
    prefix: Optional[str] = None,
    take: Sequence[int] = (),
    on_error: str = "raise",
    tfds_name: Optional[str] = None,
    tfds_splits: Optional[Mapping[str, str]] = None,
    vocabulary: Optional[seqio.Vocabulary] = None) -> List[str]:
  """Registers a task whose explanations are written in words (like e-SNLI).

  add_abstractive_task("my_nli", {"train": "train.jsonl", "validation": "dev.jsonl"},
                       input_fields=("hypothesis", "premise"), prefix="nli",
                       take=(100,))
    -> ["my_nli", "my_nli_labels", "my_nli_eval", "my_nli_explanations_take100",
        "my_nli_labels_skip100", "my_nli_100_explanations"]

  A row {"hypothesis": "H", "premise": "P", "label": "neutral",
  "explanations": ["E1", "E2"]} becomes inputs "explain nli hypothesis: H
  premise: P", targets "neutral explanation: E1 explanation: E2".
  `explanation_field` is one field (a string or a list of strings) or a list
  of fields (one string each); empty explanations are left out. A numeric
  label is an index into `label_names`. `data_files` maps split names to a
  file or a list of files (JSON Lines, CSV, TSV; `.gz`; globs); or give
  `tfds_name` and `tfds_splits` ({split: TFDS split}). `on_error="skip"`
  skips bad rows (counted and logged per file) instead of raising. The
  vocabulary defaults to `wt5.vocab.get_vocabulary()`.
  """
  fields = Fields(tuple(input_fields), label_field, _names(explanation_field),
                  tuple(label_names) if label_names is not None else None)
  return _add(name, data_files, tfds_name, tfds_splits, on_error, fields,
              prefix, take, vocabulary)


def add_extractive_task(
    name: str,
    data_files: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
    text_field: str = "text",
    label_field: str = "label",
    evidence_field: Union[str, Sequence[str]] = "evidences",
    label_names: Optional[Sequence[str]] = None,
    prefix: Optional[str] = None,
    take: Sequence[int] = (),
    on_error: str = "raise",
    tfds_name: Optional[str] = None,
    tfds_splits: Optional[Mapping[str, str]] = None,
    vocabulary: Optional[seqio.Vocabulary] = None) -> List[str]:
  """Registers a task whose explanations are spans of its text (like movies).

  add_extractive_task("my_reviews", {"train": "r.csv"}, text_field="review",
                      prefix="sentiment")
    -> ["my_reviews", "my_reviews_labels"]

  A row {"review": "dull plot, great cast", "label": "positive",
  "evidences": ["great cast"]} becomes inputs "explain sentiment review: dull
  plot, great cast", targets "positive explanation: great cast". Each
  evidence must occur in the text. Other arguments as `add_abstractive_task`.
  """
  if not isinstance(text_field, str):
    raise TypeError("text_field: expected one field name, got %r" %
                    (text_field,))
  fields = Fields((text_field,), label_field, _names(evidence_field),
                  tuple(label_names) if label_names is not None else None,
                  extractive=True)
  return _add(name, data_files, tfds_name, tfds_splits, on_error, fields,
              prefix, take, vocabulary)
