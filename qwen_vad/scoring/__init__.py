"""Scoring: one seam for every system, LLM or VAD.

- ``base``: the scorer protocol every system implements (``Scorer``, ``BatchScores``);
- ``systems``: the registry of systems by name (``evaluate.system``): lazy factories, kind, label;
- ``backends``: where the audio LLM runs (``model.backend``: in this process, or on a server);
- ``subsets`` / ``batches``: which clips are scored, and the batch loop (audio loading, warm-up,
  per-clip latency, unreadable files skipped);
- ``latency``: per-stage timing; ``thresholds``: the decision threshold learned on dev;
- ``predictions``: the predictions frame (design.md section 3); ``input_checks``: what a system
  may not have heard;
- ``protocol``: the score -> threshold -> predictions -> metrics tail every scoring stage ends in.
"""

from qwen_vad.scoring.base import BatchScores, Scorer

__all__ = ["BatchScores", "Scorer"]
