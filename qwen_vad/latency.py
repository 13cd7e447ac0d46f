"""Moved to ``qwen_vad.scoring.latency``; this alias keeps decoding.py (a parallel branch's
module) importing until its import is updated."""

from qwen_vad.scoring.latency import STAGES, Stopwatch, percentiles_ms

__all__ = ["STAGES", "Stopwatch", "percentiles_ms"]
