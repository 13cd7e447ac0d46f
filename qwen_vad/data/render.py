"""Turn a clean segment into one clip of a condition: reverb, cut, noise, filter, level."""

from __future__ import annotations

import numpy as np

from qwen_vad.audio.degrade import apply_filter, apply_reverb
from qwen_vad.audio.mix import centre_extract, mix_at_snr, noise_excerpt, peak_normalise, place_in_container
from qwen_vad.config import DataConfig
from qwen_vad.data.design import Condition


def render_clip(
    segment: np.ndarray, background: np.ndarray, condition: Condition, cfg: DataConfig, rng: np.random.Generator
) -> np.ndarray:
    # Reverb goes on the whole segment before cutting, so the clip carries the tail of what
    # came before it, as a clip cut from a reverberant recording would.
    wet = apply_reverb(segment, condition.reverb_rt60_s, rng)
    clip = centre_extract(wet, condition.duration_ms)
    # The SNR is set over the clip itself (never the container).
    mixed = mix_at_snr(clip, noise_excerpt(background, clip.size, rng), condition.snr_db)
    # The filter models the channel, so it acts on speech and noise alike.
    clip = peak_normalise(apply_filter(mixed, condition.filter), cfg.peak_dbfs)
    if cfg.container_ms > 0:
        clip = place_in_container(clip, cfg.container_ms, cfg.container_noise_dbfs, rng)
    return clip
