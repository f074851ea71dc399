"""tests/data/catalogue.json: every WT5 task and mixture of the 2020 code,
written out as data (name, TFDS dataset, preprocessor and its arguments,
postprocessor, metrics, splits; a mixture's tasks and rates).

    import catalogue_data
    catalogue_data.TASKS["esnli_v010"]["tfds"] -> "esnli:0.1.0"
"""

import json
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "catalogue.json")
with open(PATH, encoding="utf-8") as _f:
  CATALOGUE = json.load(_f)
TASKS = {t["name"]: t for t in CATALOGUE["tasks"]}
MIXTURES = {m["name"]: m for m in CATALOGUE["mixtures"]}
