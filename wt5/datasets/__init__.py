"""Dataset makers behind `wt5 data`: data in TFDS format.

  data_command.py    `wt5 data`: the demo datasets, or `wt5 data amazon`
  demo_data.py       the embedded demo datasets in TFDS format, and their
                     vocabulary (`wt5 data`, `wt5 demo`)
  demo_templates.py  the word lists and example generators behind them
  amazon_tsv.py      amazon_us_reviews from the original TSV files
"""
