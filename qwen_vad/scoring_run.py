"""Moved to ``qwen_vad.scoring`` (batches, subsets, predictions). This alias keeps modules of a
parallel branch (training/, opro/session.py) importing until their imports are updated; new
code imports from ``qwen_vad.scoring.*``."""

from qwen_vad.scoring.batches import ScoredClips, score_clips
from qwen_vad.scoring.predictions import is_speech_label, predictions_frame
from qwen_vad.scoring.subsets import subset_clips

__all__ = ["ScoredClips", "is_speech_label", "predictions_frame", "score_clips", "subset_clips"]
