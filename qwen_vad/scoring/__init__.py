"""Scoring: the scorer protocol every system implements, and the evaluation protocol every row
of the comparison matrix goes through (``qwen_vad.scoring.protocol``)."""

from qwen_vad.scoring.base import BatchScores, Scorer

__all__ = ["BatchScores", "Scorer"]
