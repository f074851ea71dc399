"""`wt5 data`: write the embedded demo datasets, or prepare real data.

    wt5 data --data_dir DIR [--all_amazon] [--vocab]      (wt5.datasets.demo_data)
    wt5 data amazon --tsv FILE... --data_dir DIR          (wt5.datasets.amazon_tsv)
"""

import argparse

from wt5.datasets import amazon_tsv
from wt5.datasets import demo_data


def add_arguments(parser: argparse.ArgumentParser) -> None:
  """The demo data's options, and the `amazon` sub-mode with its own."""
  demo_data.add_arguments(parser)
  sources = parser.add_subparsers(dest="data_source", metavar="SOURCE")
  amazon = sources.add_parser(
      "amazon", help="Prepare amazon_us_reviews from the original TSV files.",
      description=amazon_tsv.__doc__.splitlines()[0])
  amazon_tsv.add_arguments(amazon)


def run(args: argparse.Namespace) -> int:
  """Runs the chosen sub-mode (the demo data when none is named)."""
  if args.data_source == "amazon":
    return amazon_tsv.run(args)
  return demo_data.run(args)
