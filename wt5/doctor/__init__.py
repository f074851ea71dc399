"""`wt5 doctor`: checks an environment for the T5 stack's known traps.

  doctor_command.py  the checks, their fixes and the subcommand
  probe.py           imports the stack in a child process
                     (`python -m wt5.doctor.probe`)
"""
