"""Registers every WT5 mixture (and, through `wt5.tasks`, every task).

Use with the stock binary: `t5_mesh_transformer --module_import=wt5.mixtures`.

Mixtures are declared as tables; rates are one of
  * a number (the 2020 code's dataset sizes, or a constant),
  * `rate_num_input_examples`: the number of input examples of the task's
    `train` split (else its `validation` split), counted when the mixture is
    first used, never at import.
"""

import functools
from typing import Callable, List, Optional, Sequence, Tuple, Union

import seqio

from wt5 import tasks
from wt5.tasks import Family

Rate = Union[float, Callable[[seqio.Task], float]]

# The movie-rationale weight in the Amazon mixtures: `ratio * MOVIE_RATE_UNIT`.
MOVIE_RATE_UNIT = 125000000.0


def rate_num_input_examples(task: seqio.Task) -> float:
  """Mixing rate: input examples in the task's train split, else validation.

  A task with splits ["validation", "test"] -> its validation size.
  """
  split = "train" if "train" in task.splits else "validation"
  return float(task.num_input_examples(split))


def _num_train_examples_of(task_name: str, unused_task: seqio.Task) -> float:
  return float(seqio.get_mixture_or_task(task_name).num_input_examples("train"))


def rate_num_train_examples_of(task_name: str) -> Callable[[seqio.Task], float]:
  """Mixing rate: the training examples of another task, counted when used.

  rate_num_train_examples_of("esnli_v010")(any_task) -> 549367.0
  """
  return functools.partial(_num_train_examples_of, task_name)


def explanation_mixture(family: Family, n: int, eval_task: Optional[str],
                        train_task: Optional[str] = None
                        ) -> List[Tuple[str, Rate]]:
  """The "n explanations" mixture of a family.

  The first n training examples with explanations, the rest with labels
  only, and the eval task, weighted by their dataset sizes:
  explanation_mixture(tasks.COS_E, 100, "cos_e_eval_v001") ->
    [("cos_e_explanations_take100_v001", 100),
     ("cos_e_labels_skip100_v001", 9641), ("cos_e_eval_v001", 9741)]

  A family without `num_train_examples` has its sizes counted when the
  mixture is first used: the skip task's training examples, and for the
  eval task those of `train_task` (the family's task over all its training
  data). `eval_task=None` leaves the eval task out.
  """
  size = family.num_train_examples
  if size is None:
    rates = [(family.skip_task(n), rate_num_input_examples),
             (eval_task, rate_num_train_examples_of(train_task))]
  else:
    rates = [(family.skip_task(n), size - n), (eval_task, size)]
  return [(family.take_task(n), n)] + [(t, r) for t, r in rates if t]


# (mixture name pattern, family, eval task); one mixture per take size.
EXPLANATION_MIXTURES = (
    ("cos_e_{n}_explanations", tasks.COS_E, "cos_e_eval_v001"),
    ("esnli_{n}_explanations", tasks.ESNLI, "esnli_eval_v010"),
    ("movie_rationales_{n}_explanations", tasks.MOVIE_RATIONALES,
     "movie_rationales_eval_v010"),
    # The 2020 README's spelling of the movie mixtures.
    ("movie_rationales_take{n}_explanations", tasks.MOVIE_RATIONALES,
     "movie_rationales_eval_v010"),
    ("eraser_multi_rc_rationales_{n}_explanations", tasks.ERASER_MULTI_RC,
     "eraser_multi_rc_eval_v011"),
)

MNLI_TASKS = [
    ("mnli_v002", tasks.MNLI.num_train_examples),
    ("mnli_explain_eval_matched_v002",
     tasks.MNLI_EXPLAIN.num_validation_examples),
    ("mnli_explain_eval_mismatched_v002",
     tasks.MNLI_EXPLAIN.num_validation_examples),
]

ESNLI_SIZE = tasks.ESNLI.num_train_examples
COS_E_SIZE = tasks.COS_E.num_train_examples
COS_E_VALIDATION_SIZE = tasks.COS_E.num_validation_examples


def _amazon_tasks(evaluation: bool) -> List[str]:
  return [tasks.amazon_task(c, evaluation) for c in tasks.amazon_configs()]


# The Amazon + movie mixtures evaluate three Amazon categories, as in 2020.
AMAZON_EVAL_SAMPLE = ("Books_v1_00", "Electronics_v1_00", "Apparel_v1_00")
AMAZON_MOVIE_RATIOS = (10, 20, 30, 40)


def amazon_movies_mixture(ratio: int, transfer: bool
                          ) -> List[Tuple[str, Rate]]:
  """The Amazon reviews + movie rationales mixture at a movie ratio.

  Every Amazon training task and three Amazon eval tasks weighted by their
  size, plus movie rationales at `ratio * 125000000.0`; with `transfer` the
  movie weight is split evenly between explanations and labels only:
  amazon_movies_mixture(10, True)[-2:] ->
    [("movie_rationales_v010", 625000000.0),
     ("movie_rationales_v010_no_expl", 625000000.0)]
  """
  amazon = _amazon_tasks(False) + [tasks.amazon_task(c, True)
                                   for c in AMAZON_EVAL_SAMPLE]
  mixture = [(t, rate_num_input_examples) for t in amazon]
  if transfer:
    half = ratio / 2 * MOVIE_RATE_UNIT
    return mixture + [("movie_rationales_v010", half),
                      ("movie_rationales_v010_no_expl", half)]
  return mixture + [("movie_rationales_v010", ratio * MOVIE_RATE_UNIT)]


def _default_rated(names: Sequence[str]) -> List[Tuple[str, Rate]]:
  return [(t, rate_num_input_examples) for t in names]


def mixture_table() -> List[Tuple[str, List[Tuple[str, Rate]]]]:
  """Every WT5 mixture as (name, [(task, rate), ...])."""
  table = []
  for pattern, family, eval_task in EXPLANATION_MIXTURES:
    for n in family.take_sizes:
      table.append((pattern.format(n=n),
                    explanation_mixture(family, n, eval_task)))
      if family is tasks.ESNLI:
        table.append(("esnli_mnli_%d_explanations" % n,
                      explanation_mixture(family, n, eval_task) + MNLI_TASKS))
  table += [
      ("esnli_mnli_all_explanations", _default_rated(
          ["esnli_v010"] + [t for t, _ in MNLI_TASKS])),
      ("imdb_reviews_movie_rationales", _default_rated(
          ["imdb_reviews_v100", "movie_rationales_v010",
           "imdb_reviews_eval_v100"])),
      ("esnli_cos_e_transfer", [
          ("esnli_v010", ESNLI_SIZE), ("esnli_v010_0_expln", ESNLI_SIZE),
          ("cos_e_v001_0_expln_like_esnli", COS_E_SIZE),
          ("cos_e_eval_v001_like_esnli", COS_E_VALIDATION_SIZE)]),
      ("esnli_cos_e_transfer_choices", [
          ("esnli_v010_with_choices", ESNLI_SIZE),
          ("esnli_v010_0_expln_with_choices", ESNLI_SIZE),
          ("cos_e_v001_0_expln_like_esnli", COS_E_SIZE),
          ("cos_e_eval_v001_like_esnli", COS_E_VALIDATION_SIZE)]),
      ("amazon_reviews", _default_rated(_amazon_tasks(False))),
      ("amazon_reviews_movie_rationales", _default_rated(
          _amazon_tasks(False) + _amazon_tasks(True) +
          ["movie_rationales_v010"])),
      ("amazon_books_movies_equal", [
          (t, 1.0) for t in ("amazon_reviews_books_v1_00_v010",
                             "movie_rationales_v010",
                             "amazon_reviews_books_v1_00_eval_v010")]),
  ]
  for ratio in AMAZON_MOVIE_RATIOS:
    table.append(("amazon_reviews_movies_r%d" % ratio,
                  amazon_movies_mixture(ratio, transfer=False)))
    table.append(("amazon_reviews_movies_transfer_r%d" % ratio,
                  amazon_movies_mixture(ratio, transfer=True)))
  return table


def register_table(table: Sequence[Tuple[str, Sequence[Tuple[str, Rate]]]]
                   ) -> List[str]:
  """Registers (or re-registers) the mixtures of a table; returns their names."""
  names = []
  for name, rated_tasks in table:
    seqio.MixtureRegistry.remove(name)
    seqio.MixtureRegistry.add(name, rated_tasks,
                              default_rate=rate_num_input_examples)
    names.append(name)
  return names


def register_mixtures() -> List[str]:
  """Registers (or re-registers) every WT5 mixture; returns their names."""
  return register_table(mixture_table())


MIXTURE_NAMES = register_mixtures()
