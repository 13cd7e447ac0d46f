"""Noise: the NONSPEECH "noise" category and the stationary background pool used for SNR mixing.

The two sets share primitives but not their role. ``GENERATORS`` (the target category) may be
bursty or modulated, because a burst of hiss is a non-speech event worth classifying.
``BACKGROUND_GENERATORS`` are stationary or only slowly varying and never tonal beyond mains
hum: the dataset builder adds them under *every* clip, speech and non-speech alike, so they
must carry no event structure that could become a cue for either label.
"""

from __future__ import annotations

import numpy as np

from qwen_vad.data.sources.synth import dsp
from qwen_vad.data.sources.synth.dsp import SoundGenerator

# Spectral slopes (1/f**exponent) by name; "coloured" draws the slope at random between them.
NOISE_COLOURS = {"blue": -1.0, "white": 0.0, "pink": 1.0, "brown": 2.0}


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    return dsp.coloured_noise(rng, n, NOISE_COLOURS["white"])


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    return dsp.coloured_noise(rng, n, NOISE_COLOURS["pink"])


def brown(rng: np.random.Generator, n: int) -> np.ndarray:
    return dsp.coloured_noise(rng, n, NOISE_COLOURS["brown"])


def coloured(rng: np.random.Generator, n: int) -> np.ndarray:
    """Any slope between blue and brown, optionally band-limited like a cheap microphone or a fan."""
    noise = dsp.coloured_noise(rng, n, rng.uniform(-1.0, 2.5))
    if rng.random() < 0.5:
        noise = dsp.bandpass(noise, rng.uniform(50, 400), rng.uniform(2500, 7500))
    return noise


def hum_plus_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz and a few harmonics, like a ground loop) under pink/brown hiss."""
    mains_hz = float(rng.choice([50.0, 60.0]))
    n_harmonics = int(rng.integers(2, 6))
    hum = dsp.harmonic_tone(mains_hz, n, n_harmonics, rolloff=rng.uniform(0.8, 1.6), phase=rng.uniform(0, 6.3))
    hiss = dsp.coloured_noise(rng, n, rng.uniform(0.8, 2.0))
    return dsp.unit_rms(hum) * rng.uniform(0.2, 0.8) + hiss


def slowly_varying(rng: np.random.Generator, n: int) -> np.ndarray:
    """Coloured noise whose level drifts by at most ~3 dB over seconds (HVAC, distant traffic)."""
    noise = dsp.coloured_noise(rng, n, rng.uniform(0.5, 2.2))
    return noise * (0.7 + 0.3 * dsp.smooth_random(rng, n, rate_hz=rng.uniform(0.2, 0.6)))


def noise_bursts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Bursts of 50–400 ms of coloured noise over near-silence (steam, spray, static hits)."""
    out = dsp.coloured_noise(rng, n, 1.0) * 0.02
    for start in dsp.event_times(rng, n, rate_hz=rng.uniform(1.5, 4.0), min_gap_s=0.05):
        length = dsp.seconds_to_samples(rng.uniform(0.05, 0.4))
        burst = dsp.coloured_noise(rng, length, rng.uniform(-0.5, 2.0))
        dsp.add_at(out, burst * dsp.adsr(length, rng.uniform(0.002, 0.03), 0.02, 0.8, rng.uniform(0.01, 0.1)), start)
    return out


def band_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """A half- to two-octave band of noise anywhere between 100 Hz and 7 kHz (whistling fans, hiss)."""
    centre = float(np.exp(rng.uniform(np.log(150), np.log(6000))))
    half_width = 2 ** rng.uniform(0.25, 1.0)
    return dsp.bandpass(rng.standard_normal(n), centre / half_width, centre * half_width)


def crackle(rng: np.random.Generator, n: int) -> np.ndarray:
    """Vinyl/radio crackle: sparse random clicks of random size over faint hiss."""
    out = dsp.coloured_noise(rng, n, 0.5) * 0.03
    clicks = np.zeros(n)
    onsets = dsp.event_times(rng, n, rate_hz=rng.uniform(10, 80))
    clicks[onsets] = rng.standard_normal(onsets.size) * rng.pareto(2.0, onsets.size)
    return out + dsp.highpass(clicks, rng.uniform(500, 3000), order=2)


GENERATORS: dict[str, SoundGenerator] = {
    "white": white,
    "pink": pink,
    "brown": brown,
    "coloured": coloured,
    "bursts": noise_bursts,
    "band": band_noise,
    "crackle": crackle,
    "hum": hum_plus_noise,
}

BACKGROUND_GENERATORS: dict[str, SoundGenerator] = {
    "white": white,
    "pink": pink,
    "brown": brown,
    "coloured": coloured,
    "hum": hum_plus_noise,
    "slowly_varying": slowly_varying,
}
