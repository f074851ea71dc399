"""`wt5 report`: an evaluation as one self-contained HTML page.

  report_command.py        `wt5 report`: arguments, reading, rendering
  summary.py               scores of one or more runs: mean ± standard
                           deviation, curves
  examples.py              the examples of one checkpoint, with the rationale
                           highlights
  faithfulness_section.py  the tables and per-example probabilities of
                           `wt5 faithfulness` files
  explanation_tests.py     the counterfactual and simulatability tables and
                           per-example flips and simulated labels
  templates/               the page
"""
