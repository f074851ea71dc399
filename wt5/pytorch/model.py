"""Hugging Face T5 models for WT5: size presets, checkpoints, vocabulary checks.

A model is either a local checkpoint directory (`config.json` and weights, as
`save_pretrained` or the Trainer write them), a Hugging Face hub name such as
`google-t5/t5-base` (downloaded where the network allows), or a size preset
trained from scratch with the export's vocabulary size (the shapes of
`wt5.model_shapes`, which `wt5 demo` trains with the same names).
"""

import os
from typing import Any, Dict, Optional, Tuple

from wt5 import model_shapes
from wt5.formats import export as export_format
from wt5.formats import model_dir as model_dir_format


# Every shape of `wt5.model_shapes`, by name ("tiny", "cpu_small", T5's sizes).
PRESETS = model_shapes.SHAPES


class ModelError(ValueError):
  """A model that cannot be loaded or does not fit the export."""


def preset_config(name: str, vocab_size: int, dropout_rate: float = 0.1):
  """A `T5Config` of a preset size for `vocab_size` ids (T5's conventions).

  preset_config("tiny", 2000).d_model -> 64 (pad 0, EOS 1, decoder start 0)
  """
  import transformers
  if name not in PRESETS:
    raise ModelError("unknown model size %r; sizes: %s" % (
        name, ", ".join(PRESETS)))
  p = PRESETS[name]
  return transformers.T5Config(
      vocab_size=vocab_size, d_model=p.d_model, d_ff=p.d_ff, d_kv=p.d_kv,
      num_heads=p.num_heads, num_layers=p.num_layers,
      num_decoder_layers=p.num_layers, dropout_rate=dropout_rate,
      feed_forward_proj="relu", tie_word_embeddings=True, pad_token_id=0,
      eos_token_id=1, decoder_start_token_id=0)


def load_model(model: str, vocab_size: int, dropout_rate: float = 0.1,
               seed: int = 0) -> Tuple[Any, Optional[str]]:
  """Returns (T5ForConditionalGeneration, note) for a preset, directory or hub name.

  Raises `ModelError` when a hub name cannot be fetched (offline) and when
  the model's embedding is smaller than the vocabulary; the note says when
  it is larger.

  load_model("tiny", 2000)[0].config.vocab_size -> 2000
  """
  import torch
  import transformers
  if model in PRESETS:
    torch.manual_seed(seed)
    result = transformers.T5ForConditionalGeneration(
        preset_config(model, vocab_size, dropout_rate))
    return result, None
  if (os.path.exists(model) and
      not model_dir_format.is_checkpoint_dir(model)):
    raise ModelError("%s: not a model directory (no config.json); give a "
                     "checkpoint directory, a hub name or a size (%s)" % (
                         model, ", ".join(PRESETS)))
  try:
    result = transformers.T5ForConditionalGeneration.from_pretrained(
        model, dropout_rate=dropout_rate)
  except OSError as e:
    where = ("the local directory %s" % model if os.path.isdir(model) else
             "the Hugging Face hub (no network, or no such model?)")
    raise ModelError(
        "Cannot load the model %r from %s: %s. Offline, download it elsewhere "
        "with `huggingface-cli download %s --local-dir DIR` and pass DIR." % (
            model, where, str(e).strip().splitlines()[0] if str(e) else e,
            model)) from None
  note = export_format.check_embedding(vocab_size, result.config.vocab_size,
                                       "the model %s" % model)
  return result, note


def model_flops_per_example(config: Any, inputs_length: int,
                            targets_length: int) -> float:
  """Training FLOPs of one example padded to the given lengths.

  Counts the matrix multiplications of the forward pass (2 FLOPs per
  multiply-add: projections, attention scores and values, feed-forward,
  logits) times 3 for forward and backward, as model-FLOPs utilisation does
  (no recomputation counted). For T5-base at 512/256 (32128 ids): 0.545 TFLOPs.
  """
  d, f, h, k = config.d_model, config.d_ff, config.num_heads, config.d_kv
  li, lt = inputs_length, targets_length
  attn = 4 * d * h * k  # q, k, v, o projections, per token
  ffn = (3 if config.is_gated_act else 2) * d * f  # wi (wi_0, wi_1), wo
  enc = config.num_layers * li * (attn + ffn + 2 * li * h * k)
  # Decoder: self-attention, cross-attention (q, o on the targets; k, v on
  # the encoder's outputs), feed-forward.
  dec = config.num_decoder_layers * (
      lt * (attn + 2 * d * h * k + ffn + 2 * lt * h * k + 2 * li * h * k) +
      li * 2 * d * h * k)
  logits = lt * d * config.vocab_size
  return 3.0 * 2.0 * (enc + dec + logits)


def compile_blocks(model: Any) -> None:
  """Compiles each T5 block of `model` in place, the position bias left eager.

  Regional compilation (`torch.compile` per block): the blocks after the
  first share one graph per stack, so a T5 of any depth compiles a few block
  graphs and their backward instead of one graph of the whole model. The
  relative position bias (`T5Attention.compute_bias` of each stack's first
  layer) runs eagerly: its bucket is the integer part of a logarithm, and a
  compiled logarithm can land a distance at a bucket boundary in the bucket
  below (different biases, different losses). The masks are built outside
  the blocks, in the packed-batch hooks.
  """
  import torch
  for stack in (model.encoder, model.decoder):
    owner = stack.block[0].layer[0].SelfAttention
    owner.compute_bias = torch.compiler.disable(owner.compute_bias)
    for block in stack.block:
      block.compile()


def describe(config: Any) -> Dict[str, Any]:
  """The shape of a T5 config: describe(preset_config("tiny", 2000)) -> {"d_model": 64, ...}."""
  keys = ("vocab_size", "d_model", "d_ff", "d_kv", "num_heads", "num_layers",
          "num_decoder_layers", "feed_forward_proj")
  return {k: getattr(config, k) for k in keys}


def parameter_count(model: Any) -> int:
  """Trainable parameters of a torch module."""
  return sum(p.numel() for p in model.parameters() if p.requires_grad)
