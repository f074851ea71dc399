"""Offline evaluation: the scores of eval directories, `wt5 score`.

The eval files themselves are read with `wt5.formats.eval_files`.

  metric_fns.py     finding metric functions; `compute_metrics`, which
                    `wt5 score` and `wt5 evaluate` both use
  eval_dir.py       scoring every task and checkpoint of an eval directory
  gated.py          FEB's gated explanation scores (`*_correct_pred`, ...)
  output.py         the scores as a table, CSV, JSON and plots
  score_command.py  `wt5 score`: the command line
"""
