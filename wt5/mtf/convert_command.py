"""`wt5 convert`: the command line of `wt5.mtf.convert`.

    wt5 convert MESH_MODEL_DIR --output_dir HF_DIR [--step N]
    wt5 convert HF_DIR --to mtf --output_dir MESH_MODEL_DIR [--step N]
"""

import argparse
import os
import sys

from wt5 import cli_options
from wt5 import vocab_setting
from wt5.mtf.checkpoint_names import UnsupportedModelError
from wt5.mtf.convert import (RECORD, VOCAB_FILE, ConvertError, describe,
                             to_hf, to_mesh)

def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The options of `wt5 convert`."""
  parser.add_argument("model_dir", help="A t5_mesh_transformer model "
                      "directory (or, with --to mtf, a Hugging Face one).")
  parser.add_argument("--output_dir", required=True)
  parser.add_argument("--to", choices=("hf", "mtf"), default="hf",
                      help="hf: Mesh TF -> Hugging Face (default); mtf: back.")
  cli_options.ONE_STEP.add(parser)
  cli_options.VOCAB_MODEL.add(
      parser, help="SentencePiece model the Mesh TF model was trained with, "
      "copied as spiece.model (default: $%s, else T5's default, recorded "
      "only)." % vocab_setting.VOCAB_ENV)
  parser.add_argument("--dtype", choices=("float32", "bfloat16"),
                      default=None, help="--to mtf: the checkpoint's dtype "
                      "(default: the one recorded by the conversion to "
                      "Hugging Face, else float32).")


def run(args: argparse.Namespace) -> int:
  """Runs `wt5 convert`."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  try:
    if args.to == "mtf":
      prefix, shape = to_mesh(args.model_dir, args.output_dir, args.step,
                              args.dtype)
      print("Wrote %s and %s (%s)." % (
          prefix, os.path.join(args.output_dir, "operative_config.gin"),
          describe(shape)))
      print("Evaluate with t5_mesh_transformer --model_dir=%s --gin_file="
            "%s/operative_config.gin --gin_file=eval.gin ..." % (
                args.output_dir, args.output_dir))
    else:
      out, shape = to_hf(args.model_dir, args.output_dir, args.step,
                         args.vocab_model)
      print("Wrote %s (%s)." % (out, describe(shape)))
      if not os.path.isfile(os.path.join(out, VOCAB_FILE)):
        print("The vocabulary %s is recorded in %s, not copied; pass "
              "--vocab_model (or set %s) if the model was trained with "
              "another." % (vocab_setting.vocab_model_path(os.environ)
                            if not args.vocab_model else args.vocab_model,
                            RECORD, vocab_setting.VOCAB_ENV))
      print("Decode with `wt5 evaluate --model_dir %s --export EXPORT`." %
            args.output_dir)
  except (ConvertError, UnsupportedModelError) as e:
    print("wt5 convert: error: %s" % e, file=sys.stderr)
    return 2
  return 0
