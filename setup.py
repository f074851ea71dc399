"""Install wt5: the WT5 tasks, mixtures, metrics and gin files for T5."""

import setuptools

setuptools.setup(
    name="wt5",
    version="0.2.0",
    description=(
        "WT5?! Training Text-to-Text Models to Explain their Predictions: "
        "tasks, mixtures, metrics and gin files for the T5 / seqio / "
        "Mesh TensorFlow stack."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache 2.0",
    python_requires=">=3.9",
    packages=setuptools.find_packages(include=["wt5", "wt5.*"]),
    package_data={"wt5": ["gin/*.gin", "gin/*/*.gin", "report/templates/*"]},
    include_package_data=True,
    install_requires=[
        "t5==0.9.4",
        "mesh-tensorflow[transformer]==0.1.21",
        "tensorflow==2.12.1",
        "tensorflow-text==2.12.1",
        "seqio-nightly",
        "tfds-nightly",
        "sentencepiece==0.2.0",
        "spacy>=3.7,<3.8",
        "sacrebleu",
        "numpy<1.25",
        "matplotlib",
        "Jinja2",
    ],
    extras_require={
        "test": ["pytest", "hypothesis", "playwright==1.65.2"],
        # `wt5 train` / `wt5 evaluate` (wt5.pytorch): no TensorFlow needed.
        "torch": [
            "torch>=2.1",  # the model and DDP; pick the CUDA build on GPUs
            "transformers>=4.40",  # T5ForConditionalGeneration, Seq2SeqTrainer
            "accelerate>=0.26",  # required by transformers' Trainer
            "sentencepiece",  # decoding without seqio
            "tensorboard",  # SummaryWriter behind the Trainer's logs
            "tqdm",  # the progress bar
        ],
        # seqio_cache_tasks; 2.77.0 fits the TF 2.12 / protobuf 3.20 lock (older ones force cloudpickle or grpcio down).
        "beam": ["apache-beam[tfrecord]==2.77.0"],
    },
    entry_points={"console_scripts": ["wt5=wt5.cli:main"]},
)
