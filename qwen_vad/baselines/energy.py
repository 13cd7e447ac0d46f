"""A plain energy detector: the floor any speech detector has to beat."""

from __future__ import annotations

import numpy as np

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.baselines.frame_scorer import FrameVADScorer
from qwen_vad.config import Config


def frame_energies_db(audio: np.ndarray, frame_ms: int) -> np.ndarray:
    frame = SAMPLE_RATE * frame_ms // 1000
    n_frames = max(1, audio.size // frame)
    padded = np.pad(audio.astype(np.float64), (0, max(0, n_frames * frame - audio.size)))
    frames = padded[: n_frames * frame].reshape(n_frames, frame)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def energy_activity(audio: np.ndarray, frame_ms: int = 20, margin_db: float = 6.0) -> float:
    """Share of frames more than ``margin_db`` above the clip's quietest decile.

    Relative to the clip's own floor because clips are peak-normalised: absolute level says
    nothing. Stationary noise scores low (few frames stand out), modulated sound such as
    syllables high.
    """
    energies = frame_energies_db(audio, frame_ms)
    floor = np.percentile(energies, 10)
    return float(np.mean(energies > floor + margin_db))


def energy_scorer(cfg: Config) -> FrameVADScorer:
    """``evaluate.system=energy``: the share of active frames (baselines.energy_frame_ms / _margin_db)."""
    frame_ms, margin_db = cfg.baselines.energy_frame_ms, cfg.baselines.energy_margin_db
    return FrameVADScorer("energy", lambda audio: energy_activity(audio, frame_ms, margin_db))
