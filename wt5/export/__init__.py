"""Exports: registered tasks and mixtures as JSON Lines, for the PyTorch route.

  command.py     `wt5 export`: writes a split through seqio (needs TensorFlow)
  files.py       the export format and its reader (pure Python, no TensorFlow)
"""
