"""TFDS datasets prepared in a data directory: where they live, replacing one.

What the dataset writers (`wt5 data`, `wt5 data amazon`) and the tasks share:
the `amazon_us_reviews` configurations (TFDS's list), the directory of a
prepared dataset, and replacing a prepared dataset without touching anything
else. TensorFlow Datasets is imported only by `amazon_configs`.

    prepared_dir("/d", "amazon_us_reviews", "Books_v1_00", "0.1.0")
      -> "/d/amazon_us_reviews/Books_v1_00/0.1.0"
"""

import contextlib
import os
import shutil
from typing import Iterator, List, Optional

AMAZON = "amazon_us_reviews"
AMAZON_VERSION = "0.1.0"
INFO_FILE = "dataset_info.json"


def amazon_configs() -> List[str]:
  """Every `amazon_us_reviews` configuration TFDS defines, in TFDS order.

  -> ["Wireless_v1_00", "Watches_v1_00", ..., "Books_v1_02"] (46 names)
  """
  import tensorflow_datasets as tfds
  return [c.name for c in tfds.builder_cls(AMAZON).BUILDER_CONFIGS]


def prepared_dir(data_dir: str, name: str, config: Optional[str],
                 version: str) -> str:
  """Where TFDS keeps a prepared dataset: DATA_DIR/name[/config]/version."""
  return os.path.join(data_dir, name, *([config] if config else []), version)


def remove_prepared(target: str) -> None:
  """Deletes the prepared dataset at `target` so that it can be written anew.

  Nothing happens when `target` does not exist; a directory that is not a
  prepared TFDS dataset (no dataset_info.json) raises FileExistsError and is
  left as it is.
  """
  if not os.path.exists(target):
    return
  if not os.path.exists(os.path.join(target, INFO_FILE)):
    raise FileExistsError("%s exists but is not a prepared TFDS dataset; "
                          "not replacing it" % target)
  shutil.rmtree(target)


@contextlib.contextmanager
def no_new_downloads_dir(data_dir: str) -> Iterator[None]:
  """Removes DATA_DIR/downloads afterwards if TFDS created it meanwhile."""
  downloads = os.path.join(data_dir, "downloads")
  had_downloads = os.path.exists(downloads)
  yield
  if not had_downloads:
    shutil.rmtree(downloads, ignore_errors=True)
