"""Signal primitives shared by the procedural generators (numpy/scipy only, 16 kHz)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from scipy import signal

from qwen_vad.audio.io import SAMPLE_RATE

# Every sound generator has this shape: a seeded RNG and a length in samples in, raw audio out.
SoundGenerator = Callable[[np.random.Generator, int], np.ndarray]

NYQUIST = SAMPLE_RATE / 2


def seconds_to_samples(duration_s: float) -> int:
    return max(1, int(round(duration_s * SAMPLE_RATE)))


def time_axis(n: int) -> np.ndarray:
    return np.arange(n) / SAMPLE_RATE


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown, <0 blue).

    Shaped in the frequency domain: one FFT pair, exact slope, no filter warm-up transient.
    The unit-RMS output keeps callers' mixing weights meaningful.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    # Flatten below 20 Hz so brown noise is not dominated by inaudible DC drift.
    spectrum /= np.maximum(freqs, 20.0) ** (exponent / 2)
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


@functools.lru_cache(maxsize=512)
def _sos(kind: str, cutoff: float | tuple[float, float], order: int) -> np.ndarray:
    # Cached: drum hits and rain drops reuse fixed filters, and designing one costs more than
    # running it. Cut-offs are kept inside (0, Nyquist) so random parameters never break it.
    if isinstance(cutoff, tuple):
        low, high = (float(np.clip(c, 10.0, NYQUIST * 0.98)) for c in cutoff)
        cutoff = (min(low, high * 0.9), high)
    else:
        cutoff = float(np.clip(cutoff, 10.0, NYQUIST * 0.98))
    return signal.butter(order, cutoff, btype=kind, fs=SAMPLE_RATE, output="sos")


def lowpass(audio: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    return signal.sosfilt(_sos("lowpass", cutoff_hz, order), audio)


def highpass(audio: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    return signal.sosfilt(_sos("highpass", cutoff_hz, order), audio)


def bandpass(audio: np.ndarray, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    return signal.sosfilt(_sos("bandpass", (low_hz, high_hz), order), audio)


def resonator(audio: np.ndarray, freq_hz: float, decay_s: float) -> np.ndarray:
    """Two-pole resonance ringing at ``freq_hz`` whose impulse response decays by 1/e in ``decay_s``.

    This is the modal-synthesis building block for struck objects (plates, cups, drops).
    """
    radius = np.exp(-1.0 / (decay_s * SAMPLE_RATE))
    theta = 2 * np.pi * min(freq_hz, NYQUIST * 0.95) / SAMPLE_RATE
    return signal.lfilter([1.0 - radius], [1.0, -2 * radius * np.cos(theta), radius**2], audio)


def adsr(n: int, attack_s: float, decay_s: float, sustain: float, release_s: float) -> np.ndarray:
    """Attack-decay-sustain-release envelope of exactly ``n`` samples (phases shrink to fit)."""
    attack = min(seconds_to_samples(attack_s), n)
    decay = min(seconds_to_samples(decay_s), n - attack)
    release = min(seconds_to_samples(release_s), n - attack - decay)
    hold = n - attack - decay - release
    return np.concatenate(
        [
            np.linspace(0.0, 1.0, attack, endpoint=False),
            np.linspace(1.0, sustain, decay, endpoint=False),
            np.full(hold, sustain),
            np.linspace(sustain, 0.0, release),
        ]
    )


def exp_decay(n: int, tau_s: float) -> np.ndarray:
    return np.exp(-time_axis(n) / tau_s)


# Samples in one period of a wavetable. Read without interpolation (the fast path), the phase
# rounding error of an 8th harmonic stays more than 60 dB under the tone: inaudible.
WAVETABLE_SIZE = 16384


def wavetable(amplitudes: np.ndarray, phases: np.ndarray | None = None) -> np.ndarray:
    """One period of sum_k amplitudes[k-1] * sin(2 pi k x + phases[k-1]), x in [0, 1).

    Built as an inverse FFT: bin k = -j * a_k * e^(j phi_k) * N/2 is exactly that sine.
    """
    amplitudes = np.asarray(amplitudes, dtype=float)
    phases = np.zeros_like(amplitudes) if phases is None else np.asarray(phases, dtype=float)
    spectrum = np.zeros(WAVETABLE_SIZE // 2 + 1, dtype=complex)
    spectrum[1 : amplitudes.size + 1] = -0.5j * WAVETABLE_SIZE * amplitudes * np.exp(1j * phases)
    return np.fft.irfft(spectrum, WAVETABLE_SIZE)


def read_wavetable(table: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """The periodic wave at running phase ``cycles`` (in periods; may glide for vibrato or RPM drift)."""
    return table[(np.mod(cycles, 1.0) * WAVETABLE_SIZE).astype(np.int64) % WAVETABLE_SIZE]


def harmonic_tone(freq_hz: float, n: int, n_harmonics: int, rolloff: float, phase: float = 0.0) -> np.ndarray:
    """Additive tone with harmonic k at amplitude 1/k**rolloff; partials above 7 kHz are dropped.

    Summed once into a wavetable and read at the tone's phase: one table lookup per note
    instead of one full-length sine per harmonic.
    """
    harmonics = np.arange(1, n_harmonics + 1, dtype=float)
    amplitudes = np.where(harmonics * freq_hz < 7000.0, harmonics**-rolloff, 0.0)
    return read_wavetable(wavetable(amplitudes), np.arange(n) * (freq_hz / SAMPLE_RATE) + phase / (2 * np.pi))


def sweep(start_hz: float, end_hz: float, n: int, curve: float = 1.0) -> np.ndarray:
    """Sine whose frequency glides from ``start_hz`` to ``end_hz`` (curve > 1 bends the glide late)."""
    progress = np.linspace(0.0, 1.0, n) ** curve
    freq = start_hz + (end_hz - start_hz) * progress
    return np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE)


def smooth_random(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """A random curve in [0, 1] that changes about ``rate_hz`` times per second (cosine-interpolated)."""
    n_points = max(2, int(np.ceil(n / SAMPLE_RATE * rate_hz)) + 2)
    points = rng.uniform(0.0, 1.0, n_points)
    position = np.linspace(0.0, n_points - 1.001, n)
    index = position.astype(int)
    frac = (1 - np.cos(np.pi * (position - index))) / 2
    return points[index] * (1 - frac) + points[index + 1] * frac


def add_at(buffer: np.ndarray, event: np.ndarray, start: int) -> None:
    """Mix ``event`` into ``buffer`` from sample ``start`` on, dropping whatever overruns the end."""
    if start >= buffer.size or start + event.size <= 0:
        return
    begin = max(start, 0)
    end = min(start + event.size, buffer.size)
    buffer[begin:end] += event[begin - start : end - start]


def event_times(rng: np.random.Generator, n: int, rate_hz: float, min_gap_s: float = 0.0) -> np.ndarray:
    """Onsets (in samples) of a Poisson process at ``rate_hz`` with an optional refractory gap."""
    gaps = rng.exponential(1.0 / rate_hz, size=int(n / SAMPLE_RATE * rate_hz * 3) + 4) + min_gap_s
    onsets = np.cumsum(gaps) - rng.uniform(0, gaps[0])
    return (onsets[onsets * SAMPLE_RATE < n] * SAMPLE_RATE).astype(int)


def unit_rms(audio: np.ndarray) -> np.ndarray:
    return audio / (np.sqrt(np.mean(audio**2)) + 1e-12)
