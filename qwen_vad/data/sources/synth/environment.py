"""Procedural environmental sounds: rain, wind, engines, passing vehicles, clatter, water."""

from __future__ import annotations

import numpy as np

from qwen_vad.data.sources.synth import dsp
from qwen_vad.data.sources.synth.dsp import SoundGenerator


def rain(rng: np.random.Generator, n: int) -> np.ndarray:
    """A hissing noise bed plus hundreds of tiny drop impacts, each a short decaying click."""
    bed = dsp.highpass(dsp.coloured_noise(rng, n, rng.uniform(0.0, 1.0)), rng.uniform(300, 1000))
    impulses = np.zeros(n)
    onsets = dsp.event_times(rng, n, rate_hz=rng.uniform(80, 400))
    impulses[onsets] = rng.uniform(0.2, 1.0, onsets.size) * rng.choice([-1.0, 1.0], onsets.size)
    # One shared resonance band per shower: drops on the same surface sound alike.
    drops = dsp.bandpass(impulses, rng.uniform(1500, 3000), rng.uniform(5000, 7500), order=2)
    return dsp.unit_rms(bed) * rng.uniform(0.2, 0.6) + dsp.unit_rms(drops)


def wind(rng: np.random.Generator, n: int) -> np.ndarray:
    """Gusting wind: low-passed noise whose level and brightness drift over seconds.

    Brightness moves by cross-fading a dark and a brighter low-passed copy under one gust
    curve, which is much cheaper than a time-varying filter and sounds the same.
    """
    source = dsp.coloured_noise(rng, n, rng.uniform(1.0, 2.0))
    dark = dsp.lowpass(source, rng.uniform(150, 400))
    bright = dsp.bandpass(source, rng.uniform(300, 600), rng.uniform(900, 2000))
    gust = dsp.smooth_random(rng, n, rate_hz=rng.uniform(0.3, 1.2))
    return dsp.unit_rms(dark) * (0.3 + 0.7 * gust) + dsp.unit_rms(bright) * 0.5 * gust**2


def engine_hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Idling engine or generator: a 20–45 Hz firing frequency with harmonics, RPM wobble, rumble."""
    firing_hz = rng.uniform(20, 45)
    wobble = 1 + 0.02 * (dsp.smooth_random(rng, n, rate_hz=2.0) - 0.5)
    cycles = np.cumsum(firing_hz * wobble) / dsp.SAMPLE_RATE
    # Eleven harmonics (up to ~500 Hz) with uneven strengths and random phases: a rough buzz.
    order = np.arange(1, 12)
    table = dsp.wavetable(order ** -rng.uniform(0.7, 1.3, order.size), rng.uniform(0, 2 * np.pi, order.size))
    rumble = dsp.lowpass(dsp.coloured_noise(rng, n, 1.5), rng.uniform(200, 800))
    return dsp.unit_rms(dsp.read_wavetable(table, cycles)) + dsp.unit_rms(rumble) * rng.uniform(0.3, 0.8)


def passing_vehicle(rng: np.random.Generator, n: int) -> np.ndarray:
    """A car passing by: tyre/engine noise swelling and fading as the car approaches and leaves."""
    noise = dsp.lowpass(dsp.coloured_noise(rng, n, 1.0), rng.uniform(1500, 4000))
    t = np.linspace(-1.0, 1.0, n) * rng.uniform(0.8, 2.5) - rng.uniform(-0.5, 0.5)
    proximity = 1.0 / (1.0 + 4.0 * t**2)
    return noise * (0.1 + proximity)


def clatter(rng: np.random.Generator, n: int) -> np.ndarray:
    """Dishes, cutlery, tools: random impacts each ringing two to four resonant modes at 1–7 kHz."""
    out = dsp.coloured_noise(rng, n, 1.0) * 0.01
    for start in dsp.event_times(rng, n, rate_hz=rng.uniform(3, 12)):
        length = dsp.seconds_to_samples(0.25)
        impulse = np.zeros(length)
        impulse[0] = 1.0
        struck = sum(
            dsp.resonator(impulse, rng.uniform(1000, 7000), decay_s=rng.uniform(0.01, 0.08))
            for _ in range(int(rng.integers(2, 5)))
        )
        dsp.add_at(out, dsp.unit_rms(struck) * rng.uniform(0.2, 1.0), start)
    return out


def dripping(rng: np.random.Generator, n: int) -> np.ndarray:
    """Water drops: each a 10–40 ms sine gliding upward (the bubble's resonance), over quiet room noise."""
    out = dsp.coloured_noise(rng, n, 1.5) * 0.005
    for start in dsp.event_times(rng, n, rate_hz=rng.uniform(2, 8), min_gap_s=0.05):
        length = dsp.seconds_to_samples(rng.uniform(0.01, 0.04))
        base = rng.uniform(700, 2000)
        drop = dsp.sweep(base, base * rng.uniform(1.5, 2.5), length, curve=2.0)
        dsp.add_at(out, drop * dsp.exp_decay(length, length / dsp.SAMPLE_RATE / 3) * rng.uniform(0.3, 1.0), start)
    return out


def running_water(rng: np.random.Generator, n: int) -> np.ndarray:
    """A stream or tap: band-passed noise with fast random amplitude flutter and bubbling blips."""
    band = dsp.bandpass(rng.standard_normal(n), rng.uniform(300, 800), rng.uniform(3000, 6000))
    flutter = 0.5 + 0.5 * dsp.smooth_random(rng, n, rate_hz=rng.uniform(15, 40))
    return dsp.unit_rms(band * flutter) + dsp.unit_rms(dripping(rng, n)) * 0.3


GENERATORS: dict[str, SoundGenerator] = {
    "rain": rain,
    "wind": wind,
    "engine_hum": engine_hum,
    "passing_vehicle": passing_vehicle,
    "clatter": clatter,
    "dripping": dripping,
    "running_water": running_water,
}
