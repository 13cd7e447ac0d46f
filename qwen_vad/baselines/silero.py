"""Silero VAD (the ``silero-vad`` package ships its model): per-window speech probabilities."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.config import Config
from qwen_vad.errors import ConfigError
from qwen_vad.scoring.base import BatchScores

WINDOW = 512  # samples per window at 16 kHz: what the Silero v5+ model expects
SPEECH_PROBABILITY = 0.5  # Silero's own default decision threshold
# How a clip's per-window probabilities become one score (baselines.silero_aggregation).
SILERO_AGGREGATIONS: dict[str, Callable[[np.ndarray], float]] = {
    "max": lambda p: float(np.max(p)),
    "mean": lambda p: float(np.mean(p)),
    "share": lambda p: float(np.mean(p > SPEECH_PROBABILITY)),
}


class SileroVAD:
    """Scores clips in batches: each row keeps its own recurrent state, reset for every batch,
    so a clip is never influenced by the clip before it. A clip shorter than one window is
    zero-padded (never rejected), and no minimum-speech-duration filter is applied."""

    def __init__(self, batch_size: int = 64) -> None:
        from silero_vad import load_silero_vad  # imported here: loading the model costs ~0.3 s

        self.model = load_silero_vad(onnx=False)
        self.batch_size = batch_size

    @torch.no_grad()
    def window_probabilities(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-window speech probabilities of every clip (ceil(len / 512) windows each)."""
        n_windows = [max(1, -(-clip.size // WINDOW)) for clip in clips]
        results: list[np.ndarray] = [np.empty(0)] * len(clips)
        # Batches of similar length waste little padding.
        order = sorted(range(len(clips)), key=lambda i: n_windows[i])
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            longest = max(n_windows[i] for i in rows)
            batch = np.zeros((len(rows), longest * WINDOW), dtype=np.float32)
            for r, i in enumerate(rows):
                batch[r, : clips[i].size] = clips[i]
            tensor = torch.from_numpy(batch)
            self.model.reset_states()
            probs = torch.cat(
                [self.model(tensor[:, w * WINDOW : (w + 1) * WINDOW], SAMPLE_RATE) for w in range(longest)], dim=1
            ).numpy()
            for r, i in enumerate(rows):
                results[i] = probs[r, : n_windows[i]].astype(np.float64)
        return results

    def activity(self, clips: Sequence[np.ndarray], threshold: float = SPEECH_PROBABILITY) -> list[float]:
        """Share of windows whose speech probability exceeds ``threshold``, per clip."""
        return [float(np.mean(p > threshold)) for p in self.window_probabilities(clips)]


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


def silero_scorer(cfg: Config) -> SileroScorer:
    """``evaluate.system=silero``: window probabilities aggregated per clip (baselines.silero_aggregation)."""
    return SileroScorer(cfg.baselines.silero_aggregation)
