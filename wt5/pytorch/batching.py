"""Batches of export examples for `T5ForConditionalGeneration`.

Shared by `wt5 train` and `wt5 evaluate`. Nothing here imports TensorFlow or t5.
"""

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence

IGNORE_INDEX = -100


@dataclasses.dataclass
class TokenCount:
  """Non-padding input and target tokens seen by this process's collator."""
  tokens: int = 0
  examples: int = 0


class Collator:
  """Pads a batch of export examples for `T5ForConditionalGeneration`.

  Inputs are padded with 0 (T5's pad id) and masked; labels are padded with
  -100 (ignored by the loss). With `pad_to` the batch is padded to fixed
  lengths (static shapes), else to its longest example.

  Collator()([{"inputs": [5, 1], "targets": [7, 8, 1]}, {"inputs": [1], "targets": [1]}])
  -> {"input_ids": [[5, 1], [1, 0]], "attention_mask": [[1, 1], [1, 0]],
      "labels": [[7, 8, 1], [1, -100, -100]]} (as torch tensors)
  """

  def __init__(self, pad_to: Optional[Mapping[str, int]] = None,
               count: Optional[TokenCount] = None):
    self.pad_to = dict(pad_to) if pad_to else None
    self.count = count if count is not None else TokenCount()

  def __call__(self, examples: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    import torch  # pylint: disable=g-import-not-at-top
    inputs = [list(e["inputs"]) for e in examples]
    targets = [list(e["targets"]) for e in examples]
    li = max(len(x) for x in inputs)
    lt = max(len(x) for x in targets)
    if self.pad_to:
      li, lt = max(li, self.pad_to["inputs"]), max(lt, self.pad_to["targets"])
    input_ids = [x + [0] * (li - len(x)) for x in inputs]
    mask = [[1] * len(x) + [0] * (li - len(x)) for x in inputs]
    labels = [x + [IGNORE_INDEX] * (lt - len(x)) for x in targets]
    self.count.tokens += sum(len(x) for x in inputs) + sum(
        len(x) for x in targets)
    self.count.examples += len(examples)
    return {"input_ids": torch.tensor(input_ids, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long)}
