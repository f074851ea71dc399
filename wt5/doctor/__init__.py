"""`wt5 doctor`: checks an environment for the T5 stack's known traps.

  metadata.py        stage 1: the installed packages' metadata (nothing
                     imported)
  imports.py         stage 2: what importing the stack in a child tells
  probe.py           the child (`python -m wt5.doctor.probe`)
  doctor_command.py  `wt5 doctor`: runs both stages, prints the results
"""
