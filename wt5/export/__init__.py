"""`wt5 export`: registered tasks and mixtures as JSON Lines, for the PyTorch route.

  export_command.py  `wt5 export`: writes a split through seqio (needs
                     TensorFlow); the format, its reader and writer are
                     `wt5.formats.export`
"""
