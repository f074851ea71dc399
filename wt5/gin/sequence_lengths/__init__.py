"""Gin files setting `utils.run.sequence_length` for each WT5 dataset."""
