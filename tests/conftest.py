"""Fixtures shared by several test files.

`demo_run` runs `wt5 demo` once per test session at a tiny size (the real
t5_mesh_transformer binary trains and evaluates both demo mixtures); the
end-to-end tests check what it wrote and the report tests render its eval
directories.
"""

import io

import pytest

from wt5 import cli
from wt5.demo import command as demo

DEMO_MIXTURES = ("esnli_mnli_all_explanations",
                 "movie_rationales_1000_explanations")
DEMO_STEPS = 30


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
  results = demo.run_demo(options, out=out)
  return output_dir, {r.mixture: r for r in results}, out.getvalue()
