"""`wt5 demo`: small WT5 runs on the CPU, end to end.

  demo_command.py  `wt5 demo`: writes the data (`wt5.datasets.demo_data`),
                   trains and evaluates with the stock `t5_mesh_transformer`,
                   prints the results
"""
