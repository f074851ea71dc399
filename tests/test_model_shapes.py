"""One table of Transformer shapes: a name means the same shape on both routes."""

import dataclasses
import subprocess
import sys

import no_tensorflow
from wt5 import cli
from wt5 import model_shapes
from wt5.demo import demo_command as demo
from wt5.demo import pipeline as demo_pipeline
from wt5.mtf import binary as mtf_binary
from wt5.pytorch import model as model_lib


def test_each_name_is_one_shape_for_mesh_tensorflow_and_pytorch():
  for name, shape in model_shapes.SHAPES.items():
    config = model_lib.preset_config(name, 1000)
    fields = dataclasses.asdict(shape)
    assert {k: getattr(config, k) for k in fields} == fields, name
    assert config.num_decoder_layers == shape.num_layers, name
    assert shape.gin_params() == [
        "d_model = %d" % shape.d_model, "d_ff = %d" % shape.d_ff,
        "d_kv = %d" % shape.d_kv, "num_heads = %d" % shape.num_heads,
        "num_layers = %d" % shape.num_layers]


def test_t5_sizes_and_cpu_sizes():
  assert model_shapes.SHAPES["small"] == model_shapes.ModelShape(
      512, 2048, 64, 8, 6)  # t5-small
  assert model_shapes.SHAPES["tiny"] == model_shapes.ModelShape(
      64, 256, 16, 4, 2)
  assert mtf_binary.RunSettings("d").model == model_shapes.SHAPES["cpu_small"]
  args = cli.build_parser("demo").parse_args(
      ["demo", "--model_size", "cpu_base"])
  assert demo.options_from_args(args).model == model_shapes.ModelShape(
      256, 1024, 64, 4, 3)
  assert demo_pipeline.DemoOptions().model == model_shapes.SHAPES["cpu_small"]
  assert set(model_shapes.CPU_SHAPES) <= set(model_shapes.SHAPES)


def test_the_table_imports_without_tensorflow():
  code = no_tensorflow.PRELUDE + (
      "import wt5.model_shapes, wt5.pytorch.model\n"
      "print(wt5.pytorch.model.PRESETS['tiny'])\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout == ("ModelShape(d_model=64, d_ff=256, d_kv=16, "
                           "num_heads=4, num_layers=2)\n")
