"""Offline evaluation: eval directories, their scores, `wt5 score`.

  eval_files.py  reading and writing `<model_dir>/<split>_eval/` files
  gated.py       FEB's gated explanation scores (`*_correct_pred`, ...)
  command.py     `wt5 score`: re-scores an eval directory, writes CSV/JSON/plots
"""
