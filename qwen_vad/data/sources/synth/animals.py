"""Procedural animal sounds: bird chirps and trills, crickets, cicadas, frogs, barks.

Real animal calls overlap speech in places (a dog's bark is a harmonic burst at voice-like
pitch). The generators here keep to the cues that make them read as animals rather than
talkers: birds and insects live at 2–8 kHz, frog croaks are click trains far below voice
pitch, and barks are short noisy bursts with a steep pitch fall and no formant movement.
"""

from __future__ import annotations

import numpy as np

from qwen_vad.data.sources.synth import dsp
from qwen_vad.data.sources.synth.dsp import SoundGenerator


def _chirp(rng: np.random.Generator) -> np.ndarray:
    length = dsp.seconds_to_samples(rng.uniform(0.03, 0.15))
    low, high = sorted(rng.uniform(2000, 7000, size=2))
    shape = rng.choice(["up", "down", "arch"])
    if shape == "arch":
        # Rise then fall: two half-sweeps back to back.
        half = length // 2
        tone = np.concatenate([dsp.sweep(low, high, half), dsp.sweep(high, low, length - half)])
    else:
        start, end = (low, high) if shape == "up" else (high, low)
        tone = dsp.sweep(start, end, length, curve=rng.uniform(0.5, 2.0))
    return tone * np.hanning(length)


def bird_chirps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Songbird phrases: bursts of short FM sweeps separated by pauses."""
    out = np.zeros(n)
    for phrase_start in dsp.event_times(rng, n, rate_hz=rng.uniform(1.0, 3.0), min_gap_s=0.2):
        position = phrase_start
        for _ in range(int(rng.integers(1, 6))):
            chirp = _chirp(rng) * rng.uniform(0.4, 1.0)
            dsp.add_at(out, chirp, position)
            position += chirp.size + dsp.seconds_to_samples(rng.uniform(0.02, 0.12))
    return out


def bird_trill(rng: np.random.Generator, n: int) -> np.ndarray:
    """A rapid trill: one short note repeated 12–30 times a second at 3–6 kHz, with vibrato."""
    out = np.zeros(n)
    rate = rng.uniform(12, 30)
    note_len = dsp.seconds_to_samples(0.6 / rate)
    centre = rng.uniform(3000, 6000)
    depth = rng.uniform(200, 1200)
    for trill_start in dsp.event_times(rng, n, rate_hz=0.8, min_gap_s=0.3):
        for k in range(int(rng.integers(8, 30))):
            start = trill_start + dsp.seconds_to_samples(k / rate)
            note = dsp.sweep(centre + depth, centre - depth, note_len) * np.hanning(note_len)
            dsp.add_at(out, note, start)
    return out


def cricket(rng: np.random.Generator, n: int) -> np.ndarray:
    """Field cricket: a pure 3.5–5.5 kHz carrier gated into pulses, grouped into chirps."""
    carrier_hz = rng.uniform(3500, 5500)
    pulse_rate = rng.uniform(20, 50)
    pulses_per_chirp = int(rng.integers(3, 8))
    chirp_period = dsp.seconds_to_samples(rng.uniform(0.3, 0.8))
    t = dsp.time_axis(n)
    pulse_phase = (t * pulse_rate) % 1.0
    pulse_gate = np.clip(np.sin(np.pi * pulse_phase / 0.6), 0, None) * (pulse_phase < 0.6)
    pulse_index = np.floor(t * pulse_rate).astype(int)
    samples_per_pulse = dsp.SAMPLE_RATE / pulse_rate
    pulses_per_period = max(pulses_per_chirp + 1, int(chirp_period / samples_per_pulse))
    chirp_gate = (pulse_index % pulses_per_period) < pulses_per_chirp
    return np.sin(2 * np.pi * carrier_hz * t + rng.uniform(0, 2 * np.pi)) * pulse_gate * chirp_gate


def cicada(rng: np.random.Generator, n: int) -> np.ndarray:
    """Cicada drone: a 4–8 kHz noise band pulsed 30–90 times a second, swelling slowly.

    Pulse rates in the voice-pitch range (100–250 Hz) made Silero call a quarter of these speech.
    """
    low = rng.uniform(4000, 5500)
    band = dsp.bandpass(rng.standard_normal(n), low, low + rng.uniform(1000, 2500), order=3)
    t = dsp.time_axis(n)
    buzz = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(30, 90) * t)
    swell = 0.4 + 0.6 * dsp.smooth_random(rng, n, rate_hz=0.7)
    return band * buzz * swell


def frog_croaks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Frog croaks: 15–40 clicks per second (far below voice pitch) ringing a 500–1500 Hz resonance."""
    out = np.zeros(n)
    resonance_hz = rng.uniform(500, 1500)
    click_rate = rng.uniform(15, 40)
    for croak_start in dsp.event_times(rng, n, rate_hz=rng.uniform(1.0, 2.5), min_gap_s=0.15):
        croak_len = dsp.seconds_to_samples(rng.uniform(0.12, 0.4))
        clicks = np.zeros(croak_len)
        clicks[:: dsp.seconds_to_samples(1.0 / click_rate)] = 1.0
        ringing = dsp.resonator(clicks, resonance_hz, decay_s=rng.uniform(0.004, 0.01))
        ringing += 0.5 * dsp.resonator(clicks, resonance_hz * rng.uniform(2.2, 3.0), decay_s=0.003)
        dsp.add_at(out, ringing * np.hanning(croak_len), croak_start)
    return out


def barks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Dog-like barks: 80–200 ms noisy bursts with a harmonic core whose pitch drops steeply."""
    out = np.zeros(n)
    for start in dsp.event_times(rng, n, rate_hz=rng.uniform(1.5, 4.0), min_gap_s=0.15):
        length = dsp.seconds_to_samples(rng.uniform(0.08, 0.2))
        envelope = dsp.adsr(length, 0.005, 0.03, 0.6, 0.05)
        f0_start = rng.uniform(500, 900)
        pitch = dsp.sweep(f0_start, f0_start * rng.uniform(0.4, 0.6), length, curve=0.5)
        # A sign-preserving power < 1 pushes the sine toward a square wave: a harsh odd-partial series.
        harsh = np.sign(pitch) * np.abs(pitch) ** 0.3
        noise = dsp.bandpass(rng.standard_normal(length), 800, 5000)
        dsp.add_at(out, (harsh * 0.6 + noise * 0.8) * envelope, start)
    return out


GENERATORS: dict[str, SoundGenerator] = {
    "bird_chirps": bird_chirps,
    "bird_trill": bird_trill,
    "cricket": cricket,
    "cicada": cicada,
    "frog_croaks": frog_croaks,
    "barks": barks,
}
