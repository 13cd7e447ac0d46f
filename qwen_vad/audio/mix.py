"""Cutting, mixing at a target SNR and level normalisation of 16 kHz mono clips."""

from __future__ import annotations

import math

import numpy as np

from qwen_vad.audio.io import SAMPLE_RATE


def ms_to_samples(ms: float) -> int:
    return int(round(ms * SAMPLE_RATE / 1000))


def power(audio: np.ndarray) -> float:
    return float(np.mean(np.square(audio, dtype=np.float64)))


def centre_extract(audio: np.ndarray, duration_ms: float) -> np.ndarray:
    """The centre ``duration_ms`` of ``audio`` (the research plan's centre extraction).

    Raises ValueError when the audio is shorter than asked: padding would change what the
    clip is, so callers must pick long enough segments.
    """
    n = ms_to_samples(duration_ms)
    if n <= 0:
        raise ValueError(f"duration must be positive, got {duration_ms} ms")
    if audio.size < n:
        raise ValueError(f"cannot cut {duration_ms} ms from {audio.size / SAMPLE_RATE * 1000:.0f} ms of audio")
    start = (audio.size - n) // 2
    return audio[start : start + n]


def noise_excerpt(noise: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A random stretch of ``n_samples`` from ``noise`` (tiled when the noise is shorter)."""
    if noise.size < n_samples:
        noise = np.tile(noise, math.ceil(n_samples / noise.size))
    start = int(rng.integers(0, noise.size - n_samples + 1))
    return noise[start : start + n_samples]


def mix_at_snr(target: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``target + g * noise`` with g chosen so that power(target) / power(g * noise) = SNR.

    Both signals must have the same length: the SNR is defined over the clip itself. An
    infinite SNR returns the target unchanged (the clean condition).
    """
    if target.shape != noise.shape:
        raise ValueError(f"target and noise lengths differ: {target.shape} vs {noise.shape}")
    if math.isinf(snr_db) and snr_db > 0:
        return target.astype(np.float32)
    target_power, noise_power = power(target), power(noise)
    if target_power == 0.0 or noise_power == 0.0:
        raise ValueError("cannot set an SNR with a silent target or silent noise")
    # Computed in float64: float32 rounding alone would cost ~1e-3 dB on quiet mixes.
    gain = math.sqrt(target_power / (noise_power * 10 ** (snr_db / 10)))
    return (target.astype(np.float64) + gain * noise.astype(np.float64)).astype(np.float32)


def snr_db(target: np.ndarray, noise: np.ndarray) -> float:
    """Measured SNR of a target over the noise that was added to it."""
    return 10 * math.log10(power(target) / power(noise))


def peak_normalise(audio: np.ndarray, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale so the largest absolute sample sits at ``peak_dbfs`` (≤ 0 dBFS: never clips)."""
    if peak_dbfs > 0:
        raise ValueError(f"peak_dbfs must be <= 0 to avoid clipping, got {peak_dbfs}")
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0:
        raise ValueError("cannot normalise silent audio")
    return (audio.astype(np.float64) * (10 ** (peak_dbfs / 20) / peak)).astype(np.float32)


def place_in_container(
    clip: np.ndarray, container_ms: float, noise_dbfs: float, rng: np.random.Generator
) -> np.ndarray:
    """Centre ``clip`` in a longer container of very low-level white noise.

    Every input then has the same length; the clip's SNR was set before, over the clip alone.
    Low-level noise rather than digital zeros, because exact silence is itself a cue.
    """
    n = ms_to_samples(container_ms)
    if n < clip.size:
        raise ValueError(f"container of {container_ms} ms is shorter than the clip ({clip.size} samples)")
    container = rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    start = (n - clip.size) // 2
    container[start : start + clip.size] += clip
    return container.astype(np.float32)
