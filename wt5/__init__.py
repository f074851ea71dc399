"""WT5: training text-to-text models to explain their predictions.

Import `wt5.tasks` to register the WT5 tasks and `wt5.mixtures` to register the
tasks and mixtures in the seqio registry (shared with `t5.data`).
"""

__version__ = "0.2.0"
