"""The Transformer shapes both routes train, by name.

One table for the Mesh TensorFlow binary (`wt5 demo`, as gin parameters of
`models/bi_v1.gin`) and the PyTorch route (`wt5 train --model`, as a
`T5Config`): a name means the same shape on both. "small" to "11B" are T5's
(1.0) sizes; "tiny", "cpu_small" and "cpu_base" are small enough to train on
a CPU in minutes. Pure Python: importing it imports nothing else.

    SHAPES["cpu_small"] -> ModelShape(d_model=128, d_ff=512, d_kv=32,
                                      num_heads=4, num_layers=2)
"""

import dataclasses
from typing import List


@dataclasses.dataclass(frozen=True)
class ModelShape:
  """The hyperparameters of a T5 Transformer (as in T5's gin files `models/*`).

  `num_layers` is the number of encoder layers and of decoder layers.
  """
  d_model: int
  d_ff: int
  d_kv: int
  num_heads: int
  num_layers: int

  def gin_params(self) -> List[str]:
    """ModelShape(64, 256, 16, 4, 1).gin_params()[0] -> "d_model = 64"."""
    return ["%s = %d" % (f.name, getattr(self, f.name))
            for f in dataclasses.fields(self)]


SHAPES = {
    # For tests and quick runs on a CPU.
    "tiny": ModelShape(64, 256, 16, 4, 2),
    "cpu_small": ModelShape(128, 512, 32, 4, 2),
    "cpu_base": ModelShape(256, 1024, 64, 4, 3),
    # T5's sizes.
    "small": ModelShape(512, 2048, 64, 8, 6),
    "base": ModelShape(768, 3072, 64, 12, 12),
    "large": ModelShape(1024, 4096, 64, 16, 24),
    "3B": ModelShape(1024, 16384, 128, 32, 24),
    "11B": ModelShape(1024, 65536, 128, 128, 24),
}
CPU_SHAPES = ("tiny", "cpu_small", "cpu_base")
