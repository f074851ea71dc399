"""Class probabilities from a text-to-text model, by teacher forcing the labels.

A WT5 model writes its label first ("positive explanation: ..."). The score
of a label is the log-probability the model gives to the label's own tokens
after the decoder start, teacher forced; the tokens after it (" explanation:
..." or EOS) are not scored, so a label is scored the same whether or not the
model would go on to explain it. The probabilities are a softmax of these
scores over the task's label set:

    p(label | input) = exp(s(label)) / sum over labels l of exp(s(l)),
    s(l) = sum over t of log P(l_t | input, l_<t)

For single-token labels this is the softmax of the first step's logits at
the label tokens. Inputs are scored in batches: the encoder runs once per
input, the decoder once per (input, label) pair; memory is bounded by
`batch_size` inputs times the number of labels.
"""

from typing import Any, List, Mapping, Sequence

import numpy as np

IGNORE_INDEX = -100


def label_token_ids(processor: Any, labels: Sequence[str]) -> List[List[int]]:
  """The SentencePiece ids of each label alone (no EOS).

  label_token_ids(sp, ["negative", "positive"]) -> [[407], [408]]
  """
  ids = [list(processor.EncodeAsIds(label)) for label in labels]
  for label, row in zip(labels, ids):
    if not row:
      raise ValueError("the label %r encodes to no token" % (label,))
  return ids


def softmax_rows(scores: np.ndarray) -> np.ndarray:
  """Row-wise softmax in float64: softmax_rows([[0, 0]]) -> [[0.5, 0.5]]."""
  scores = np.asarray(scores, dtype=np.float64)
  shifted = scores - scores.max(axis=1, keepdims=True)
  weights = np.exp(shifted)
  return weights / weights.sum(axis=1, keepdims=True)


class LabelScorer:
  """Scores a fixed label set for batches of encoded inputs.

  scorer = LabelScorer(model, ["negative", "positive"], [[407], [408]], "cpu")
  scorer.probabilities([[402, 319, 1]]) -> array([[0.12, 0.88]])
  """

  def __init__(self, model: Any, labels: Sequence[str],
               label_ids: Sequence[Sequence[int]], device: Any,
               batch_size: int = 32, pad_id: int = 0):
    import torch
    if len(labels) != len(label_ids) or len(labels) < 2:
      raise ValueError("need at least two labels with one id list each, got "
                       "%d labels and %d id lists" % (len(labels),
                                                      len(label_ids)))
    if batch_size < 1:
      raise ValueError("batch_size must be at least 1, got %d" % batch_size)
    self.model = model
    self.labels = list(labels)
    self.device = device
    self.batch_size = batch_size
    self.pad_id = pad_id
    width = max(len(row) for row in label_ids)
    targets = [list(row) + [IGNORE_INDEX] * (width - len(row))
               for row in label_ids]
    self._targets = torch.tensor(targets, dtype=torch.long, device=device)
    # Decoder inputs: the start id (pad for T5), then the label shifted right.
    start = getattr(model.config, "decoder_start_token_id", None)
    start = pad_id if start is None else start
    shifted = [[start] + [t if t != IGNORE_INDEX else pad_id for t in row[:-1]]
               for row in targets]
    self._decoder_inputs = torch.tensor(shifted, dtype=torch.long,
                                        device=device)

  def log_likelihoods(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
    """s(label) for every input (rows) and label (columns), float64."""
    result = np.empty((len(inputs), len(self.labels)), dtype=np.float64)
    for start in range(0, len(inputs), self.batch_size):
      batch = inputs[start:start + self.batch_size]
      result[start:start + len(batch)] = self._batch_scores(batch)
    return result

  def probabilities(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
    """p(label | input), normalised over the label set; rows sum to 1."""
    return softmax_rows(self.log_likelihoods(inputs))

  def as_dicts(self, probabilities: np.ndarray) -> List[Mapping[str, float]]:
    """Rows of probabilities as ERASER's `classification_scores` dicts."""
    return [dict(zip(self.labels, map(float, row))) for row in probabilities]

  def _batch_scores(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
    import torch
    width = max(len(row) for row in batch)
    ids = torch.tensor([list(row) + [self.pad_id] * (width - len(row))
                        for row in batch], dtype=torch.long, device=self.device)
    mask = (torch.arange(width, device=self.device)[None, :] <
            torch.tensor([len(row) for row in batch],
                         device=self.device)[:, None]).long()
    num_labels = len(self.labels)
    self.model.eval()
    with torch.no_grad():
      encoded = self.model.get_encoder()(input_ids=ids, attention_mask=mask)
      hidden = encoded.last_hidden_state.repeat_interleave(num_labels, dim=0)
      outputs = self.model(
          encoder_outputs=(hidden,),
          attention_mask=mask.repeat_interleave(num_labels, dim=0),
          decoder_input_ids=self._decoder_inputs.repeat(len(batch), 1))
      log_probs = torch.log_softmax(outputs.logits.float(), dim=-1)
      targets = self._targets.repeat(len(batch), 1)
      valid = targets != IGNORE_INDEX
      picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1))
      scores = (picked.squeeze(-1) * valid).sum(dim=1)
    return scores.view(len(batch), num_labels).double().cpu().numpy()
