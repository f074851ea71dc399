"""Dataset makers behind `wt5 data`: real data converted to TFDS format.

  command.py     `wt5 data`: the demo datasets, or `wt5 data amazon`
  amazon_tsv.py  amazon_us_reviews from the original TSV files
"""
