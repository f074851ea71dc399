"""`wt5 report`: an evaluation as one self-contained HTML page.

`command` (the subcommand: arguments, rendering), `summary` (scores of one or
more runs: mean ± standard deviation, curves) and `examples` (the examples of
one checkpoint, with the rationale highlights); `templates/` holds the page.
"""
