"""Evaluation: the CDnet layout and CDnet 2014's metrics."""

from streamseg.evaluation.cdnet import CDnetSequence, evaluate_folder, find_sequences, read_mask
from streamseg.evaluation.metrics import Confusion, Scores

__all__ = ["CDnetSequence", "Confusion", "Scores", "evaluate_folder", "find_sequences", "read_mask"]
