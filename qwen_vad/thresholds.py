"""Moved to ``qwen_vad.scoring.thresholds``; this alias keeps training/dev_scoring.py (a
parallel branch's module) importing until its import is updated."""

from qwen_vad.scoring.thresholds import apply_threshold, learn_threshold

__all__ = ["apply_threshold", "learn_threshold"]
