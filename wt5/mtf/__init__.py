"""The Mesh TensorFlow route: the stock `t5_mesh_transformer` binary.

  binary.py      the binary's command lines, running it with progress, its logs
"""
