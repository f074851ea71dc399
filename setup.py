"""Install wt5: the WT5 tasks, mixtures, metrics and gin files for T5.

`pip install wt5` (ordinary resolver) yields a working T5 / seqio / Mesh
TensorFlow stack only with the pins below; each says why it is there.
`requirements.lock` is the fully pinned alternative (installed with
`--no-deps`); tests/test_packaging.py checks that it stays inside these
requirements.
"""

import os
import sys

# The stack runs on TensorFlow 2.12 (Pythons 3.8 to 3.11); flax 0.8.5 and
# torch 2.13, which `t5.models` imports, need 3.10 or newer.
PYTHON_REQUIRES = ">=3.10,<3.12"
_SUPPORTED_PYTHONS = ((3, 10), (3, 11))

if sys.version_info[:2] not in _SUPPORTED_PYTHONS:
  sys.exit(
      "wt5 needs Python 3.10 or 3.11 (TensorFlow 2.12, which Mesh TensorFlow "
      "needs, has no wheels for Python %d.%d). Install it with Python 3.11, "
      "e.g. `python3.11 -m venv venv && venv/bin/pip install wt5`." %
      sys.version_info[:2])

import setuptools

INSTALL_REQUIRES = [
    # --- The T5 training stack ---
    "t5==0.9.4",  # last release; provides the `t5_mesh_transformer` binary
    "mesh-tensorflow==0.1.21",  # last release; works with TensorFlow 2.12 only
    "tensorflow==2.12.1",  # 2.13 dropped what mesh-tensorflow 0.1.21 calls
    "tensorflow-text==2.12.1",  # must match TensorFlow's minor version
    "tensorflow-hub==0.13.0",  # 0.16 pulls tf-keras>=2.14, i.e. a newer TF
    "tensorflow-metadata==1.14.0",  # newer ones need protobuf 5
    "protobuf==3.20.3",  # TF 2.12, seqio and tensorflow-metadata 1.14
    "seqio-nightly==0.0.18.dev20250227",  # t5 0.9.4 asks for seqio-nightly
    "tfds-nightly==4.9.2.dev202308090034",  # the one seqio-nightly pins
    # t5 asks for mesh-tensorflow[transformer], which asks for
    # tensorflow-datasets: a second distribution of the `tensorflow_datasets`
    # module. 4.9.3 ships a subset of tfds-nightly's files, from the same
    # month, so either install order leaves a consistent module.
    "tensorflow-datasets==4.9.3",
    "numpy<1.25",  # TF 2.12 needs numpy<=1.24.3
    "pandas<3",  # pandas 3 makes TFDS skip its text builders (esnli, ...)
    "setuptools<80",  # tensorflow-hub and mesh-tensorflow import pkg_resources
    "sentencepiece==0.2.0",  # 0.2.1 and newer ship protobuf-5 modules
    # seqio's jax side (clu, flax): without these pins pip backtracks for many
    # minutes through releases that need numpy>=1.25.
    "jax==0.4.30",  # seqio imports jax; newer jax needs numpy>=1.26
    "jaxlib==0.4.30",  # matches jax
    # Newer ones need treescope, which declares numpy>=1.25.2 (the lock has
    # flax 0.10.4 installed with --no-deps; pip cannot choose it).
    "flax==0.8.5",
    "clu==0.0.12",  # seqio's metrics
    "chex==0.1.90",  # optax's, for jax 0.4.30
    "optax==0.2.5",  # flax's, for jax 0.4.30
    "orbax-checkpoint==0.6.4",  # flax's, for jax 0.4.30
    "tensorstore==0.1.74",  # flax's; older ones build from source
    # torch (`import t5.models` imports it) is NOT declared: torch 2.13 needs
    # typing-extensions>=4.10 and TF 2.12.1 declares <4.6, so pip cannot
    # resolve both at once. It is a second command (README, "Install with
    # pip"): `pip install torch==2.13.0 "setuptools<80"`.
    # --- WT5's own code ---
    "spacy==3.7.5",  # tokenizer of the extractive metrics; 3.8 untried
    "sacrebleu",  # BLEU of the abstractive metrics
    "matplotlib",  # `wt5 score` plots
    "packaging",  # `wt5 doctor` compares versions
    "Jinja2>=3.1",  # `wt5 report`: autoescaped HTML templates, tojson
]

# Optional parts: one line per extra, `pip install wt5[NAME]`.
EXTRAS_REQUIRE = {
    # The test suite; playwright drives Debian's Chromium for the report tests.
    "test": ["pytest", "pytest-timeout", "pytest-xdist", "hypothesis", "packaging", "playwright==1.65.2"],
    # `wt5 train` / `wt5 evaluate` (wt5.pytorch): no TensorFlow needed. With
    # the TF stack above, install torch as the README says (a second command).
    "torch": [
        "torch>=2.1",  # the model and DDP; pick the CUDA build on GPUs
        "transformers>=4.40",  # T5ForConditionalGeneration, Seq2SeqTrainer
        "accelerate>=0.26",  # required by transformers' Trainer
        "sentencepiece",  # decoding without seqio
        "tensorboard",  # SummaryWriter behind the Trainer's logs
        "tqdm",  # the progress bar
    ],
    # seqio_cache_tasks and `wt5 data amazon --pipeline_options`: 2.77.0 fits
    # TF 2.12 / protobuf 3.20 (older ones force cloudpickle or grpcio down);
    # [tfrecord] brings crcmod, without which the cache's TFRecord write fails.
    "beam": ["apache-beam[tfrecord]==2.77.0"],
}


def _long_description() -> str:
  """The README, which the sdist carries (MANIFEST.in)."""
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")
  with open(path, encoding="utf-8") as f:
    return f.read()


if __name__ == "__main__":
  setuptools.setup(
      name="wt5",
      version="0.2.0",
      description=(
          "WT5?! Training Text-to-Text Models to Explain their Predictions: "
          "tasks, mixtures, metrics and gin files for the T5 / seqio / "
          "Mesh TensorFlow stack."
      ),
      long_description=_long_description(),
      long_description_content_type="text/markdown",
      license="Apache 2.0",
      python_requires=PYTHON_REQUIRES,
      packages=setuptools.find_packages(include=["wt5", "wt5.*"]),
      package_data={"wt5": ["gin/*.gin", "gin/*/*.gin", "report/templates/*",
                            "faithfulness/words/*.txt"]},
      include_package_data=True,
      install_requires=INSTALL_REQUIRES,
      extras_require=EXTRAS_REQUIRE,
      entry_points={"console_scripts": ["wt5=wt5.cli:main"]},
      classifiers=[
          "Programming Language :: Python :: 3.10",
          "Programming Language :: Python :: 3.11",
      ],
  )
