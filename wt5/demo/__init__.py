"""`wt5 demo`: small WT5 runs on the CPU, end to end.

  pipeline.py      writes the data (`wt5.datasets.demo_data`) and the
                   vocabulary, trains and evaluates each mixture with the
                   stock `t5_mesh_transformer`
  results.py       the results table, notes and examples it prints
  demo_command.py  `wt5 demo`: the command line
"""
