"""`wt5 convert` on the layouts of T5-3B and T5-11B, at reduced width.

The 3B and 11B models differ from the smaller ones in their attention and
feed-forward layouts: 32 and 128 heads of d_kv 128 (an inner dimension of
4,096 and 16,384 beside d_model 1,024) and d_ff 16,384 and 65,536. Random
Mesh TF checkpoints of exactly those layouts, with d_model 8 and a small
vocabulary, must convert to Hugging Face models of those shapes that load,
and back to the same variables.
"""

import dataclasses

import numpy as np
import pytest

import test_convert
from wt5.mtf import convert

LAYOUTS = {"3B": dict(num_heads=32, d_kv=128, d_ff=16384),
           "11B": dict(num_heads=128, d_kv=128, d_ff=65536)}


@pytest.mark.slow
@pytest.mark.parametrize("size", sorted(LAYOUTS))
def test_3b_and_11b_layouts_convert_both_ways(tmp_path, size):
  import transformers
  shape = dataclasses.replace(test_convert.TINY, d_model=8, num_layers=1,
                              num_decoder_layers=1, **LAYOUTS[size])
  test_convert.write_fake_model(tmp_path / "m", shape)
  out, converted = convert.to_hf(str(tmp_path / "m"), str(tmp_path / "hf"))
  assert converted == shape
  config = transformers.T5Config.from_pretrained(out)
  assert (config.num_heads, config.d_kv, config.d_ff, config.d_model) == (
      LAYOUTS[size]["num_heads"], 128, LAYOUTS[size]["d_ff"], 8)
  model = transformers.T5ForConditionalGeneration.from_pretrained(out)
  attention = model.encoder.block[0].layer[0].SelfAttention
  assert tuple(attention.q.weight.shape) == (LAYOUTS[size]["num_heads"] * 128,
                                             8)
  assert tuple(model.encoder.block[0].layer[1].DenseReluDense.wi.weight.shape
               ) == (LAYOUTS[size]["d_ff"], 8)
  convert.to_mesh(str(tmp_path / "hf"), str(tmp_path / "back"))
  before = test_convert.raw_variables(str(tmp_path / "m" / "model.ckpt-5"))
  after = test_convert.raw_variables(str(tmp_path / "back" / "model.ckpt-5"))
  assert sorted(before) == sorted(after)
  for name, (dtype, value) in before.items():
    assert after[name][0] == dtype, name
    assert np.array_equal(after[name][1], value), name
