"""WT5 on your own data: register explanation datasets from files.

    from wt5 import custom

    custom.add_abstractive_task(
        "my_nli", data_files={"train": "train.jsonl", "validation": "dev.jsonl"},
        input_fields=("hypothesis", "premise"), label_field="label",
        explanation_field="explanations", take=(100, 1000))
    custom.add_extractive_task(
        "my_reviews", data_files={"train": "train.csv", "validation": "dev.csv"},
        text_field="review", label_field="label", evidence_field="evidences",
        prefix="sentiment", take=(100,))
    custom.sequence_lengths("my_nli")  # writes my_nli.gin

Importing this module registers every WT5 task and mixture (`wt5.mixtures`);
registering a custom task reads no data.

  registration.py    `add_abstractive_task`, `add_extractive_task`: the tasks
                     and mixtures of a dataset
  source.py          the files of a split, read into records
  readers.py         JSON Lines, CSV, TSV and TFDS rows
  fields.py          one row -> one record (input texts, label, explanations)
  preprocessor.py    records -> WT5 inputs and targets (graph mode)
  lengths.py         measuring a task's token lengths; its gin file
  lengths_command.py `wt5 lengths`: the command line
"""

from wt5.custom.lengths import sequence_lengths
from wt5.custom.readers import DataError
from wt5.custom.registration import add_abstractive_task
from wt5.custom.registration import add_extractive_task
from wt5.custom.registration import CustomTask

__all__ = ["add_abstractive_task", "add_extractive_task", "sequence_lengths",
           "CustomTask", "DataError"]
