"""Fixtures shared by several test files.

`demo_run` runs `wt5 demo` once per test session at a tiny size (the real
t5_mesh_transformer binary trains and evaluates both demo mixtures); the
end-to-end tests check what it wrote and the report tests render its eval
directories.

`demo_registry` is the factory of demo registries (demo TFDS data, a
vocabulary, every task and mixture registered on them, restored afterwards;
see tests/demo_registry.py); `small_vocab` is the session's small
SentencePiece model, which a registry uses unless a test asks for its own:

    @pytest.fixture(scope="module")
    def registry(demo_registry):
      with demo_registry("wt5_export", sources=["esnli"]) as reg:
        yield reg  # reg.data_dir, reg.vocab_model, reg.vocabulary, reg.root

The suite runs its test files in two processes beside the install smoke on a
shared CPU, so torch's OpenMP threads sleep as soon as they wait
(OMP_WAIT_POLICY=PASSIVE, read when torch loads; the `wt5` commands the
tests start inherit it).
"""

import io
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest

import demo_registry as demo_registry_lib

from wt5 import cli
from wt5.demo import demo_command as demo
from wt5.demo import pipeline as demo_pipeline

DEMO_MIXTURES = demo_registry_lib.DEMO_MIXTURES
DEMO_STEPS = demo_registry_lib.DEMO_STEPS


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
  """(output_dir, {mixture: demo result}, the demo's printed text)."""
  output_dir = str(tmp_path_factory.mktemp("wt5_demo"))
  out = io.StringIO()
  options = demo.options_from_args(cli.build_parser("demo").parse_args(
      ["demo", "--output_dir", output_dir, "--mixtures",
       ",".join(DEMO_MIXTURES), "--steps", str(DEMO_STEPS),
       "--model_size", "tiny", "--tokens_per_batch", "1024",
       "--checkpoints", "2", "--examples", "2"]))
  results = demo_pipeline.run_demo(options, out=out)
  return output_dir, {r.mixture: r for r in results}, out.getvalue()


@pytest.fixture(scope="session")
def small_vocab(tmp_path_factory):
  """A 600-piece SentencePiece model trained on small demo data."""
  root = tmp_path_factory.mktemp("small_vocab")
  data_dir = demo_registry_lib.write_data(
      root, sizes=demo_registry_lib.SMALL_VOCAB_SIZES,
      sources=demo_registry_lib.SMALL_VOCAB_SOURCES)
  return demo_registry_lib.train_vocab(data_dir, root)


@pytest.fixture(scope="session")
def demo_registry(tmp_path_factory, request):
  """`demo_registry(name, sizes=..., sources=..., vocab_size=N | own_vocab=False)`.

  A context manager: demo data under a new directory `name`, every task and
  mixture registered on the session's `small_vocab`, or on a vocabulary
  trained on this data when `own_vocab` (of `vocab_size` pieces); on exit the
  registration, data dir override and cache dirs are put back.
  """
  def make(name, *, own_vocab=False, **kwargs):
    vocab_model = (None if own_vocab else
                   request.getfixturevalue("small_vocab"))
    return demo_registry_lib.make(tmp_path_factory.mktemp(name),
                                  vocab_model=vocab_model, **kwargs)
  return make


# The files whose tests use the session's `demo_run`. `make test` runs the
# suite in two pytest-xdist workers, one file per worker at a time
# (`--dist loadfile`); these three files go to one worker together, so the
# demo trains once per run.
DEMO_RUN_FILES = ("tests/test_convert.py", "tests/test_end_to_end.py",
                  "tests/test_report_browser.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
  """`--dist loadfile`, with the `DEMO_RUN_FILES` as one unit of work."""
  if config.getvalue("dist") != "loadfile":
    return None
  from xdist.scheduler import LoadFileScheduling

  class LoadFileSharingTheDemo(LoadFileScheduling):

    def _split_scope(self, nodeid: str) -> str:
      path = super()._split_scope(nodeid)
      return "demo_run" if path in DEMO_RUN_FILES else path

  return LoadFileSharingTheDemo(config, log)


# The longest other files, longest first (from `pytest --durations`): run
# right after the demo's files, so that no worker is left with a long file at
# the end while the other waits.
LONG_FILES = ("tests/test_caching.py", "tests/test_custom.py",
              "tests/test_task_pipeline.py", "tests/test_pytorch_train.py",
              "tests/test_faithfulness.py", "tests/test_pytorch_fsdp.py",
              "tests/test_attention.py", "tests/test_doctor_venv.py",
              "tests/test_demo_data.py", "tests/test_pytorch_ddp.py",
              "tests/test_memory_plan.py")


def run_order(path: str) -> int:
  """Where a test file's tests run: run_order("tests/test_convert.py") -> 0,
  the `LONG_FILES` in their order next, every other file last."""
  if path in DEMO_RUN_FILES:
    return 0
  if path in LONG_FILES:
    return 1 + LONG_FILES.index(path)
  return 1 + len(LONG_FILES)


def pytest_collection_modifyitems(config, items):
  """Runs the `DEMO_RUN_FILES` first (under xdist they are the longest unit),
  then the `LONG_FILES`."""
  def path(item):
    return item.path.relative_to(config.rootpath).as_posix()

  for name in DEMO_RUN_FILES + LONG_FILES:
    if not (config.rootpath / name).is_file():
      raise pytest.UsageError("tests/conftest.py names %s, which does not "
                              "exist" % name)
  for item in items:
    if "demo_run" in item.fixturenames and path(item) not in DEMO_RUN_FILES:
      raise pytest.UsageError(
          f"{item.nodeid} uses demo_run: add {path(item)} to DEMO_RUN_FILES "
          "in tests/conftest.py, or the demo trains once more in another "
          "worker")
  items.sort(key=lambda item: run_order(path(item)))  # stable
