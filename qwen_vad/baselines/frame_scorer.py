"""A classic VAD that scores one clip at a time, behind the scorer interface (qwen_vad.scoring)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from qwen_vad.scoring.base import BatchScores


class FrameVADScorer:
    """WebRTC, energy, TEN VAD: ``score_clip`` gives a clip's score in 0..1; all its time is forward."""

    prompt_id = ""
    template = None  # VADs are not prompted
    gives_labels = False

    def __init__(self, system: str, score_clip: Callable[[np.ndarray], float], batch_size: int = 32) -> None:
        self.system, self._score_clip, self.batch_size = system, score_clip, batch_size

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores:
        start = time.perf_counter()
        scores = np.array([self._score_clip(clip) for clip in clips], dtype=float)
        return BatchScores(p_speech=scores, seconds={"forward": time.perf_counter() - start})
