"""`wt5 convert`: one model, both stacks, the same predictions.

Mesh TF -> Hugging Face: the demo's T5 1.0 model (`demo_run`, trained by
`t5_mesh_transformer`) and a T5 1.1 model (gated GELU, separate output
layer) trained here by the same binary are converted, decoded greedily by
`wt5 evaluate` on the exported validation inputs, and compared with the
binary's own `<task>_<step>_predictions` and logged metrics: every
prediction identical but for greedy ties (judged where the two decodes
part), the metrics equal to the binary's logging precision once the tied
examples take the binary's predictions, every model clearly above chance.

Hugging Face -> Mesh TF: a T5 1.0 trained from scratch by `wt5 train` and
the converted T5 1.1 fine-tuned by `wt5 train` are converted back and
evaluated by the binary (`eval.gin`, greedy), which must write the
predictions `wt5 evaluate` wrote. Mesh TF -> Hugging Face -> Mesh TF gives
the same variables, dtypes included. Unsupported shapes, activations and
variables, and directories without a checkpoint, get errors that name them.

The binary's `eval.gin` decodes up to 128 tokens
(`Bitransformer.decode.max_decode_length`), so the export has targets
length 128 and `wt5 evaluate` decodes as far.
"""

import ast
import dataclasses
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import demo_registry as demo_registry_lib
import no_tensorflow
from wt5 import answers
from wt5 import cli
from wt5.export import export_command as export
from wt5.formats import export as export_files
from wt5.model_shapes import SHAPES
from wt5.mtf import binary as mtf_binary
from wt5.mtf import checkpoint_names as names
from wt5.mtf import convert
from wt5.mtf import operative_gin
from wt5.pytorch import decoding
from wt5.pytorch import evaluate as evaluate_lib
from wt5.pytorch import train as train_lib
from wt5.scoring import eval_dir as scoring

V10_MIXTURE = "esnli_mnli_all_explanations"
TASK = "esnli_v010"
# The T5 1.1 trained here by the binary, not seeded: 33 to 70% accuracy at
# 30 steps, 53 to 100% at 60, 97 to 100% at 100.
STEP = 100
V10_STEP = demo_registry_lib.DEMO_STEPS  # the demo's T5 1.0
# Chance is 33.3% on e-SNLI and MNLI; the compared models must do clearly
# better (2.5 standard deviations of a guesser's accuracy on 100 examples),
# so that agreeing predictions mean something.
ABOVE_CHANCE = 45.0
LENGTHS = {"inputs": 128, "targets": 128}
# Two logits closer than this are a greedy tie: float32 sums in another
# order (TensorFlow's, torch's) differ by about 1e-6 or less here.
TIE = 1e-3
# The binary logs its metrics with three decimals.
LOGGED_ROUNDING = 5e-4
TINY = names.T5Shape(vocab_size=256, d_model=8, d_ff=16, d_kv=4, num_heads=2,
                     num_layers=2, num_decoder_layers=2)


# ---------------------------------------------------------------------------
# Helpers.
# ---------------------------------------------------------------------------

def prediction_lines(eval_dir, task, step):
  with open(os.path.join(eval_dir, "%s_%d_predictions" % (task, step)),
            encoding="utf-8") as f:
    return f.read().splitlines()


def agreement(binary_dir, hf_dir, task, binary_step, hf_step):
  """(identical, total, [(index, binary line, hf line)]) of two eval dirs."""
  ours = prediction_lines(binary_dir, task, binary_step)
  theirs = prediction_lines(hf_dir, task, hf_step)
  assert len(ours) == len(theirs)
  differ = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
  return len(ours) - len(differ), len(ours), differ


def decoded_text(line):
  """The decoded text behind a prediction line of an abstractive task:
  `abstractive_explanations` splits it at the separator, joining restores it.

  decoded_text("{'label': 'neutral', 'explanations': ['A.']}")
  -> "neutral explanation: A."
  """
  value = ast.literal_eval(line)
  return answers.EXPLANATION_SEPARATOR.join(
      [value["label"]] + list(value["explanations"]))


def first_divergence(model, processor, inputs, text):
  """Where PyTorch's greedy decode of `inputs` first leaves `text`.

  (step, gap): the first decoding step whose token PyTorch picks makes its
  text stop being a prefix of `text` (or ends it early or late), and there
  its logit minus the best logit of a token that continues `text` from the
  same prefix; None when PyTorch decodes `text` itself.
  """
  import torch
  ids = torch.tensor([inputs])
  with torch.no_grad():
    out = model.eval().generate(
        input_ids=ids, attention_mask=torch.ones_like(ids),
        max_new_tokens=LENGTHS["targets"], do_sample=False, num_beams=1,
        output_scores=True, return_dict_in_generate=True)
  greedy = out.sequences[0, 1:].tolist()
  eos = model.config.eos_token_id

  def continues(prefix, token):
    if token == eos:
      return decoding.decode_ids(processor, prefix) == text
    return text.startswith(decoding.decode_ids(processor, prefix + [token]))

  for step, token in enumerate(greedy):
    prefix = greedy[:step]
    if continues(prefix, token):
      continue
    logits = out.scores[step][0]
    best = max(float(logits[t]) for t in range(logits.shape[0])
               if continues(prefix, t))
    return step, float(logits[token]) - best
  return None


def rescored(hf_eval_dir, task, step, lines, root):
  """wt5 score's metrics of `task` with these prediction lines instead."""
  eval_dir = os.path.join(root, "rescored_%s_%d" % (task, step))
  os.makedirs(eval_dir)
  for kind in ("inputs", "targets"):
    shutil.copy(os.path.join(hf_eval_dir, "%s_%s" % (task, kind)), eval_dir)
  with open(os.path.join(eval_dir, "%s_%d_predictions" % (task, step)), "w",
            encoding="utf-8") as f:
    f.write("".join(line + "\n" for line in lines))
  report = scoring.score_eval_dir(eval_dir, tasks=[task], eraser=False)
  assert report.problems == [], report.problems
  return {s.metric: s.value for s in report.scores}


def assert_agree(binary_dir, hf_model_dir, tasks, binary_step, hf_step,
                 binary_metrics, hf_metrics, label, export_dir, vocab_model):
  """Every prediction identical but for greedy ties; the metrics equal.

  A differing prediction must be a tie where the two decodes part: at the
  first step where PyTorch's greedy token leaves the binary's decoded text,
  PyTorch's token and the best token continuing the binary's text have
  logits within TIE (PyTorch's logits: t5_mesh_transformer's eval files
  hold no scores). The metrics of `wt5 evaluate` equal the binary's logged
  ones to their rounding, once the tied examples take the binary's
  predictions (re-scored by `wt5 score`): ties move them by exactly that.
  """
  import transformers
  hf_dir = os.path.join(hf_model_dir, "validation_eval")
  checkpoint = os.path.join(hf_model_dir, "checkpoint-%d" % hf_step)
  processor = decoding.sentencepiece_processor(vocab_model)
  for task in tasks:
    same, total, differ = agreement(binary_dir, hf_dir, task, binary_step,
                                    hf_step)
    print("%s %s: %d/%d identical predictions; binary %s, Hugging Face %s" % (
        label, task, same, total,
        {k: round(v, 3) for k, v in binary_metrics[task].items()},
        {k: round(v, 3) for k, v in hf_metrics[task].items()}))
    assert binary_metrics[task]["accuracy"] >= ABOVE_CHANCE, (
        label, task, binary_metrics[task])
    metrics = hf_metrics[task]
    if differ:
      model = transformers.T5ForConditionalGeneration.from_pretrained(
          checkpoint)
      examples = export_files.read_split(export_dir, "validation", task)
      lines = prediction_lines(hf_dir, task, hf_step)
      for index, ours, theirs in differ:
        parted = first_divergence(model, processor, examples[index]["inputs"],
                                  decoded_text(ours))
        assert parted is not None, (label, task, index, ours, theirs)
        step, gap = parted
        print("  example %d: binary %s, PyTorch %s; at step %d PyTorch's "
              "token leads the binary's by %.2g" % (index, ours, theirs,
                                                    step, gap))
        assert gap < TIE, (label, task, index, ours, theirs, step, gap)
        lines[index] = ours
      metrics = rescored(hf_dir, task, hf_step, lines, hf_model_dir)
    assert sorted(binary_metrics[task]) == sorted(metrics)
    for metric, value in binary_metrics[task].items():
      assert abs(metrics[metric] - value) <= LOGGED_ROUNDING, (
          label, task, metric, metrics[metric], value)


def binary_eval(mixture, model_dir, data_dir, vocab_model, log):
  """Evaluates every checkpoint of `model_dir` with the binary; its metrics."""
  settings = mtf_binary.RunSettings(data_dir=data_dir, model=SHAPES["tiny"],
                                    sequence_length=LENGTHS)
  command = mtf_binary.eval_command(mtf_binary.find_binary(), mixture,
                                    model_dir, settings)
  mtf_binary.run_or_raise(command, {"WT5_VOCAB_MODEL": vocab_model}, log,
                          lambda line: None, "evaluating " + model_dir)
  return mtf_binary.read_logged_metrics(log)


def at_step(metrics, step):
  """{task: {metric: value}} at one step of the binary's logged metrics."""
  return {task: {m: by_step[step] for m, by_step in values.items()}
          for task, values in metrics.items()}


def raw_variables(checkpoint):
  """{name: (dtype name, float32 values)} of a checkpoint's model variables."""
  import tensorflow as tf
  reader = tf.train.load_checkpoint(checkpoint)
  return {name: (dtype.name, np.asarray(reader.get_tensor(name)).astype(
      np.float32)) for name, dtype in reader.get_variable_to_dtype_map().items()
          if names.is_model_variable(name)}


def write_fake_model(model_dir, shape, gin_text=None, drop=(), extra=None):
  """A Mesh TF model directory with random weights of `shape` at step 5."""
  rng = np.random.default_rng(0)
  variables = {w.mesh_name: rng.standard_normal(w.mesh_shape).astype(
      np.float32) for w in names.weight_names(shape)
               if w.mesh_name not in drop}
  variables.update(extra or {})
  convert.write_mesh_checkpoint(variables, 5, str(model_dir), "float32")
  (model_dir / "operative_config.gin").write_text(
      gin_text or operative_gin.operative_config_text(shape))
  return variables


# ---------------------------------------------------------------------------
# Pure parts: names, shapes, the gin.
# ---------------------------------------------------------------------------

def test_weight_names_of_a_two_layer_t5_1_0():
  weights = names.weight_names(TINY)
  assert [(w.mesh_name, w.hf_name, w.mesh_shape, w.transpose)
          for w in weights[:8]] == [
              ("shared/embedding", "shared.weight", (256, 8), False),
              ("encoder/block_000/layer_000/rms_norm/scale",
               "encoder.block.0.layer.0.layer_norm.weight", (8,), False),
              ("encoder/block_000/layer_000/SelfAttention/q",
               "encoder.block.0.layer.0.SelfAttention.q.weight", (8, 8), True),
              ("encoder/block_000/layer_000/SelfAttention/k",
               "encoder.block.0.layer.0.SelfAttention.k.weight", (8, 8), True),
              ("encoder/block_000/layer_000/SelfAttention/v",
               "encoder.block.0.layer.0.SelfAttention.v.weight", (8, 8), True),
              ("encoder/block_000/layer_000/SelfAttention/o",
               "encoder.block.0.layer.0.SelfAttention.o.weight", (8, 8), True),
              ("encoder/block_000/layer_000/SelfAttention/relative_attention_bias",
               "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
               (2, 32), True),
              ("encoder/block_000/layer_001/rms_norm/scale",
               "encoder.block.0.layer.1.layer_norm.weight", (8,), False)]
  mesh = [w.mesh_name for w in weights]
  assert [n for n in mesh if "relative_attention_bias" in n] == [
      "encoder/block_000/layer_000/SelfAttention/relative_attention_bias",
      "decoder/block_000/layer_000/SelfAttention/relative_attention_bias"]
  assert "decoder/block_001/layer_002/DenseReluDense/wi/kernel" in mesh
  assert mesh[-2:] == ["decoder/block_001/layer_002/DenseReluDense/wo/kernel",
                       "decoder/rms_norm/scale"]
  # Embedding; per encoder block 2 norms, q k v o, wi wo; per decoder block
  # 3 norms, 2 x q k v o, wi wo; 2 relative biases; 2 final norms.
  assert len(weights) == 1 + 2 * 8 + 2 * 13 + 2 + 2
  v11 = names.weight_names(dataclasses.replace(
      TINY, activation=("gelu", "linear"), shared_softmax=False))
  assert [(w.mesh_name, w.hf_name, w.mesh_shape) for w in v11
          if "DenseReluDense" in w.mesh_name][:3] == [
              ("encoder/block_000/layer_001/DenseReluDense/wi_0/kernel",
               "encoder.block.0.layer.1.DenseReluDense.wi_0.weight", (8, 16)),
              ("encoder/block_000/layer_001/DenseReluDense/wi_1/kernel",
               "encoder.block.0.layer.1.DenseReluDense.wi_1.weight", (8, 16)),
              ("encoder/block_000/layer_001/DenseReluDense/wo/kernel",
               "encoder.block.0.layer.1.DenseReluDense.wo.weight", (16, 8))]
  assert (v11[-1].mesh_name, v11[-1].hf_name, v11[-1].mesh_shape) == (
      "decoder/logits/kernel", "lm_head.weight", (8, 256))


def test_activations_and_hugging_face_configs():
  assert names.feed_forward_proj(["gelu", "linear"]) == "gated-gelu"
  assert names.feed_forward_proj(["relu"]) == "relu"
  assert names.mesh_activation(True, "gelu_new") == ("gelu", "linear")
  with pytest.raises(names.UnsupportedModelError, match=(
      r"DenseReluDense.activation = 'swish' is not supported; supported: "
      r"'relu', 'gelu', \['relu', 'linear'\], \['gelu', 'linear'\]")):
    names.feed_forward_proj(["swish"])
  with pytest.raises(names.UnsupportedModelError, match=(
      r"the Hugging Face activation 'gelu' has no Mesh TF equivalent")):
    names.shape_from_hf_config({"vocab_size": 8, "d_model": 4, "d_ff": 8,
                                "d_kv": 2, "num_heads": 2,
                                "feed_forward_proj": "gelu"})
  with pytest.raises(names.UnsupportedModelError, match=(
      r"decoder_start_token_id = 2 is not supported: Mesh TF's T5 uses 0")):
    names.shape_from_hf_config({"vocab_size": 8, "d_model": 4, "d_ff": 8,
                                "d_kv": 2, "num_heads": 2,
                                "decoder_start_token_id": 2})
  kwargs = names.hf_config_kwargs(TINY)
  assert {k: kwargs[k] for k in ("feed_forward_proj", "tie_word_embeddings",
                                 "pad_token_id", "eos_token_id",
                                 "decoder_start_token_id",
                                 "relative_attention_max_distance")} == {
      "feed_forward_proj": "relu", "tie_word_embeddings": True,
      "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
      "relative_attention_max_distance": 128}


def test_written_gin_reads_back_as_the_same_model():
  for shape in (TINY, dataclasses.replace(
      TINY, activation=("gelu", "linear"), shared_softmax=False,
      dropout_rate=0.0)):
    text = operative_gin.operative_config_text(shape, "bfloat16", 1)
    config = operative_gin.read_model_config(text)
    assert config == operative_gin.ModelConfig(
        num_heads=2, d_kv=4, d_ff=16, d_model=8, num_layers=(2, 2),
        activation=shape.activation, shared_softmax=shape.shared_softmax,
        num_buckets=32, epsilon=1e-6, dropout_rate=shape.dropout_rate,
        master_dtype="bfloat16", vocab_divisor=1)
  bindings = operative_gin.read_bindings(
      "d_ff = 256\nencoder/DenseReluDense.hidden_size = %d_ff\n"
      "decoder/LayerStack.sublayers_initial = [@transformer.sublayer_dropout]")
  assert bindings == {
      ("", "d_ff", ""): 256,
      ("encoder", "DenseReluDense", "hidden_size"): operative_gin.Macro("d_ff"),
      ("decoder", "LayerStack", "sublayers_initial"): [
          operative_gin.Reference("transformer.sublayer_dropout")]}
  assert operative_gin.lookup(bindings, "encoder", "DenseReluDense",
                              "hidden_size") == 256
  assert operative_gin.lookup(bindings, "decoder", "LayerStack",
                              "sublayers_initial") == ["sublayer_dropout"]


@pytest.mark.parametrize("binding,message", [
    ("DenseReluDense.activation = 'swish'",
     r"DenseReluDense.activation = 'swish' is not supported"),
    ("SelfAttention.relative_attention_type = 'bias'",
     r"encoder/SelfAttention.relative_attention_type = 'bias' is not "
     r"supported: Hugging Face T5 has one relative attention bias per stack"),
    ("decoder/DenseReluDense.hidden_size = 32",
     r"d_ff differs between the stacks \(encoder: 16, decoder: 32\)"),
    ("Unitransformer.positional_embedding = True",
     r"encoder/Unitransformer.positional_embedding = True is not supported"),
    ("decoder/make_layer_stack.layers = [@SelfAttention, @DenseReluDense]",
     r"decoder/make_layer_stack.layers = \['SelfAttention', "
     r"'DenseReluDense'\] is not supported"),
])
def test_unsupported_bindings_are_named(tmp_path, binding, message):
  write_fake_model(tmp_path, TINY, operative_gin.operative_config_text(TINY) +
                   binding + "\n")
  with pytest.raises(names.UnsupportedModelError, match=message):
    convert.to_hf(str(tmp_path), str(tmp_path / "hf"))


def test_checkpoints_that_do_not_fit_are_named(tmp_path):
  heads = operative_gin.operative_config_text(TINY).replace(
      "num_heads = 2", "num_heads = 3")
  write_fake_model(tmp_path / "heads", TINY, heads)
  with pytest.raises(names.UnsupportedModelError, match=(
      r"encoder/block_000/layer_000/SelfAttention/q has shape \[8, 8\]; a "
      r"T5 1.0 with 3 heads of d_kv 4, d_ff 16 needs \[8, 12\]")):
    convert.to_hf(str(tmp_path / "heads"), str(tmp_path / "hf"))
  write_fake_model(tmp_path / "missing", TINY, drop=["decoder/rms_norm/scale"])
  with pytest.raises(names.UnsupportedModelError, match=(
      r"the checkpoint has no variable decoder/rms_norm/scale, which a T5 1.0 "
      r"of this shape has")):
    convert.to_hf(str(tmp_path / "missing"), str(tmp_path / "hf"))
  write_fake_model(tmp_path / "extra", TINY, extra={
      "encoder/block_001/layer_000/SelfAttention/relative_attention_bias":
          np.zeros((2, 32), np.float32)})
  with pytest.raises(names.UnsupportedModelError, match=(
      r"the checkpoint has variables a T5 1.0 does not have: "
      r"encoder/block_001/layer_000/SelfAttention/relative_attention_bias")):
    convert.to_hf(str(tmp_path / "extra"), str(tmp_path / "hf"))


def test_directories_without_a_checkpoint_are_clear_errors(tmp_path, capsys):
  (tmp_path / "empty").mkdir()
  assert cli.main(["convert", str(tmp_path / "empty"), "--output_dir",
                   str(tmp_path / "hf")]) == 2
  assert capsys.readouterr().err == (
      "wt5 convert: error: %s: no Mesh TF checkpoint (model.ckpt-<step>.index)"
      " here\n" % (tmp_path / "empty"))
  assert cli.main(["convert", str(tmp_path / "empty"), "--to", "mtf",
                   "--output_dir", str(tmp_path / "m")]) == 2
  assert capsys.readouterr().err == (
      "wt5 convert: error: %s: no Hugging Face model here (no config.json, no "
      "checkpoint-<step>/config.json)\n" % (tmp_path / "empty"))
  write_fake_model(tmp_path / "nogin", TINY)
  os.remove(tmp_path / "nogin" / "operative_config.gin")
  with pytest.raises(convert.ConvertError, match=(
      r"nogin: no operative_config.gin, which records the model's shape")):
    convert.to_hf(str(tmp_path / "nogin"), str(tmp_path / "hf"))
  with pytest.raises(convert.ConvertError, match=(
      r"nogin has no checkpoint of step 7; steps: 5")):
    convert.to_hf(str(tmp_path / "nogin"), str(tmp_path / "hf"), step=7)


@pytest.mark.slow
def test_fake_model_round_trip_and_hugging_face_dir_is_not_mesh(tmp_path):
  """Random weights, T5 1.1: Mesh TF -> HF -> Mesh TF keeps every value."""
  shape = dataclasses.replace(TINY, activation=("gelu", "linear"),
                              shared_softmax=False)
  write_fake_model(tmp_path / "m", shape)
  out, converted = convert.to_hf(str(tmp_path / "m"), str(tmp_path / "hf"))
  assert converted == shape
  assert out == str(tmp_path / "hf" / "checkpoint-5")
  with pytest.raises(convert.ConvertError, match=(
      r"checkpoint-5 is a Hugging Face model directory; to write a Mesh TF "
      r"checkpoint add --to mtf")):
    convert.to_hf(out, str(tmp_path / "x"))
  convert.to_mesh(str(tmp_path / "hf"), str(tmp_path / "back"))
  before = raw_variables(str(tmp_path / "m" / "model.ckpt-5"))
  after = raw_variables(str(tmp_path / "back" / "model.ckpt-5"))
  assert sorted(before) == sorted(after)
  for name, (dtype, value) in before.items():
    assert after[name][0] == dtype, name
    assert np.array_equal(after[name][1], value), name


@pytest.mark.slow
def test_separate_output_layer_of_a_scaling_model_gets_the_scale_folded_in(
    tmp_path):
  """A Hugging Face T5 that scales its decoder output (T5 1.0's convention)
  but has its own output layer computes the same logits after
  HF -> Mesh TF -> HF, where the scale sits in decoder/logits/kernel."""
  import torch
  import transformers
  torch.manual_seed(0)
  model = transformers.T5ForConditionalGeneration(
      transformers.T5Config(**names.hf_config_kwargs(TINY)))
  model.lm_head.weight = torch.nn.Parameter(torch.randn(256, 8))
  model.save_pretrained(str(tmp_path / "hf" / "checkpoint-3"))
  prefix, shape = convert.to_mesh(str(tmp_path / "hf"), str(tmp_path / "m"))
  assert (shape.layout, prefix) == ("T5 (relu, separate softmax)",
                                    str(tmp_path / "m" / "model.ckpt-3"))
  kernel = raw_variables(prefix)["decoder/logits/kernel"]
  assert kernel[0] == "float32"
  np.testing.assert_allclose(
      kernel[1], model.lm_head.weight.detach().numpy().T * 8 ** -0.5,
      rtol=1e-6)
  out, _ = convert.to_hf(str(tmp_path / "m"), str(tmp_path / "back"))
  back = transformers.T5ForConditionalGeneration.from_pretrained(out)
  assert not back.config.scale_decoder_outputs
  ids = torch.tensor([[5, 9, 17, 1]])
  with torch.no_grad():
    want = model.eval()(input_ids=ids, decoder_input_ids=ids).logits
    got = back.eval()(input_ids=ids, decoder_input_ids=ids).logits
  np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_first_divergence_is_judged_where_the_decodes_part(small_vocab):
  import torch
  from wt5.pytorch import model as model_lib
  # A seed whose random model decodes words (many decode only padding).
  model = model_lib.load_model("tiny", 600, dropout_rate=0.0, seed=8)[0]
  processor = decoding.sentencepiece_processor(small_vocab)
  inputs = processor.EncodeAsIds("explain nli premise: A dog runs.") + [1]
  with torch.no_grad():
    greedy = model.eval().generate(
        input_ids=torch.tensor([inputs]), max_new_tokens=LENGTHS["targets"],
        do_sample=False, num_beams=1)[0, 1:].tolist()
  text = decoding.decode_ids(processor, greedy)
  assert first_divergence(model, processor, inputs, text) is None
  # Another decode: PyTorch's first token, then its second best one.
  with torch.no_grad():
    logits = model(input_ids=torch.tensor([inputs]),
                   decoder_input_ids=torch.tensor([[0, greedy[0]]])).logits
  (best, second), (token, other) = torch.topk(logits[0, 1], 2)
  assert int(token) == greedy[1]
  other_text = decoding.decode_ids(processor, [greedy[0], int(other), 1])
  step, gap = first_divergence(model, processor, inputs, other_text)
  assert step == 1
  assert gap == pytest.approx(float(best - second), abs=1e-5)
  assert gap > 0


# ---------------------------------------------------------------------------
# Real models: the binary's predictions against `wt5 evaluate`'s.
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(demo_run, tmp_path_factory):
  """The demo's data, vocabulary, T5 1.0 result, and the validation and
  training exports (targets length 128, as the binary decodes)."""
  output_dir, results, _ = demo_run
  root = tmp_path_factory.mktemp("convert")
  data_dir = os.path.join(output_dir, "data")
  vocab_model = os.path.join(output_dir, "vocab", "wt5_demo.model")
  with demo_registry_lib.registered(data_dir, vocab_model):
    export.export(V10_MIXTURE, "validation", str(root / "export"), LENGTHS,
                  data_dir=data_dir)
    export.export(TASK, "train", str(root / "train"), LENGTHS,
                  num_examples=640, data_dir=data_dir)
  return {"root": root, "data_dir": data_dir, "vocab": vocab_model,
          "v10": results[V10_MIXTURE], "export": str(root / "export"),
          "train": str(root / "train")}


def hf_evaluate(model_dir, demo, tasks, step):
  """`wt5 evaluate` of one step: {task: {metric: value}}."""
  results = evaluate_lib.evaluate(model_dir, demo["export"], steps=[step],
                                  tasks=tasks, out=io.StringIO())
  return {task: by_step[step] for task, by_step in results.items()}


@pytest.fixture(scope="module")
def v10(demo):
  """The demo's T5 1.0 (last step) converted and decoded by `wt5 evaluate`."""
  hf_dir = str(demo["root"] / "v10_hf")
  out, shape = convert.to_hf(demo["v10"].model_dir, hf_dir,
                             vocab_model=demo["vocab"])
  return {"hf_dir": hf_dir, "checkpoint": out, "shape": shape,
          "metrics": hf_evaluate(hf_dir, demo, demo["v10"].eval_tasks,
                                 V10_STEP)}


@pytest.fixture(scope="module")
def v11(demo):
  """A T5 1.1 trained and evaluated by the binary, converted, decoded."""
  model_dir = str(demo["root"] / "v11_mtf")
  settings = mtf_binary.RunSettings(
      data_dir=demo["data_dir"], model=SHAPES["tiny"], steps=STEP,
      checkpoints=1, tokens_per_batch=1024)
  command = [("--gin_file=models/t5.1.1.base.gin"
              if arg == "--gin_file=models/bi_v1.gin" else arg)
             for arg in mtf_binary.train_command(
                 mtf_binary.find_binary(), TASK, model_dir, settings)]
  assert "--gin_file=models/t5.1.1.base.gin" in command
  mtf_binary.run_or_raise(command, {"WT5_VOCAB_MODEL": demo["vocab"]},
                          model_dir + ".train.log", lambda line: None,
                          "training a T5 1.1")
  binary_metrics = binary_eval(TASK, model_dir, demo["data_dir"],
                               demo["vocab"], model_dir + ".eval.log")
  hf_dir = str(demo["root"] / "v11_hf")
  out, shape = convert.to_hf(model_dir, hf_dir, vocab_model=demo["vocab"])
  return {"model_dir": model_dir, "hf_dir": hf_dir, "checkpoint": out,
          "shape": shape, "binary_metrics": at_step(binary_metrics, STEP),
          "metrics": hf_evaluate(hf_dir, demo, [TASK], STEP)}


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_t5_1_0_from_the_binary_decodes_the_same_in_pytorch(demo, v10):
  assert v10["shape"].layout == "T5 1.0"
  assert v10["checkpoint"] == os.path.join(v10["hf_dir"],
                                           "checkpoint-%d" % V10_STEP)
  assert sorted(os.listdir(v10["checkpoint"])) == [
      "config.json", "generation_config.json", "model.safetensors",
      "spiece.model", "wt5_conversion.json"]
  result = demo["v10"]
  assert_agree(os.path.join(result.model_dir, "validation_eval"),
               v10["hf_dir"], result.eval_tasks, V10_STEP, V10_STEP,
               at_step(result.metrics, V10_STEP), v10["metrics"],
               "T5 1.0 Mesh TF -> HF", demo["export"], demo["vocab"])


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_t5_1_1_from_the_binary_decodes_the_same_in_pytorch(demo, v11):
  assert v11["shape"].layout == "T5 1.1"
  assert v11["shape"].gated and not v11["shape"].shared_softmax
  assert_agree(os.path.join(v11["model_dir"], "validation_eval"),
               v11["hf_dir"], [TASK], STEP, STEP, v11["binary_metrics"],
               v11["metrics"], "T5 1.1 Mesh TF -> HF", demo["export"],
               demo["vocab"])


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_round_trip_gives_identical_variables(demo, v10, v11):
  for source, hf_dir, name, step in (
      (demo["v10"].model_dir, v10["hf_dir"], "v10", V10_STEP),
      (v11["model_dir"], v11["hf_dir"], "v11", STEP)):
    back = str(demo["root"] / (name + "_back"))
    prefix, _ = convert.to_mesh(hf_dir, back)
    assert prefix == os.path.join(back, "model.ckpt-%d" % step)
    before = raw_variables(os.path.join(source, "model.ckpt-%d" % step))
    after = raw_variables(prefix)
    assert sorted(after) == sorted(before)
    for var, (dtype, value) in before.items():
      assert after[var][0] == dtype == "bfloat16", var
      assert np.array_equal(after[var][1], value), var
    import tensorflow as tf
    assert tf.train.load_checkpoint(prefix).get_tensor("global_step") == step


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_converted_directory_loads_without_tensorflow(v10):
  code = no_tensorflow.PRELUDE + (
      "import transformers\n"
      "m = transformers.T5ForConditionalGeneration.from_pretrained(%r)\n"
      "print(m.config.vocab_size, m.config.feed_forward_proj)\n" %
      v10["checkpoint"])
  done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, timeout=240, check=True)
  assert done.stdout.splitlines()[-1] == "2048 relu"


def torch_train(demo, model, model_dir, steps):
  train_lib.train(train_lib.TrainOptions(
      demo["train"], model_dir, model=model, steps=steps, batch_size=16,
      learning_rate=3e-3, dropout_rate=0.0, save_steps=steps,
      logging_steps=steps), out=io.StringIO())
  return hf_evaluate(model_dir, demo, [TASK], steps)


@pytest.mark.binary
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("layout", ["T5 1.0", "T5 1.1"])
def test_wt5_train_models_score_the_same_in_the_binary(demo, v11, layout):
  """T5 1.0 trained from scratch, the converted T5 1.1 fine-tuned, by
  `wt5 train`; converted to Mesh TF, evaluated by the binary."""
  name = layout.replace(" ", "_").replace(".", "_")
  torch_dir = str(demo["root"] / (name + "_torch"))
  # From scratch: 53 to 90% accuracy after 60 steps in different runs, 100%
  # after 120.
  model, steps = (("tiny", 120) if layout == "T5 1.0" else
                  (v11["checkpoint"], 20))
  hf_metrics = torch_train(demo, model, torch_dir, steps)
  mtf_dir = str(demo["root"] / (name + "_back"))
  prefix, shape = convert.to_mesh(torch_dir, mtf_dir)
  assert (shape.layout, prefix) == (layout, os.path.join(
      mtf_dir, "model.ckpt-%d" % steps))
  assert raw_variables(prefix)["shared/embedding"][0] == "float32"
  binary_metrics = binary_eval(TASK, mtf_dir, demo["data_dir"], demo["vocab"],
                               mtf_dir + ".eval.log")
  assert_agree(os.path.join(mtf_dir, "validation_eval"), torch_dir, [TASK],
               steps, steps, at_step(binary_metrics, steps), hf_metrics,
               "%s HF -> Mesh TF" % layout, demo["export"], demo["vocab"])
