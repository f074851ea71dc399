"""Caching WT5 tasks with seqio's Apache Beam job, and reading the cache.

Every WT5 task has a `seqio.CacheDatasetPlaceholder` after tokenization, so
seqio's stock cache job preprocesses it once, on any Beam runner:

    WT5_VOCAB_MODEL=... seqio_cache_tasks --module_import=wt5.tasks \\
        --tasks=esnli_v010 --output_cache_dir=CACHE --tfds_data_dir=DATA \\
        --pipeline_options=--runner=DirectRunner,--direct_num_workers=2,...

and the stock binary then reads it with `--additional_task_cache_dirs=CACHE
--gin_param="mesh_train_dataset_fn.use_cached = True"`.

WT5 tasks are `CacheAwareTask`s: asked for cached data they do not have, they
raise `NotCachedError`, which names the task, the directories searched and the
command that caches it (seqio's own message names only the task).
"""

import os
import shlex
from typing import List, Mapping, Optional, Sequence

import seqio

from wt5.vocab import VOCAB_ENV

CACHE_BINARY = "seqio_cache_tasks"
DIRECT_RUNNER_OPTIONS = ("--runner=DirectRunner",
                         "--direct_running_mode=multi_processing",
                         "--direct_num_workers=2")


def cache_command(task_names: Sequence[str], output_cache_dir: str,
                  tfds_data_dir: Optional[str] = None,
                  pipeline_options: Sequence[str] = DIRECT_RUNNER_OPTIONS,
                  module: str = "wt5.tasks",
                  extra_flags: Sequence[str] = ()) -> List[str]:
  """The `seqio_cache_tasks` command that caches `task_names`.

  cache_command(["esnli_v010"], "/c", "/d") -> ["seqio_cache_tasks",
      "--module_import=wt5.tasks", "--tasks=esnli_v010",
      "--output_cache_dir=/c", "--tfds_data_dir=/d",
      "--pipeline_options=--runner=DirectRunner,--direct_running_mode=multi_processing,--direct_num_workers=2"]
  """
  if isinstance(task_names, str):
    raise TypeError("task_names: expected a sequence of names, got the "
                    "string %r" % task_names)
  command = [CACHE_BINARY, "--module_import=%s" % module,
             "--tasks=%s" % ",".join(task_names),
             "--output_cache_dir=%s" % output_cache_dir]
  if tfds_data_dir:
    command.append("--tfds_data_dir=%s" % tfds_data_dir)
  command += list(extra_flags)
  if pipeline_options:
    command.append("--pipeline_options=%s" % ",".join(pipeline_options))
  return command


def format_cache_command(command: Sequence[str],
                         environ: Optional[Mapping[str, str]] = None) -> str:
  """One shell line, with the vocabulary setting in front when there is one.

  format_cache_command(["seqio_cache_tasks", "--tasks=a"], {"WT5_VOCAB_MODEL": "/v.model"})
    -> "WT5_VOCAB_MODEL=/v.model seqio_cache_tasks --tasks=a"
  """
  environ = os.environ if environ is None else environ
  vocab_model = environ.get(VOCAB_ENV, "").strip()
  head = ["%s=%s" % (VOCAB_ENV, shlex.quote(vocab_model))] if vocab_model else []
  return " ".join(head + [shlex.quote(arg) for arg in command])


class NotCachedError(AssertionError):
  """A task read with `use_cached=True` that no cache directory holds.

  An AssertionError, as seqio's own check raises, so callers that catch that
  keep working.
  """


def not_cached_message(task_name: str, searched: Sequence[str],
                       tfds_data_dir: Optional[str] = None,
                       environ: Optional[Mapping[str, str]] = None) -> str:
  """What to tell a user who reads `task_name` from a cache that lacks it.

  not_cached_message("esnli_v010", ["/c"]) ->
    "Task 'esnli_v010' is not cached: no COMPLETED cache of it in /c (its
    cache directory would be /c/esnli_v010). Cache it first with
      seqio_cache_tasks --module_import=wt5.tasks --tasks=esnli_v010 ...
    or read it on the fly (use_cached = False)."
  """
  roots = list(searched)
  output_dir = roots[0] if roots else "CACHE_DIR"
  command = format_cache_command(
      cache_command([task_name], output_dir, tfds_data_dir), environ)
  where = ("no COMPLETED cache of it in %s (its cache directory would be %s)"
           % (", ".join(roots), os.path.join(
               output_dir, seqio.get_task_dir_from_name(task_name)))
           if roots else "no task cache directory is set")
  return ("Task %r is not cached: %s. Cache it first with\n  %s\nthen pass "
          "--additional_task_cache_dirs=%s (t5_mesh_transformer) or read it "
          "on the fly (use_cached = False)." % (task_name, where, command,
                                                output_dir))


class CacheAwareTask(seqio.Task):
  """A `seqio.Task` whose missing cache says how to make it."""

  def assert_cached(self) -> None:
    """Raises NotCachedError unless a cache directory holds this task."""
    if not self.cache_dir:
      # seqio sets the TFDS data directory override but has no getter.
      tfds_data_dir = getattr(seqio.utils, "_TFDS_DATA_DIR_OVERRIDE", None)
      raise NotCachedError(not_cached_message(
          self.name, seqio.utils.get_global_cache_dirs(), tfds_data_dir))
