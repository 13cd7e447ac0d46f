"""Classic VADs behind the same scorer interface as the audio LLM (qwen_vad.scoring)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from qwen_vad.baselines.energy import energy_activity
from qwen_vad.baselines.silero import SPEECH_PROBABILITY, SileroVAD
from qwen_vad.baselines.ten import ten_vad_probabilities
from qwen_vad.baselines.webrtc import webrtc_activity
from qwen_vad.config import BaselinesConfig
from qwen_vad.errors import ConfigError
from qwen_vad.scoring.base import BatchScores

# How a clip's per-window Silero probabilities become one score.
SILERO_AGGREGATIONS: dict[str, Callable[[np.ndarray], float]] = {
    "max": lambda p: float(np.max(p)),
    "mean": lambda p: float(np.mean(p)),
    "share": lambda p: float(np.mean(p > SPEECH_PROBABILITY)),
}


class FrameVADScorer:
    """A VAD that scores one clip at a time (WebRTC, energy, TEN VAD): all its time is forward."""

    prompt_id = ""
    template = None  # VADs are not prompted
    gives_labels = False

    def __init__(self, system: str, score_clip: Callable[[np.ndarray], float], batch_size: int = 32) -> None:
        self.system, self._score_clip, self.batch_size = system, score_clip, batch_size

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores:
        start = time.perf_counter()
        scores = np.array([self._score_clip(clip) for clip in clips], dtype=float)
        return BatchScores(p_speech=scores, seconds={"forward": time.perf_counter() - start})


class SileroScorer:
    prompt_id = ""
    template = None  # VADs are not prompted
    gives_labels = False

    def __init__(self, aggregation: str, batch_size: int = 32) -> None:
        if aggregation not in SILERO_AGGREGATIONS:
            raise ConfigError(f"baselines.silero_aggregation: unknown {aggregation!r}; valid: {', '.join(SILERO_AGGREGATIONS)}")
        self.system = f"silero-{aggregation}"
        self.aggregate = SILERO_AGGREGATIONS[aggregation]
        self.vad = SileroVAD(batch_size=batch_size)
        self.batch_size = batch_size

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores:
        start = time.perf_counter()
        probabilities = self.vad.window_probabilities(clips)
        forward = time.perf_counter() - start
        start = time.perf_counter()
        scores = np.array([self.aggregate(p) for p in probabilities])
        return BatchScores(p_speech=scores, seconds={"forward": forward, "post_processing": time.perf_counter() - start})


def make_vad_scorer(system: str, cfg: BaselinesConfig) -> FrameVADScorer | SileroScorer:
    if system == "webrtc":
        return FrameVADScorer(
            f"webrtc-mode{cfg.webrtc_mode}", lambda a: webrtc_activity(a, cfg.webrtc_mode, cfg.webrtc_frame_ms)
        )
    if system == "silero":
        return SileroScorer(cfg.silero_aggregation)
    if system == "energy":
        return FrameVADScorer("energy", lambda a: energy_activity(a, cfg.energy_frame_ms, cfg.energy_margin_db))
    if system == "ten_vad":
        return FrameVADScorer("ten-vad", lambda a: float(np.max(ten_vad_probabilities(a, cfg.ten_vad_hop))))
    raise ConfigError(f"evaluate.system: unknown VAD {system!r}; valid: webrtc, silero, energy, ten_vad, qwen")
