"""T5 in Mesh TensorFlow and in Hugging Face: the shape, the names, the layouts.

Pure Python (no TensorFlow, no torch): what `wt5 convert` needs to know to
move the weights of a T5 encoder-decoder between a `t5_mesh_transformer`
checkpoint and a Hugging Face `T5ForConditionalGeneration`.

A Mesh TF checkpoint (`models/bi_v1.gin`, `models/t5.1.1.*.gin`) names its
weights by scope; every matrix is stored as [input, output], Hugging Face's
`nn.Linear` as [output, input]:

    shared/embedding                                   [vocab, d_model]
    encoder/block_000/layer_000/rms_norm/scale         [d_model]
    encoder/block_000/layer_000/SelfAttention/q        [d_model, heads * d_kv]
    encoder/block_000/layer_000/SelfAttention/relative_attention_bias
                                                       [heads, buckets]
    encoder/block_000/layer_001/DenseReluDense/wi/kernel   [d_model, d_ff]
    decoder/block_000/layer_002/DenseReluDense/wi_0/kernel (gated, T5 1.1)
    decoder/logits/kernel      [d_model, vocab] (T5 1.1: no shared softmax)
    encoder/rms_norm/scale, decoder/rms_norm/scale     final layer norms

The relative attention bias is shared by the layers of a stack
(`relative_attention_type = "bias_shared"`), so it lives in the first block
only, as in Hugging Face's T5. Layer norms are scale-only RMS norms.
"""

import dataclasses
from typing import Any, Dict, List, Mapping, Sequence, Tuple

# Mesh TF activation lists (`DenseReluDense.activation`) and the Hugging Face
# `feed_forward_proj` computing the same function. Mesh TF's "gelu" is the
# tanh approximation, Hugging Face's "gelu_new".
ACTIVATIONS = (
    (("relu",), "relu"),
    (("gelu",), "gelu_new"),
    (("relu", "linear"), "gated-relu"),
    (("gelu", "linear"), "gated-gelu"),
)
# Hugging Face (is_gated_act, dense_act_fn) -> Mesh TF activation list.
_HF_ACTIVATIONS = {
    (False, "relu"): ("relu",),
    (False, "gelu_new"): ("gelu",),
    (False, "gelu_pytorch_tanh"): ("gelu",),
    (True, "relu"): ("relu", "linear"),
    (True, "gelu_new"): ("gelu", "linear"),
    (True, "gelu_pytorch_tanh"): ("gelu", "linear"),
}
# Mesh TF buckets relative positions with max_distance=128 (not configurable).
MAX_DISTANCE = 128
PAD_ID, EOS_ID, DECODER_START_ID = 0, 1, 0


class UnsupportedModelError(ValueError):
  """A checkpoint or configuration `wt5 convert` cannot convert exactly."""


@dataclasses.dataclass(frozen=True)
class T5Shape:
  """Everything that decides the weights and the function of a T5 model.

  `vocab_size` is the number of embedding rows (Mesh TF pads the vocabulary
  to a multiple of `vocab_divisor`, 128 by default: 600 ids -> 640 rows).
  `activation` is Mesh TF's list, ("relu",) for T5 1.0 and ("gelu",
  "linear") for T5 1.1; `shared_softmax` is True when the output layer is
  the input embedding (T5 1.0), whose output Mesh TF then scales by
  d_model**-0.5.
  """
  vocab_size: int
  d_model: int
  d_ff: int
  d_kv: int
  num_heads: int
  num_layers: int
  num_decoder_layers: int
  activation: Tuple[str, ...] = ("relu",)
  shared_softmax: bool = True
  num_buckets: int = 32
  epsilon: float = 1e-6
  dropout_rate: float = 0.1

  @property
  def gated(self) -> bool:
    return len(self.activation) > 1

  @property
  def layout(self) -> str:
    """"T5 1.0" (ReLU, shared softmax), "T5 1.1" (gated GELU, separate), or a mix.

    T5Shape(640, 64, 256, 16, 4, 1, 1).layout -> "T5 1.0"
    """
    if self.activation == ("relu",) and self.shared_softmax:
      return "T5 1.0"
    if self.activation == ("gelu", "linear") and not self.shared_softmax:
      return "T5 1.1"
    return "T5 (%s, %s softmax)" % (
        "/".join(self.activation),
        "shared" if self.shared_softmax else "separate")


def feed_forward_proj(activation: Sequence[str]) -> str:
  """The Hugging Face name of a Mesh TF activation list.

  feed_forward_proj(["gelu", "linear"]) -> "gated-gelu"
  """
  for mesh, hf in ACTIVATIONS:
    if tuple(activation) == mesh:
      return hf
  raise UnsupportedModelError(
      "DenseReluDense.activation = %r is not supported; supported: %s" % (
          list(activation) if len(activation) > 1 else activation[0],
          ", ".join(repr(list(m) if len(m) > 1 else m[0])
                    for m, _ in ACTIVATIONS)))


def mesh_activation(is_gated_act: bool, dense_act_fn: str) -> Tuple[str, ...]:
  """The Mesh TF activation list of a Hugging Face T5 config.

  mesh_activation(True, "gelu_new") -> ("gelu", "linear")
  """
  try:
    return _HF_ACTIVATIONS[(bool(is_gated_act), dense_act_fn)]
  except KeyError:
    raise UnsupportedModelError(
        "the Hugging Face activation %s%r has no Mesh TF equivalent (Mesh TF "
        "computes relu and the tanh approximation of gelu, 'gelu_new'); "
        "supported: %s" % ("gated " if is_gated_act else "", dense_act_fn,
                           ", ".join(hf for _, hf in ACTIVATIONS))) from None


def hf_config_kwargs(shape: T5Shape) -> Dict[str, Any]:
  """`transformers.T5Config` arguments for a shape (T5's special ids).

  hf_config_kwargs(T5Shape(640, 64, 256, 16, 4, 1, 1))["tie_word_embeddings"] -> True
  """
  return dict(
      vocab_size=shape.vocab_size, d_model=shape.d_model, d_ff=shape.d_ff,
      d_kv=shape.d_kv, num_heads=shape.num_heads, num_layers=shape.num_layers,
      num_decoder_layers=shape.num_decoder_layers,
      feed_forward_proj=feed_forward_proj(shape.activation),
      relative_attention_num_buckets=shape.num_buckets,
      relative_attention_max_distance=MAX_DISTANCE,
      layer_norm_epsilon=shape.epsilon, dropout_rate=shape.dropout_rate,
      tie_word_embeddings=shape.shared_softmax, pad_token_id=PAD_ID,
      eos_token_id=EOS_ID, decoder_start_token_id=DECODER_START_ID,
      is_encoder_decoder=True)


def shape_from_hf_config(config: Mapping[str, Any]) -> T5Shape:
  """The shape of a Hugging Face T5 config (`config.json` as a dict).

  Hugging Face scales the decoder output by d_model**-0.5 exactly when the
  config says `scale_decoder_outputs` (older configs: `tie_word_embeddings`);
  that is Mesh TF's shared softmax.
  """
  if config.get("model_type", "t5") != "t5":
    raise UnsupportedModelError("model_type %r is not T5" %
                                config.get("model_type"))
  if config.get("relative_attention_max_distance", MAX_DISTANCE) != MAX_DISTANCE:
    raise UnsupportedModelError(
        "relative_attention_max_distance = %s is not supported: Mesh TF "
        "always uses %d" % (config["relative_attention_max_distance"],
                            MAX_DISTANCE))
  for key, want in (("pad_token_id", PAD_ID), ("eos_token_id", EOS_ID),
                    ("decoder_start_token_id", DECODER_START_ID)):
    if config.get(key, want) != want:
      raise UnsupportedModelError(
          "%s = %r is not supported: Mesh TF's T5 uses %d" % (
              key, config[key], want))
  proj = config.get("feed_forward_proj", "relu")
  gated = config.get("is_gated_act", proj.startswith("gated-"))
  act_fn = config.get("dense_act_fn", proj.split("-")[-1])
  if proj == "gated-gelu":
    act_fn = "gelu_new"
  scale = config.get("scale_decoder_outputs",
                     config.get("tie_word_embeddings", True))
  num_layers = int(config.get("num_layers", 6))
  return T5Shape(
      vocab_size=int(config["vocab_size"]), d_model=int(config["d_model"]),
      d_ff=int(config["d_ff"]), d_kv=int(config["d_kv"]),
      num_heads=int(config["num_heads"]), num_layers=num_layers,
      num_decoder_layers=int(config.get("num_decoder_layers") or num_layers),
      activation=mesh_activation(gated, act_fn), shared_softmax=bool(scale),
      num_buckets=int(config.get("relative_attention_num_buckets", 32)),
      epsilon=float(config.get("layer_norm_epsilon", 1e-6)),
      dropout_rate=float(config.get("dropout_rate", 0.1)))


@dataclasses.dataclass(frozen=True)
class Weight:
  """One weight in both naming schemes; `transpose` for [in, out] matrices.

  `mesh_shape` is the shape in the Mesh TF checkpoint.
  """
  mesh_name: str
  hf_name: str
  mesh_shape: Tuple[int, ...]
  transpose: bool


def _attention(mesh: str, hf: str, shape: T5Shape,
               relative_bias: bool) -> List[Weight]:
  d, inner = shape.d_model, shape.num_heads * shape.d_kv
  weights = [Weight("%s/%s" % (mesh, n), "%s.%s.weight" % (hf, n),
                    (inner, d) if n == "o" else (d, inner), True)
             for n in ("q", "k", "v", "o")]
  if relative_bias:
    weights.append(Weight(mesh + "/relative_attention_bias",
                          hf + ".relative_attention_bias.weight",
                          (shape.num_heads, shape.num_buckets), True))
  return weights


def _feed_forward(mesh: str, hf: str, shape: T5Shape) -> List[Weight]:
  d, f = shape.d_model, shape.d_ff
  names = ["wi_0", "wi_1"] if shape.gated else ["wi"]
  return ([Weight("%s/%s/kernel" % (mesh, n), "%s.%s.weight" % (hf, n),
                  (d, f), True) for n in names] +
          [Weight(mesh + "/wo/kernel", hf + ".wo.weight", (f, d), True)])


def _norm(mesh: str, hf: str, shape: T5Shape) -> Weight:
  return Weight(mesh + "/rms_norm/scale", hf + ".weight", (shape.d_model,),
                False)


def weight_names(shape: T5Shape) -> List[Weight]:
  """Every weight of a T5 model of `shape`, in Mesh TF and Hugging Face names.

  weight_names(T5Shape(640, 64, 256, 16, 4, 1, 1))[1] ->
    Weight("encoder/block_000/layer_000/rms_norm/scale",
           "encoder.block.0.layer.0.layer_norm.weight", (64,), False)
  """
  weights = [Weight("shared/embedding", "shared.weight",
                    (shape.vocab_size, shape.d_model), False)]
  stacks = (("encoder", shape.num_layers, ("SelfAttention", "DenseReluDense")),
            ("decoder", shape.num_decoder_layers,
             ("SelfAttention", "EncDecAttention", "DenseReluDense")))
  for stack, num_layers, layers in stacks:
    for block in range(num_layers):
      for index, layer in enumerate(layers):
        mesh = "%s/block_%03d/layer_%03d" % (stack, block, index)
        hf = "%s.block.%d.layer.%d" % (stack, block, index)
        weights.append(_norm(mesh, hf + ".layer_norm", shape))
        if layer == "DenseReluDense":
          weights += _feed_forward(mesh + "/DenseReluDense",
                                   hf + ".DenseReluDense", shape)
        else:
          weights += _attention(
              "%s/%s" % (mesh, layer), "%s.%s" % (hf, layer), shape,
              relative_bias=(block == 0 and layer == "SelfAttention"))
    weights.append(_norm(stack, stack + ".final_layer_norm", shape))
  if not shape.shared_softmax:
    weights.append(Weight("decoder/logits/kernel", "lm_head.weight",
                          (shape.d_model, shape.vocab_size), True))
  return weights


def is_model_variable(name: str) -> bool:
  """Whether a checkpoint variable is a weight (not an optimizer slot or step).

  is_model_variable("shared/embedding_slot_vr") -> False
  """
  if name == "global_step" or name.startswith("global_step/"):
    return False
  last = name.rsplit("/", 1)[-1]
  return not any(last.endswith(s) for s in ("_slot_v", "_slot_vr",
                                            "_slot_vc", "_slot_m"))


def count_blocks(names: Sequence[str], stack: str) -> int:
  """How many `<stack>/block_NNN` blocks the names hold.

  count_blocks(["encoder/block_000/x", "encoder/block_001/y"], "encoder") -> 2
  """
  blocks = set()
  prefix = stack + "/block_"
  for name in names:
    if name.startswith(prefix):
      number = name[len(prefix):].split("/", 1)[0]
      if number.isdigit():
        blocks.add(int(number))
  if blocks and blocks != set(range(len(blocks))):
    raise UnsupportedModelError("%s blocks are not numbered 0..%d: %s" % (
        stack, len(blocks) - 1, sorted(blocks)))
  return len(blocks)
