"""Turn a clean segment into one clip of a condition: each axis's degradation in its render
step order (qwen_vad.conditions: reverb, cut, noise, filter), then the level."""

from __future__ import annotations

import numpy as np

from qwen_vad.audio.mix import peak_normalise, place_in_container
from qwen_vad.conditions import rendering_order
from qwen_vad.config import DataConfig
from qwen_vad.data.degradations import Rendering
from qwen_vad.data.design import Condition


def render_clip(
    segment: np.ndarray, background: np.ndarray, condition: Condition, cfg: DataConfig, rng: np.random.Generator
) -> np.ndarray:
    rendering = Rendering(background, rng)
    audio = segment
    for axis in rendering_order():
        audio = axis.degradation()(audio, condition[axis.column], rendering)
    clip = peak_normalise(audio, cfg.peak_dbfs)
    if cfg.container_ms > 0:
        clip = place_in_container(clip, cfg.container_ms, cfg.container_noise_dbfs, rng)
    return clip
