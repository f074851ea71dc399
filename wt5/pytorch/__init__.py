"""WT5 with PyTorch: Hugging Face T5 trained and evaluated on WT5 exports.

`wt5 export` (which needs TensorFlow) writes the examples of a registered
task or mixture; everything in this package reads those files
(`wt5.formats.export`) and imports neither TensorFlow nor t5, so that it runs
on GPU machines where the TF 2.12 stack cannot be installed:

  model.py       model presets, loading a checkpoint, vocabulary checks
  batching.py    padding export examples into model batches; the loss
  packing.py     packing examples into rows as t5_mesh_transformer does;
                 compact rows without their padding
  train.py       training with Seq2SeqTrainer, one GPU or many with torchrun;
                 `TrainOptions`, which declares `wt5 train`'s options
  train_command.py  `wt5 train`: the command line
  progress.py    `wt5 train`'s progress bar and its summary figures
  fsdp.py        `wt5 train --fsdp`: FSDP2 sharding, Adafactor over full rows
                 and columns, sharded and consolidated checkpoints
  memory_plan.py `wt5 train --plan`: the memory per device of a run
  attention.py   packed attention without dense masks: FlexAttention with
                 T5's relative bias (`wt5_flex`); choosing a path
  segment_attention.py  packed attention example by example, the CPU's
                 default (`wt5_segments`), on packed or compact rows
  cpu_memory.py  keeping freed memory in a CPU training process (glibc)
  adafactor.py   the Adafactor update of `wt5 train`, stacked by shape
  decoding.py    greedy decoding and SentencePiece ids -> text, as seqio decodes
  evaluate.py    decoding checkpoints into t5-format eval files
  evaluate_command.py  `wt5 evaluate`: the command line
"""
