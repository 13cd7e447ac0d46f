"""Optional degradations: reverberation at a given RT60 and telephone-like filters."""

from __future__ import annotations

import numpy as np
from scipy import signal

from qwen_vad.audio.io import SAMPLE_RATE

# name -> (scipy btype, cut-off frequencies in Hz). Telephone band edges, 4th-order Butterworth
# as in the degradation bank of the follow-up work.
FILTERS: dict[str, tuple[str, float | tuple[float, float]]] = {
    "bandpass": ("bandpass", (300.0, 3400.0)),
    "lowpass": ("lowpass", 3400.0),
    "highpass": ("highpass", 300.0),
}
FILTER_ORDER = 4
NO_FILTER = "none"


def apply_filter(audio: np.ndarray, name: str) -> np.ndarray:
    """Zero-phase Butterworth filtering (sosfiltfilt: no group delay shifts the clip)."""
    if name == NO_FILTER:
        return audio
    if name not in FILTERS:
        raise ValueError(f"unknown filter {name!r}; valid: {', '.join([NO_FILTER, *FILTERS])}")
    btype, cutoff = FILTERS[name]
    sos = signal.butter(FILTER_ORDER, cutoff, btype=btype, fs=SAMPLE_RATE, output="sos")
    # sosfiltfilt needs the signal longer than its padding; very short clips use less padding.
    padlen = min(3 * (2 * len(sos) + 1), audio.size - 1)
    return signal.sosfiltfilt(sos, audio.astype(np.float64), padlen=padlen).astype(np.float32)


def synthetic_rir(rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying white noise: a room impulse response with the given RT60.

    The energy falls by 60 dB over rt60_s, i.e. amplitude exp(-6.91 t / rt60). A unit direct
    path keeps the dry signal dominant at the start, as in a real room.
    """
    length = max(1, int(rt60_s * SAMPLE_RATE))
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-3 * np.log(10) * t / rt60_s)
    tail[0] = 0.0
    rir = tail / np.sqrt(np.sum(tail**2) + 1e-12) * 0.5
    rir[0] = 1.0
    return rir


def apply_reverb(audio: np.ndarray, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic RIR; the output keeps the input's length and RMS."""
    if rt60_s <= 0:
        return audio
    wet = signal.fftconvolve(audio.astype(np.float64), synthetic_rir(rt60_s, rng))[: audio.size]
    rms_in, rms_out = np.sqrt(np.mean(audio.astype(np.float64) ** 2)), np.sqrt(np.mean(wet**2))
    return (wet * (rms_in / rms_out if rms_out > 0 else 1.0)).astype(np.float32)
