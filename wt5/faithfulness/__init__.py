"""Are WT5's extractive rationales faithful? ERASER's scores for text-to-text models.

Nothing here imports TensorFlow or t5 (the PyTorch route's rule):

  scores.py        comprehensiveness, sufficiency, AOPC, bootstrap intervals
  label_scorer.py  class probabilities by teacher forcing the label tokens
  erase.py         removing or keeping passage tokens of an input
  command.py       `wt5 faithfulness`: per-example JSONL and a printed table
"""
