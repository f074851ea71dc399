"""A user's task module for the custom-task tests: `--module_import=custom_tasks_module`.

Registers `custom_nli` (abstractive, JSON Lines) and `custom_reviews`
(extractive, CSV) from the files under `$WT5_CUSTOM_TEST_DATA`, as a user's
module would from its own paths.
"""

import os

from wt5 import custom

DATA = os.environ.get("WT5_CUSTOM_TEST_DATA", "custom_test_data")
NLI_LABELS = ("entailment", "neutral", "contradiction")

custom.add_abstractive_task(
    "custom_nli",
    data_files={"train": os.path.join(DATA, "nli_train.jsonl"),
                "validation": os.path.join(DATA, "nli_validation.jsonl")},
    input_fields=("hypothesis", "premise"),
    label_field="label",
    explanation_field="explanations",
    label_names=NLI_LABELS,
    prefix="nli",
    take=(100,))

custom.add_extractive_task(
    "custom_reviews",
    data_files={"train": os.path.join(DATA, "reviews_train.csv"),
                "validation": os.path.join(DATA, "reviews_validation.csv")},
    text_field="review",
    label_field="label",
    evidence_field="evidences",
    prefix="sentiment",
    take=(100,))
