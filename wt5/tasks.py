"""Registers every WT5 task in the seqio registry (shared with `t5.data`).

The catalogue is declared as data: one `Family` per dataset family (its TFDS
source, preprocessor, postprocessor, metrics, the tasks with their splits and
preprocessor options, and the "take N" sizes). `register_tasks()` turns the
tables into seqio Tasks with the standard T5 pipeline: the preprocessor,
tokenization that keeps the `*_pretokenized` strings, a cache point, and EOS
appended after trimming.

Importing this module registers the tasks; importing it again (or calling
`register_tasks()` again) re-registers them without error. Nothing is read at
import: data and the vocabulary are only read when a task is used.
"""

import dataclasses
import functools
import os
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

import gin
import seqio
import t5.data
from t5.data import glue_utils
import t5.evaluation.metrics
import tensorflow_datasets as tfds

from wt5 import caching
from wt5 import metrics
from wt5 import postprocessors
from wt5 import preprocessors
from wt5 import tfds_data
from wt5 import vocab
from wt5.tfds_data import amazon_configs

Splits = Union[None, Sequence[str], Mapping[str, str]]

NLI_LABELS = list(preprocessors.NLI_LABELS)
SENTIMENT_LABELS = list(preprocessors.SENTIMENT_LABELS)


@dataclasses.dataclass(frozen=True)
class Row:
  """One task of a family: its name, split mapping and preprocessor options.

  `evaluated=False` registers the task without metrics (training only).
  `source` overrides the family's TFDS source.
  """
  name: str
  splits: Splits = None
  kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  evaluated: bool = True
  source: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Family:
  """A dataset family: the shared definition of its tasks.

  `source` is a TFDS name, or a function from a row's split mapping to a
  `seqio.DataSource` (data that are not in TFDS). For every n in `take_sizes` two training tasks are added: `take_name`
  (explanations for the first n training examples, preprocessor options
  `take_kwargs`) and `skip_name` (the rest, with `skip_kwargs`, normally
  labels only), both without metrics. `num_train_examples` and
  `num_validation_examples` are the full dataset's sizes, used as mixing rates.
  """
  source: Union[str, Callable[[Splits], seqio.DataSource]]
  preprocessor: Callable[..., Any]
  postprocessor: Callable[..., Any]
  metrics: Sequence[Callable[..., Any]]
  rows: Sequence[Row]
  take_sizes: Sequence[int] = ()
  take_name: str = ""
  skip_name: str = ""
  take_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  skip_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  num_train_examples: Optional[int] = None
  num_validation_examples: Optional[int] = None

  def take_task(self, n: int) -> str:
    return self.take_name.format(n=n)

  def skip_task(self, n: int) -> str:
    return self.skip_name.format(n=n)

  def all_rows(self) -> List[Row]:
    """The family's rows followed by its take/skip pairs."""
    rows = list(self.rows)
    for n in self.take_sizes:
      rows.append(Row(self.take_task(n), {"train": "train[0:%d]" % n},
                      self.take_kwargs, evaluated=False))
      rows.append(Row(self.skip_task(n), {"train": "train[%d:]" % n},
                      self.skip_kwargs, evaluated=False))
    return rows


LABELS_ONLY = {"drop_explanations": True}

COS_E = Family(
    source="cos_e:0.0.1",
    preprocessor=preprocessors.cos_e,
    postprocessor=postprocessors.abstractive_explanations,
    metrics=[metrics.esnli_metric],
    rows=[
        Row("cos_e_v001"),
        Row("cos_e_v001_0_expln_like_esnli",
            kwargs={"prefix": "nli", "question_prefix": "premise:",
                    **LABELS_ONLY}),
        Row("cos_e_eval_v001", ["validation"]),
        Row("cos_e_eval_v001_like_esnli", ["validation"],
            {"prefix": "explain nli", "question_prefix": "premise:"}),
    ],
    take_sizes=(5000, 2000, 1000, 500, 200, 100),
    take_name="cos_e_explanations_take{n}_v001",
    skip_name="cos_e_labels_skip{n}_v001",
    skip_kwargs={"prefix": "cos_e", **LABELS_ONLY},
    num_train_examples=9741,
    num_validation_examples=1221,
)

ESNLI = Family(
    source="esnli:0.1.0",
    preprocessor=preprocessors.esnli,
    postprocessor=postprocessors.abstractive_explanations,
    metrics=[metrics.esnli_metric],
    rows=[
        Row("esnli_v010_with_choices", kwargs={"add_choices": True}),
        Row("esnli_v010_0_expln_with_choices",
            kwargs={"prefix": "nli", **LABELS_ONLY, "add_choices": True}),
        Row("esnli_v010"),
        Row("esnli_v010_0_expln", kwargs={"prefix": "nli", **LABELS_ONLY}),
        Row("esnli_eval_v010", ["validation", "test"]),
    ],
    take_sizes=(50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100),
    take_name="esnli_explanations_take{n}_v010",
    skip_name="esnli_labels_skip{n}_v010",
    skip_kwargs={"prefix": "nli", **LABELS_ONLY},
    num_train_examples=549367,
)


def _glue_mnli_config():
  return tfds.text.glue.Glue.builder_configs["mnli"]


MNLI = Family(
    source="glue/mnli:1.0.0",
    preprocessor=t5.data.preprocessors.glue,
    postprocessor=glue_utils.get_glue_postprocess_fn(_glue_mnli_config()),
    metrics=glue_utils.get_glue_metric("mnli"),
    rows=[Row("mnli_v002", kwargs={"benchmark_name": "nli",
                                   "label_names": NLI_LABELS})],
    num_train_examples=392702,
)

MNLI_EXPLAIN = Family(
    source="glue/mnli_matched:1.0.0",
    preprocessor=t5.data.preprocessors.glue,
    postprocessor=postprocessors.abstractive_explanations,
    metrics=[metrics.esnli_metric],
    rows=[
        Row("mnli_explain_eval_%s_v002" % matched,
            source="glue/mnli_%s:1.0.0" % matched,
            kwargs={"benchmark_name": "explain nli", "label_names": NLI_LABELS})
        for matched in ("matched", "mismatched")
    ],
    # The 2020 mixtures give both validation sets the matched set's size.
    num_validation_examples=9815,
)

MOVIE_RATIONALES = Family(
    source="movie_rationales:0.1.0",
    preprocessor=preprocessors.extractive_explanations,
    postprocessor=postprocessors.extractive_explanations,
    metrics=[metrics.extractive_explanations_metric],
    rows=[
        Row("movie_rationales_v010"),
        Row("movie_rationales_v010_no_expl",
            kwargs={**LABELS_ONLY, "prefix": "sentiment"}, evaluated=False),
        Row("movie_rationales_eval_v010", ["validation", "test"]),
    ],
    take_sizes=(1000, 500, 200, 100),
    take_name="movie_rationales_explanations_take{n}_v010",
    skip_name="movie_rationales_labels_skip{n}_v010",
    skip_kwargs=LABELS_ONLY,
    num_train_examples=1600,
)

_SENTIMENT_LABEL_ID = functools.partial(
    t5.data.postprocessors.string_label_to_class_id,
    label_classes=SENTIMENT_LABELS)

IMDB = Family(
    source="imdb_reviews:1.0.0",
    preprocessor=preprocessors.imdb_reviews,
    postprocessor=_SENTIMENT_LABEL_ID,
    metrics=[t5.evaluation.metrics.accuracy],
    rows=[Row("imdb_reviews_v100", ["train", "test"])],
)

IMDB_EXPLAIN = Family(
    source="imdb_reviews:1.0.0",
    preprocessor=preprocessors.imdb_reviews,
    postprocessor=postprocessors.extractive_explanations,
    metrics=[metrics.extractive_explanations_metric],
    rows=[Row("imdb_reviews_eval_v100", ["test"],
              {"prefix": "explain sentiment"})],
)

ERASER_MULTI_RC = Family(
    source="eraser_multi_rc:0.1.1",
    preprocessor=preprocessors.eraser_multi_rc,
    postprocessor=postprocessors.extractive_explanations,
    metrics=[metrics.extractive_explanations_metric],
    rows=[Row("eraser_multi_rc_v011"),
          Row("eraser_multi_rc_eval_v011", ["validation", "test"])],
    take_sizes=(10000, 5000, 2000, 1000, 500, 200, 100),
    take_name="eraser_multi_rc_explanations_take{n}_v011",
    skip_name="eraser_multi_rc_labels_skip{n}_v011",
    skip_kwargs=LABELS_ONLY,
    num_train_examples=24029,
)


def amazon_task(config: str, evaluation: bool = False) -> str:
  """Task name of an Amazon configuration.

  amazon_task("Books_v1_00") -> "amazon_reviews_books_v1_00_v010"
  amazon_task("Books_v1_00", evaluation=True) -> "amazon_reviews_books_v1_00_eval_v010"
  """
  return "amazon_reviews_%s%s_v010" % (config.lower(),
                                       "_eval" if evaluation else "")


def _amazon_rows(evaluation: bool) -> List[Row]:
  if evaluation:
    splits, kwargs = {"validation": "train[:10%]"}, {"prefix": "explain sentiment"}
  else:
    splits, kwargs = {"train": "train[10%:]", "validation": "train[:10%]"}, {}
  return [Row(amazon_task(c, evaluation), splits, kwargs,
              source="%s/%s:%s" % (tfds_data.AMAZON, c,
                                   tfds_data.AMAZON_VERSION))
          for c in amazon_configs()]


AMAZON = Family(
    source=tfds_data.AMAZON,
    preprocessor=preprocessors.amazon_reviews,
    postprocessor=_SENTIMENT_LABEL_ID,
    metrics=[t5.evaluation.metrics.accuracy],
    rows=_amazon_rows(evaluation=False),
)

AMAZON_EXPLAIN = Family(
    source=tfds_data.AMAZON,
    preprocessor=preprocessors.amazon_reviews,
    postprocessor=postprocessors.extractive_explanations,
    metrics=[metrics.extractive_explanations_metric],
    rows=_amazon_rows(evaluation=True),
)

FAMILIES = (COS_E, ESNLI, MNLI, MNLI_EXPLAIN, MOVIE_RATIONALES, IMDB,
            IMDB_EXPLAIN, AMAZON, AMAZON_EXPLAIN, ERASER_MULTI_RC)


def _task_pipeline(preprocessor: Callable[..., Any],
                   kwargs: Mapping[str, Any]) -> List[Any]:
  """The standard T5 pipeline around a WT5 text preprocessor."""
  return [
      functools.partial(preprocessor, **kwargs),
      seqio.preprocessors.tokenize,
      seqio.CacheDatasetPlaceholder(),
      seqio.preprocessors.append_eos_after_trim,
  ]


def _task_source(family: Family, row: Row) -> seqio.DataSource:
  """The data source of one row: its TFDS dataset, or the family's function."""
  source = row.source or family.source
  if callable(source):
    return source(row.splits)
  return seqio.TfdsDataSource(tfds_name=source, splits=row.splits)


def register_family(family: Family,
                    vocabulary: Optional[seqio.Vocabulary] = None
                   ) -> List[str]:
  """Registers (or re-registers) the tasks of one family; returns their names.

  `vocabulary` defaults to `wt5.vocab.get_vocabulary()` (T5's default unless
  `WT5_VOCAB_MODEL` is set).
  """
  features = vocab.output_features(vocabulary or vocab.get_vocabulary())
  names = []
  for row in family.all_rows():
    seqio.TaskRegistry.remove(row.name)
    seqio.TaskRegistry.add(
        row.name,
        task_cls=caching.CacheAwareTask,
        source=_task_source(family, row),
        preprocessors=_task_pipeline(family.preprocessor, row.kwargs),
        postprocess_fn=family.postprocessor,
        metric_fns=list(family.metrics) if row.evaluated else [],
        output_features=features)
    names.append(row.name)
  return names


def register_tasks(vocabulary: Optional[seqio.Vocabulary] = None
                  ) -> List[str]:
  """Registers (or re-registers) every WT5 task; returns their names.

  `vocabulary` defaults to `wt5.vocab.get_vocabulary()` (T5's default unless
  `WT5_VOCAB_MODEL` is set).
  """
  vocabulary = vocabulary or vocab.get_vocabulary()
  names = []
  for family in FAMILIES:
    names += register_family(family, vocabulary)
  return names


def register_gin_search_path() -> str:
  """Lets `--gin_file=wt5/gin/...` resolve wherever wt5 is installed.

  Adds the directory that contains the `wt5` package to gin's search path
  and returns it (no file is read).
  """
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  gin.add_config_file_search_path(root)
  return root


TASK_NAMES = register_tasks()
register_gin_search_path()
