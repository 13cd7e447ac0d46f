"""The degradation of each condition axis (qwen_vad.conditions), as the renderer applies them.

Every function takes the audio so far, the axis's level and the ``Rendering`` of this variant
(its background noise and random generator) and returns the degraded audio. The renderer calls
them in the axes' ``render_step`` order: reverb (on the whole segment), cut, noise, filter.
The check functions judge a design's levels before any audio is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qwen_vad.audio.degrade import FILTERS, NO_FILTER, apply_filter, apply_reverb
from qwen_vad.audio.mix import centre_extract, mix_at_snr, noise_excerpt


@dataclass(frozen=True)
class Rendering:
    """What one variant's degradations may draw on besides the audio itself."""

    background: np.ndarray  # a background-pool excerpt, longer than the clip
    rng: np.random.Generator  # one generator per variant: its audio depends on (seed, its place)


def reverberate(audio: np.ndarray, rt60_s: float, rendering: Rendering) -> np.ndarray:
    return apply_reverb(audio, rt60_s, rendering.rng)


def cut(audio: np.ndarray, duration_ms: int, rendering: Rendering) -> np.ndarray:
    return centre_extract(audio, duration_ms)


def add_noise(audio: np.ndarray, snr_db: float, rendering: Rendering) -> np.ndarray:
    return mix_at_snr(audio, noise_excerpt(rendering.background, audio.size, rendering.rng), snr_db)


def channel_filter(audio: np.ndarray, name: str, rendering: Rendering) -> np.ndarray:
    return apply_filter(audio, name)


def check_durations(levels: list[int]) -> str:
    bad = sorted({d for d in levels if d <= 0})
    return f"must be positive, got {bad}" if bad else ""


def check_filters(levels: list[str]) -> str:
    unknown = sorted(set(levels) - {NO_FILTER, *FILTERS})
    return f"unknown filter(s) {unknown}; valid: {', '.join([NO_FILTER, *FILTERS])}" if unknown else ""
