"""`wt5 convert`: one T5 model for both stacks, Mesh TensorFlow and Hugging Face.

    wt5 convert MTF_MODEL_DIR --output_dir DIR [--step N] [--vocab_model SPM]
    wt5 convert HF_MODEL_DIR --to mtf --output_dir MTF_MODEL_DIR [--step N]

The first reads a `t5_mesh_transformer` model directory (the checkpoint of
step N, default the newest, and `operative_config.gin` for the shape) and
writes `DIR/checkpoint-<N>/`, a Hugging Face `T5ForConditionalGeneration`
(safetensors; loads without TensorFlow) that `wt5 evaluate --model_dir DIR`
decodes and `wt5 train --model DIR/checkpoint-<N>` fine-tunes. The
SentencePiece model (`--vocab_model`, default `$WT5_VOCAB_MODEL`) is copied
into it as `spiece.model`; `wt5_conversion.json` records the source and the
vocabulary (T5's default on Cloud Storage is recorded, not copied).

The second writes `MTF_MODEL_DIR/model.ckpt-<N>` (every weight under its
Mesh TF name, and `global_step`) and an `operative_config.gin`, which
`t5_mesh_transformer` evaluates with `eval.gin` like any model directory.

Supported: T5 1.0 (`models/bi_v1.gin`: ReLU, output layer shared with the
input embedding, whose output Mesh TF scales by d_model**-0.5) and T5 1.1
(`models/t5.1.1.*.gin`: gated GELU, separate `decoder/logits`), any size.
Anything else (another activation, per-layer relative biases, positional
embeddings, a variable T5 does not have) is an error that names it.
"""

import dataclasses
import json
import math
import os
import re
import shutil
from typing import Any, Dict, List, Mapping, Optional, Tuple

from wt5 import vocab_setting
from wt5.formats import model_dir as model_dir_format
from wt5.mtf import checkpoint_names as names
from wt5.mtf import operative_gin
from wt5.mtf.checkpoint_names import T5Shape, UnsupportedModelError

RECORD = "wt5_conversion.json"
VOCAB_FILE = "spiece.model"
_MESH_CKPT_RE = re.compile(r"^model\.ckpt-(\d+)\.index$")


class ConvertError(ValueError):
  """A model directory that cannot be read or written as asked."""


# ---------------------------------------------------------------------------
# Mesh TF checkpoints.
# ---------------------------------------------------------------------------

def mesh_steps(model_dir: str) -> List[int]:
  """The steps of the Mesh TF checkpoints in `model_dir`: [15, 30]."""
  if not os.path.isdir(model_dir):
    return []
  return sorted(int(m.group(1)) for m in map(_MESH_CKPT_RE.match,
                                              os.listdir(model_dir)) if m)


def _pick_step(steps: List[int], step: Optional[int], where: str,
               what: str) -> int:
  if not steps:
    raise ConvertError("%s: %s" % (where, what))
  if step is None:
    return steps[-1]
  if step not in steps:
    raise ConvertError("%s has no checkpoint of step %d; steps: %s" % (
        where, step, ", ".join(map(str, steps))))
  return step


def read_mesh_checkpoint(path: str) -> Tuple[Dict[str, Any], Dict[str, str]]:
  """The model variables of a checkpoint as float32 arrays, and their dtypes.

  Optimizer slots and `global_step` are left out.
  """
  import numpy as np
  import tensorflow as tf

  reader = tf.train.load_checkpoint(path)
  dtypes = reader.get_variable_to_dtype_map()
  arrays, kinds = {}, {}
  for name in sorted(dtypes):
    if names.is_model_variable(name):
      arrays[name] = np.asarray(reader.get_tensor(name)).astype(np.float32)
      kinds[name] = dtypes[name].name
  return arrays, kinds


def write_mesh_checkpoint(variables: Mapping[str, Any], step: int,
                          model_dir: str, dtype: str) -> str:
  """Writes `model_dir/model.ckpt-<step>` (and the `checkpoint` file)."""
  import numpy as np
  import tensorflow as tf

  tf_dtype = {"float32": tf.float32, "bfloat16": tf.bfloat16}[dtype]
  os.makedirs(model_dir, exist_ok=True)
  v1 = tf.compat.v1
  with tf.Graph().as_default():
    feeds, var_list = {}, {}
    for name, value in variables.items():
      placeholder = v1.placeholder(tf.float32, value.shape)
      var_list[name] = v1.Variable(tf.cast(placeholder, tf_dtype),
                                   name=name.replace("/", "__"))
      feeds[placeholder] = np.asarray(value, np.float32)
    var_list["global_step"] = v1.Variable(np.int64(step), dtype=tf.int64,
                                          name="global_step")
    saver = v1.train.Saver(var_list=var_list, sharded=False)
    with v1.Session() as session:
      session.run(v1.global_variables_initializer(), feeds)
      return saver.save(session, os.path.join(model_dir, "model.ckpt"),
                        global_step=step, write_meta_graph=False)


def mesh_shape(config: operative_gin.ModelConfig,
               shapes: Mapping[str, Tuple[int, ...]]) -> T5Shape:
  """The T5Shape of a checkpoint's variable shapes and its operative config."""
  if "shared/embedding" not in shapes:
    raise UnsupportedModelError(
        "the checkpoint has no shared/embedding: not a T5 with one embedding "
        "shared by encoder and decoder")
  vocab_size, d_model = shapes["shared/embedding"]
  if config.d_model and config.d_model != d_model:
    raise UnsupportedModelError("d_model is %d in the gin but %d in the "
                                "checkpoint" % (config.d_model, d_model))
  layers = tuple(names.count_blocks(list(shapes), s)
                 for s in ("encoder", "decoder"))
  if layers != config.num_layers:
    raise UnsupportedModelError(
        "the gin says %d encoder / %d decoder layers, the checkpoint holds "
        "%d / %d" % (config.num_layers + layers))
  return T5Shape(
      vocab_size=vocab_size, d_model=d_model, d_ff=config.d_ff,
      d_kv=config.d_kv, num_heads=config.num_heads, num_layers=layers[0],
      num_decoder_layers=layers[1], activation=config.activation,
      shared_softmax=config.shared_softmax, num_buckets=config.num_buckets,
      epsilon=config.epsilon, dropout_rate=config.dropout_rate)


def mesh_to_hf(variables: Mapping[str, Any], shape: T5Shape
               ) -> Dict[str, Any]:
  """Hugging Face state (numpy) of Mesh TF variables; checks every shape.

  Raises UnsupportedModelError for a missing variable, a shape that does not
  fit, and a variable T5 does not have.
  """
  names.feed_forward_proj(shape.activation)  # Unsupported activations.
  state, left = {}, set(variables)
  for weight in names.weight_names(shape):
    if weight.mesh_name not in variables:
      raise UnsupportedModelError(
          "the checkpoint has no variable %s, which a %s of this shape has" % (
              weight.mesh_name, shape.layout))
    value = variables[weight.mesh_name]
    if (value.size != math.prod(weight.mesh_shape) or
        value.shape[0] != weight.mesh_shape[0]):
      raise UnsupportedModelError(
          "%s has shape %s; a %s with %d heads of d_kv %d, d_ff %d needs %s" %
          (weight.mesh_name, list(value.shape), shape.layout, shape.num_heads,
           shape.d_kv, shape.d_ff, list(weight.mesh_shape)))
    value = value.reshape(weight.mesh_shape)  # [d_model, heads, d_kv] too.
    state[weight.hf_name] = value.T.copy() if weight.transpose else value
    left.discard(weight.mesh_name)
  if left:
    raise UnsupportedModelError(
        "the checkpoint has variables a %s does not have: %s" % (
            shape.layout, ", ".join(sorted(left)[:5])))
  return state


def hf_to_mesh(state: Mapping[str, Any], shape: T5Shape) -> Dict[str, Any]:
  """Mesh TF variables (numpy) of a Hugging Face state."""
  variables = {}
  for weight in names.weight_names(shape):
    if weight.hf_name not in state:
      raise UnsupportedModelError("the model has no %s" % weight.hf_name)
    value = state[weight.hf_name]
    value = value.T if weight.transpose else value
    if tuple(value.shape) != weight.mesh_shape:
      raise UnsupportedModelError("%s has shape %s, expected %s" % (
          weight.hf_name, list(state[weight.hf_name].shape),
          list(weight.mesh_shape)))
    variables[weight.mesh_name] = value.copy()
  return variables


# ---------------------------------------------------------------------------
# Hugging Face directories.
# ---------------------------------------------------------------------------

def write_hf(state: Mapping[str, Any], shape: T5Shape, out_dir: str) -> None:
  """Saves a `T5ForConditionalGeneration` (safetensors) with these weights."""
  import torch
  import transformers

  config = transformers.T5Config(**names.hf_config_kwargs(shape))
  model = transformers.T5ForConditionalGeneration(config)
  tensors = {k: torch.from_numpy(v) for k, v in state.items()}
  if "lm_head.weight" in tensors:  # T5 1.1: its own output layer.
    model.lm_head.weight = torch.nn.Parameter(tensors.pop("lm_head.weight"))
  missing, unexpected = model.load_state_dict(tensors, strict=False)
  missing = [k for k in missing if k not in (
      "lm_head.weight", "encoder.embed_tokens.weight",
      "decoder.embed_tokens.weight")]
  if missing or unexpected:
    raise ConvertError("internal: weights missing %s, unexpected %s" % (
        missing, unexpected))
  model.save_pretrained(out_dir)


def read_hf(model_dir: str) -> Tuple[T5Shape, Dict[str, Any]]:
  """The shape and the state (numpy float32) of a Hugging Face T5 directory.

  A separate output layer of a model that also scales its decoder output
  (Hugging Face's tied-embedding convention) gets the scale folded in.
  """
  import torch
  import transformers

  with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
    config = json.load(f)
  shape = names.shape_from_hf_config(config)
  model = transformers.T5ForConditionalGeneration.from_pretrained(model_dir)
  state = {k: v.detach().to(torch.float32).numpy()
           for k, v in model.state_dict().items()}
  separate = not torch.equal(model.lm_head.weight, model.shared.weight)
  if shape.shared_softmax and separate:
    state["lm_head.weight"] = state["lm_head.weight"] * shape.d_model ** -0.5
  if separate or not shape.shared_softmax:
    shape = dataclasses.replace(shape, shared_softmax=False)
  else:
    state.pop("lm_head.weight", None)
  return shape, state


def hf_checkpoint_dir(path: str, step: Optional[int]) -> Tuple[str, Optional[int]]:
  """A model directory itself, or its `checkpoint-<step>` (default newest)."""
  if model_dir_format.is_checkpoint_dir(path):
    return path, step if step is not None else (
        model_dir_format.checkpoint_step(path))
  model_dir = model_dir_format.ModelDir(path)
  chosen = _pick_step(model_dir.steps(), step, path, "no Hugging Face model "
                      "here (no config.json, no checkpoint-<step>/config.json)")
  return model_dir.checkpoint_path(chosen), chosen


# ---------------------------------------------------------------------------
# The two directions.
# ---------------------------------------------------------------------------

def to_hf(model_dir: str, output_dir: str, step: Optional[int] = None,
          vocab_model: Optional[str] = None) -> Tuple[str, T5Shape]:
  """Converts a Mesh TF model directory; returns DIR/checkpoint-<step>."""
  if model_dir_format.is_checkpoint_dir(model_dir):
    raise ConvertError("%s is a Hugging Face model directory; to write a "
                       "Mesh TF checkpoint add --to mtf" % model_dir)
  if not os.path.isdir(model_dir):
    raise ConvertError("%s: no such directory" % model_dir)
  step = _pick_step(mesh_steps(model_dir), step, model_dir,
                    "no Mesh TF checkpoint (model.ckpt-<step>.index) here")
  gin_path = os.path.join(model_dir, "operative_config.gin")
  if not os.path.isfile(gin_path):
    raise ConvertError("%s: no operative_config.gin, which records the "
                       "model's shape (t5_mesh_transformer writes it when it "
                       "trains)" % model_dir)
  with open(gin_path, encoding="utf-8") as f:
    config = operative_gin.read_model_config(f.read(), gin_path)
  ckpt = os.path.join(model_dir, "model.ckpt-%d" % step)
  variables, dtypes = read_mesh_checkpoint(ckpt)
  shape = mesh_shape(config, {k: tuple(v.shape) for k, v in variables.items()})
  state = mesh_to_hf(variables, shape)
  out = model_dir_format.ModelDir(output_dir).checkpoint_path(step)
  write_hf(state, shape, out)
  vocab = vocab_model or vocab_setting.vocab_model_path(os.environ)
  if not vocab.startswith("gs://"):
    if not os.path.isfile(vocab):
      raise ConvertError("the vocabulary %s does not exist" % vocab)
    shutil.copyfile(vocab, os.path.join(out, VOCAB_FILE))
    vocab = os.path.abspath(vocab)
  record = {"source": os.path.abspath(ckpt), "step": step,
            "layout": shape.layout,
            "mesh_dtype": sorted(set(dtypes.values())),
            "vocab_divisor": config.vocab_divisor,
            "vocabulary": vocab}
  with open(os.path.join(out, RECORD), "w", encoding="utf-8") as f:
    json.dump(record, f, indent=1)
  return out, shape


def to_mesh(hf_dir: str, output_dir: str, step: Optional[int] = None,
            dtype: Optional[str] = None) -> Tuple[str, T5Shape]:
  """Converts a Hugging Face T5 directory; returns the checkpoint prefix."""
  if not os.path.isdir(hf_dir):
    raise ConvertError("%s: no such directory" % hf_dir)
  path, step = hf_checkpoint_dir(hf_dir, step)
  record: Dict[str, Any] = {}
  if os.path.isfile(os.path.join(path, RECORD)):
    with open(os.path.join(path, RECORD), encoding="utf-8") as f:
      record = json.load(f)
  if step is None:
    step = record.get("step")
  if not step or step < 1:
    raise ConvertError("%s: give --step N (at least 1): the Mesh TF "
                       "checkpoint is named by its step" % path)
  if mesh_steps(output_dir):
    raise ConvertError("%s already holds Mesh TF checkpoints (steps %s); "
                       "write into a new directory" % (
                           output_dir, ", ".join(map(str, mesh_steps(
                               output_dir)))))
  shape, state = read_hf(path)
  variables = hf_to_mesh(state, shape)
  recorded = record.get("mesh_dtype") or []
  dtype = dtype or (recorded[0] if len(recorded) == 1 else "float32")
  divisor = record.get("vocab_divisor") or (
      128 if shape.vocab_size % 128 == 0 else 1)
  prefix = write_mesh_checkpoint(variables, step, output_dir, dtype)
  note = ("Converted from %s. The vocabulary must have %s ids." % (
      os.path.abspath(path),
      "%d" % shape.vocab_size if divisor == 1 else
      "at most %d (padded to a multiple of %d)" % (shape.vocab_size, divisor)))
  with open(os.path.join(output_dir, "operative_config.gin"), "w",
            encoding="utf-8") as f:
    f.write(operative_gin.operative_config_text(shape, dtype, divisor, note))
  if os.path.isfile(os.path.join(path, VOCAB_FILE)):
    shutil.copyfile(os.path.join(path, VOCAB_FILE),
                    os.path.join(output_dir, VOCAB_FILE))
  return prefix, shape


# ---------------------------------------------------------------------------
# `wt5 convert`
# ---------------------------------------------------------------------------

def describe(shape: T5Shape) -> str:
  """describe(T5Shape(640, 64, 256, 16, 4, 1, 1)) -> "T5 1.0: d_model 64, ..."."""
  return ("%s: d_model %d, d_ff %d, %d heads of %d, %d+%d layers, %d "
          "embedding rows" % (shape.layout, shape.d_model, shape.d_ff,
                              shape.num_heads, shape.d_kv, shape.num_layers,
                              shape.num_decoder_layers, shape.vocab_size))
