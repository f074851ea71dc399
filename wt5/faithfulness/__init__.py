"""Are WT5's explanations faithful? ERASER's scores for extractive rationales; the counterfactual test and simulatability for abstractive ones.

Nothing here imports TensorFlow or t5 (the PyTorch route's rule):

  faithfulness_command.py  `wt5 faithfulness`: the command line
  eraser.py                ERASER's scores of the rationales of each
                           checkpoint: per-example JSONL and a printed table
  scores.py                comprehensiveness, sufficiency, AOPC, bootstrap
                           intervals
  label_scorer.py          class probabilities by teacher forcing the label
                           tokens
  erase.py                 removing or keeping passage tokens of an input;
                           the edited inputs of one rationale
  records.py               the `<task>_<step>_faithfulness.jsonl` files:
                           reading and summarising them
  insertions.py            word insertions into text fields; the mention rule
  counterfactual.py        `wt5 faithfulness --counterfactual` (abstractive
                           tasks)
  words/                   the word lists of the insertions
  simulatability.py        leakage-adjusted simulatability: simulator
                           exports, training and scoring
  simulatability_command.py  `wt5 simulatability`: the command line
  simulation.py            simulator inputs; the records, summaries and
                           table of `wt5 simulatability`
  las.py                   LAS (Hase et al. 2020) from simulator outputs
"""
