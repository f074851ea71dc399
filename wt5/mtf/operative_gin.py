"""The model part of a `t5_mesh_transformer` operative config: read and write.

`read_model_config` reads the shape-deciding bindings of a model
directory's `operative_config.gin` (parsed with gin's own parser, without
importing what it configures) and rejects what has no Hugging Face T5
equivalent, naming the binding. `operative_config_text` writes the gin that
makes `t5_mesh_transformer` build a T5 of a given shape, for a checkpoint
written by `wt5 convert --to mtf`.

    config = read_model_config(open("m/operative_config.gin").read())
    config.num_heads -> 4; config.activation -> ("relu",)
"""

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Tuple

from wt5.mtf.checkpoint_names import T5Shape, UnsupportedModelError

Bindings = Dict[Tuple[str, str, str], Any]  # (scope, configurable, arg)

# The Mesh TF defaults (mesh_tensorflow/transformer/gin/defaults.gin) of the
# layer stacks; anything else has no Hugging Face T5 counterpart.
LAYERS = {"encoder": ["SelfAttention", "DenseReluDense"],
          "decoder": ["SelfAttention", "EncDecAttention", "DenseReluDense"]}
SUBLAYERS = {
    "sublayers_initial": ["sublayer_dropout"],
    "sublayers_per_layer": ["sublayer_rms_norm", "sublayer_call_layer",
                            "sublayer_dropout", "sublayer_residual"],
    "sublayers_final": ["sublayer_rms_norm", "sublayer_dropout"],
}


@dataclasses.dataclass(frozen=True)
class Reference:
  """A `@name` or `@name()` in a gin file."""
  name: str
  evaluate: bool = False


@dataclasses.dataclass(frozen=True)
class Macro:
  """A `%name` in a gin file."""
  name: str


def read_bindings(text: str, filename: str = "operative_config.gin"
                  ) -> Bindings:
  """Every binding of a gin file; configurables by their last name part.

  read_bindings("d_ff = 256\\nencoder/DenseReluDense.hidden_size = %d_ff")
    -> {("", "d_ff", ""): 256,
        ("encoder", "DenseReluDense", "hidden_size"): Macro("d_ff")}
  """
  from gin import config_parser

  class Delegate(config_parser.ParserDelegate):

    def configurable_reference(self, scoped_configurable_name, evaluate):
      return Reference(scoped_configurable_name, evaluate)

    def macro(self, macro_name):
      return Macro(macro_name)

  bindings: Bindings = {}
  try:
    for statement in config_parser.ConfigParser(text, Delegate()):
      if isinstance(statement, config_parser.IncludeStatement):
        raise UnsupportedModelError(
            "%s:%d: include %r: give the operative config (every binding "
            "written out), which t5_mesh_transformer writes into the model "
            "directory" % (filename, statement.location.line_num,
                           statement.filename))
      if isinstance(statement, config_parser.BindingStatement):
        name = statement.selector.rsplit(".", 1)[-1]
        bindings[(statement.scope, name, statement.arg_name)] = statement.value
  except SyntaxError as e:
    raise UnsupportedModelError("%s: not a gin file: %s" % (filename, e)
                                ) from None
  return bindings


def _resolve(bindings: Bindings, value: Any, depth: int = 0) -> Any:
  """Replaces macros by their values; references by their last name part."""
  if depth > 20:
    raise UnsupportedModelError("gin macros refer to each other in a loop")
  if isinstance(value, Macro):
    scope, _, name = value.name.rpartition("/")
    if (scope, name, "") not in bindings:
      raise UnsupportedModelError("gin macro %%%s is used but not set" %
                                  value.name)
    return _resolve(bindings, bindings[(scope, name, "")], depth + 1)
  if isinstance(value, Reference):
    return value.name.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
  if isinstance(value, (list, tuple)):
    return type(value)(_resolve(bindings, v, depth + 1) for v in value)
  return value


def lookup(bindings: Bindings, scope: str, name: str, arg: str,
           default: Any = None) -> Any:
  """The value of `name.arg` in `scope` (else unscoped, else `default`).

  lookup({("", "d_ff", ""): 256, ("encoder", "DenseReluDense", "hidden_size"):
          Macro("d_ff")}, "encoder", "DenseReluDense", "hidden_size") -> 256
  """
  for key in ((scope, name, arg), ("", name, arg)):
    if key in bindings:
      return _resolve(bindings, bindings[key])
  return default


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """What the operative config says about the model's shape and function."""
  num_heads: int
  d_kv: int
  d_ff: int
  d_model: int
  num_layers: Tuple[int, int]  # encoder, decoder
  activation: Tuple[str, ...]
  shared_softmax: bool
  num_buckets: int
  epsilon: float
  dropout_rate: float
  master_dtype: str
  vocab_divisor: int


def _require(bindings: Bindings, scope: str, name: str, arg: str,
             default: Any, allowed: Any, why: str) -> Any:
  value = lookup(bindings, scope, name, arg, default)
  if value != allowed:
    raise UnsupportedModelError(
        "%s%s.%s = %r is not supported (%s)" % (
            scope + "/" if scope else "", name, arg, value, why))
  return value


def _same(values: Mapping[str, Any], what: str) -> Any:
  """The one value the encoder and decoder share; an error if they differ."""
  distinct = set(repr(v) for v in values.values())
  if len(distinct) > 1:
    raise UnsupportedModelError(
        "%s differs between the stacks (%s); Hugging Face T5 has one" % (
            what, ", ".join("%s: %r" % kv for kv in values.items())))
  return next(iter(values.values()))


def _check_layer_stack(bindings: Bindings, stack: str) -> None:
  """Checks that a stack's layers, norms and embeddings are T5's.

  Raises UnsupportedModelError naming the first binding that is not, e.g.
  "encoder/Unitransformer.positional_embedding = True is not supported".
  """
  layers = lookup(bindings, stack, "make_layer_stack", "layers",
                  LAYERS[stack])
  if list(layers) != LAYERS[stack]:
    raise UnsupportedModelError(
        "%s/make_layer_stack.layers = %s is not supported (T5's are %s)" % (
            stack, list(layers), LAYERS[stack]))
  for arg, want in SUBLAYERS.items():
    value = lookup(bindings, stack, "LayerStack", arg, want)
    if list(value) != want:
      raise UnsupportedModelError(
          "%s/LayerStack.%s = %s is not supported (T5's are %s)" % (
              stack, arg, list(value), want))
  for arg in ("dropout_rate", "norm_epsilon"):
    _require(bindings, stack, "LayerStack", arg, None, None,
             "a legacy layer-norm form")
  _require(bindings, stack, "sublayer_rms_norm", "name", "rms_norm",
           "rms_norm", "the variables would be named differently")
  for arg, default, want in (
      ("positional_embedding", True, False),
      ("sinusoid_positional_embedding", False, False),
      ("ensemble", None, None), ("input_full_attention", False, False)):
    _require(bindings, stack, "Unitransformer", arg, default, want,
             "T5 uses relative attention only")


def _attention_shapes(bindings: Bindings, stack: str
                      ) -> Dict[str, Tuple[int, int]]:
  """Checks a stack's attention layers; returns {layer: (heads, d_kv)}.

  _attention_shapes(b, "encoder") -> {"SelfAttention": (8, 64)}; raises
  UnsupportedModelError for a setting Hugging Face T5 does not have.
  """
  attention = {}
  for layer in LAYERS[stack]:
    if layer == "DenseReluDense":
      continue
    for arg, default, want in (
        ("shared_kv", False, False), ("num_memory_heads", 0, 0),
        ("keep_query_heads_dims", False, False),
        ("fold_scaling_into_initializer", True, True),
        ("attention_func", None, None), ("use_hyperprompt", False, False)):
      value = lookup(bindings, stack, layer, arg,
                     lookup(bindings, stack, "SelfAttention", arg, default))
      if value != want:
        raise UnsupportedModelError(
            "%s/%s.%s = %r is not supported by Hugging Face T5" % (
                stack, layer, arg, value))
    attention[layer] = (
        lookup(bindings, stack, layer, "num_heads",
               lookup(bindings, stack, "SelfAttention", "num_heads", 8)),
        lookup(bindings, stack, layer, "key_value_size",
               lookup(bindings, stack, "SelfAttention", "key_value_size",
                      128)))
  relative = lookup(bindings, stack, "SelfAttention",
                    "relative_attention_type", None)
  if relative != "bias_shared":
    raise UnsupportedModelError(
        "%s/SelfAttention.relative_attention_type = %r is not supported: "
        "Hugging Face T5 has one relative attention bias per stack, "
        "'bias_shared'" % (stack, relative))
  if stack == "decoder":
    _require(bindings, stack, "EncDecAttention", "relative_attention_type",
             None, None, "Hugging Face T5's cross-attention has no bias")
  return attention


def _stack_settings(bindings: Bindings, stack: str) -> Dict[str, Any]:
  """Checks one stack's bindings; returns its shape-deciding values.

  _stack_settings(b, "encoder") -> {"heads": 8, "d_kv": 64, "d_ff": 2048,
  "activation": ("relu",), "buckets": 32, ..., "num_layers": 6}
  """
  _check_layer_stack(bindings, stack)
  attention = _attention_shapes(bindings, stack)
  activation = lookup(bindings, stack, "DenseReluDense", "activation", "relu")
  _require(bindings, stack, "DenseReluDense", "use_bias", False, False,
           "T5 has no biases")
  return {
      "heads": _same({layer: h for layer, (h, _) in attention.items()},
                     "%s attention heads" % stack),
      "d_kv": _same({layer: k for layer, (_, k) in attention.items()},
                    "%s key_value_size" % stack),
      "d_ff": lookup(bindings, stack, "DenseReluDense", "hidden_size", 4096),
      "activation": tuple(activation) if isinstance(
          activation, (list, tuple)) else (activation,),
      "buckets": lookup(bindings, stack, "SelfAttention",
                        "relative_attention_num_buckets", 32),
      "shared_softmax": lookup(bindings, stack, "Unitransformer",
                               "shared_embedding_and_softmax_weights", False),
      "d_model": lookup(bindings, stack, "Unitransformer", "d_model", None),
      "num_layers": lookup(bindings, stack, "make_layer_stack", "num_layers",
                           6),
      "vocab_divisor": lookup(bindings, stack, "Unitransformer",
                              "vocab_divisor", 128),
  }


def read_model_config(text: str, filename: str = "operative_config.gin"
                      ) -> ModelConfig:
  """The model of an operative config; `UnsupportedModelError` naming any
  binding that Hugging Face's T5 cannot compute."""
  bindings = read_bindings(text, filename)
  _require(bindings, "", "run", "model_type", "bitransformer",
           "bitransformer", "only encoder-decoder T5 models are converted")
  _require(bindings, "", "Bitransformer", "shared_embedding", True, True,
           "Hugging Face T5 shares one input embedding")
  _require(bindings, "", "VocabEmbedding",
           "scale_variable_like_classifier_weights", False, False,
           "Hugging Face T5 does not scale its input embedding")
  _require(bindings, "", "get_vocab_embedding_cls", "cls", None, None,
           "only the plain vocabulary embedding is supported")
  stacks = {s: _stack_settings(bindings, s) for s in ("encoder", "decoder")}
  shared = {k: _same({s: v[k] for s, v in stacks.items()}, k)
            for k in ("heads", "d_kv", "d_ff", "activation", "buckets",
                      "d_model", "vocab_divisor")}
  dropout = lookup(bindings, "", "sublayer_dropout", "dropout_rate", 0.0)
  dtype = lookup(bindings, "", "get_variable_dtype", "master_dtype",
                 "bfloat16")
  return ModelConfig(
      num_heads=int(shared["heads"]), d_kv=int(shared["d_kv"]),
      d_ff=int(shared["d_ff"]),
      d_model=int(shared["d_model"]) if shared["d_model"] else 0,
      num_layers=(int(stacks["encoder"]["num_layers"]),
                  int(stacks["decoder"]["num_layers"])),
      activation=shared["activation"],
      shared_softmax=bool(stacks["decoder"]["shared_softmax"]),
      num_buckets=int(shared["buckets"]),
      epsilon=float(lookup(bindings, "", "sublayer_rms_norm", "epsilon",
                           1e-6)),
      dropout_rate=float(dropout or 0.0), master_dtype=str(dtype),
      vocab_divisor=int(shared["vocab_divisor"]))


def _gin_value(value: Any) -> str:
  """A Python literal in gin: _gin_value(("gelu", "linear")) -> "['gelu', 'linear']"."""
  if isinstance(value, tuple):
    value = list(value)
  return repr(value)


def operative_config_text(shape: T5Shape, master_dtype: str = "float32",
                          vocab_divisor: int = 128,
                          note: Optional[str] = None) -> str:
  """The gin of a T5 of `shape` for `t5_mesh_transformer` (with eval.gin).

  The binary reads mesh_tensorflow's defaults.gin first; this file sets
  what differs. `MIXTURE_NAME` comes from the command line, as with any
  model directory.
  """
  activation = (shape.activation[0] if len(shape.activation) == 1
                else list(shape.activation))
  lines: List[str] = ["# A %s model, written by `wt5 convert --to mtf`." %
                      shape.layout]
  if note:
    lines.append("# %s" % note)
  lines += [
      "import mesh_tensorflow.transformer.transformer",
      "import mesh_tensorflow.transformer.transformer_layers",
      "import t5.models.mesh_transformer",
      "",
      "d_model = %d" % shape.d_model,
      "d_ff = %d" % shape.d_ff,
      "d_kv = %d" % shape.d_kv,
      "num_heads = %d" % shape.num_heads,
      "dropout_rate = %r" % shape.dropout_rate,
      "",
      "run.model_type = 'bitransformer'",
      "get_vocabulary.mixture_or_task_name = %MIXTURE_NAME",
      "get_variable_dtype.master_dtype = %r" % master_dtype,
      "Bitransformer.shared_embedding = True",
      "encoder/make_layer_stack.num_layers = %d" % shape.num_layers,
      "decoder/make_layer_stack.num_layers = %d" % shape.num_decoder_layers,
      "Unitransformer.d_model = %d_model",
      "Unitransformer.positional_embedding = False",
      "Unitransformer.shared_embedding_and_softmax_weights = %r" %
      shape.shared_softmax,
      "Unitransformer.vocab_divisor = %d" % vocab_divisor,
      "SelfAttention.num_heads = %num_heads",
      "SelfAttention.key_value_size = %d_kv",
      "SelfAttention.relative_attention_type = 'bias_shared'",
      "SelfAttention.relative_attention_num_buckets = %d" % shape.num_buckets,
      "EncDecAttention.relative_attention_type = None",
      "DenseReluDense.hidden_size = %d_ff",
      "DenseReluDense.activation = %s" % _gin_value(activation),
      "DenseReluDense.dropout_rate = %dropout_rate",
      "SelfAttention.dropout_rate = %dropout_rate",
      "sublayer_dropout.dropout_rate = %dropout_rate",
      "sublayer_rms_norm.epsilon = %r" % shape.epsilon,
      "",
  ]
  return "\n".join(lines)
