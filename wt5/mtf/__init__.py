"""The Mesh TensorFlow route: the stock `t5_mesh_transformer` binary, and `wt5 convert`.

  binary.py             the binary's command lines, running it with progress,
                        its logs
  convert.py            Mesh TF checkpoints <-> Hugging Face T5 models
  convert_command.py    `wt5 convert`: the command line
  checkpoint_names.py   T5's variable names and layouts in both stacks
  operative_gin.py      reading and writing the model part of an operative
                        config
"""
