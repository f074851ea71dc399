"""`wt5 demo` and `wt5 data`'s demo datasets: small WT5 runs on the CPU.

  command.py     `wt5 demo`: writes the data, trains and evaluates with the
                 stock `t5_mesh_transformer`, prints the results
  datasets.py    the embedded demo datasets in TFDS format, and their vocabulary
  templates.py   the word lists and example generators behind the datasets
"""
