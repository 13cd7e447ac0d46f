"""Procedural music: pads, melodies, arpeggios, bells and drum patterns.

Pitched parts sit mostly above the range of speaking voices (fundamentals from ~260 Hz up) and
use steady pitch with sharp note onsets, which keeps them from sounding like voiced speech; sine
sub-bass lines and drum kits add the low register that real music has.
"""

from __future__ import annotations

import numpy as np

from qwen_vad.data.sources.synth import dsp
from qwen_vad.data.sources.synth.dsp import SoundGenerator

# Intervals in semitones above the root of the chord qualities used by pads and arpeggios.
CHORDS = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "sus4": (0, 5, 7),
    "major7": (0, 4, 7, 11),
    "minor7": (0, 3, 7, 10),
    "dominant7": (0, 4, 7, 10),
}
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9),
}


def midi_to_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _timbre(rng: np.random.Generator) -> tuple[int, float]:
    """(number of harmonics, roll-off exponent): from flute-like to bright organ/string-like."""
    return int(rng.integers(2, 9)), float(rng.uniform(0.8, 2.0))


def _note(freq_hz: float, n: int, timbre: tuple[int, float], envelope: np.ndarray) -> np.ndarray:
    return dsp.harmonic_tone(freq_hz, n, *timbre) * envelope


def _plucked_envelope(rng: np.random.Generator, n: int) -> np.ndarray:
    # A 2–8 ms attack gives a clear onset; exponential decay like a plucked or struck string.
    return dsp.adsr(n, rng.uniform(0.002, 0.008), 0.0, 1.0, 0.01) * dsp.exp_decay(n, rng.uniform(0.08, 0.4))


def _beat_samples(rng: np.random.Generator, low_bpm: float = 80, high_bpm: float = 170) -> int:
    return dsp.seconds_to_samples(60.0 / rng.uniform(low_bpm, high_bpm))


def chord_pad(rng: np.random.Generator, n: int) -> np.ndarray:
    """Sustained chords (organ/strings) with slow attacks, changing every one to two seconds."""
    out = np.zeros(n)
    timbre = _timbre(rng)
    chord_len = dsp.seconds_to_samples(rng.uniform(0.8, 2.0))
    for start in range(-int(rng.integers(0, chord_len)), n, chord_len):
        root = rng.integers(60, 73)
        intervals = CHORDS[rng.choice(list(CHORDS))]
        env = dsp.adsr(chord_len, rng.uniform(0.02, 0.25), 0.2, rng.uniform(0.5, 0.9), rng.uniform(0.05, 0.3))
        for interval in intervals:
            # A few cents of detune per voice gives the slow beating of real ensembles.
            freq = midi_to_hz(root + interval + rng.uniform(-0.08, 0.08))
            dsp.add_at(out, _note(freq, chord_len, timbre, env), start)
    return out


def melody(rng: np.random.Generator, n: int) -> np.ndarray:
    """A plucked or struck melody on a scale, with the occasional rest."""
    out = np.zeros(n)
    timbre = _timbre(rng)
    scale = SCALES[rng.choice(list(SCALES))]
    tonic = int(rng.integers(64, 77))
    step = _beat_samples(rng) // int(rng.choice([1, 2]))
    degree = int(rng.integers(0, len(scale)))
    for start in range(0, n, step):
        if rng.random() < 0.15:
            continue
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 2 * len(scale) - 1))
        note = tonic + scale[degree % len(scale)] + 12 * (degree // len(scale))
        length = step * int(rng.integers(1, 3))
        dsp.add_at(out, _note(midi_to_hz(note), length, timbre, _plucked_envelope(rng, length)), start)
    return out


def arpeggio(rng: np.random.Generator, n: int) -> np.ndarray:
    """Broken chords played fast (eighths or sixteenths), up, down or up-and-down."""
    out = np.zeros(n)
    timbre = _timbre(rng)
    step = _beat_samples(rng, 90, 150) // int(rng.choice([2, 4]))
    root = int(rng.integers(60, 72))
    intervals = CHORDS[rng.choice(list(CHORDS))]
    notes = [root + i + 12 * octave for octave in (0, 1) for i in intervals]
    pattern = {"up": notes, "down": notes[::-1], "updown": notes + notes[-2:0:-1]}[rng.choice(["up", "down", "updown"])]
    for index, start in enumerate(range(0, n, step)):
        length = step * 2
        freq = midi_to_hz(pattern[index % len(pattern)])
        dsp.add_at(out, _note(freq, length, timbre, _plucked_envelope(rng, length)), start)
    return out


def bells(rng: np.random.Generator, n: int) -> np.ndarray:
    """FM bells / mallets: inharmonic partials (carrier:modulator ratio ~1:1.4) with long decays."""
    out = np.zeros(n)
    ratio = rng.uniform(1.3, 3.6)
    index = rng.uniform(1.0, 5.0)
    for start in dsp.event_times(rng, n, rate_hz=rng.uniform(1.5, 5.0), min_gap_s=0.08):
        length = min(n, dsp.seconds_to_samples(rng.uniform(0.6, 1.5)))
        carrier = midi_to_hz(rng.integers(67, 91))
        t = dsp.time_axis(length)
        decay = dsp.exp_decay(length, rng.uniform(0.15, 0.5))
        modulator = index * decay * np.sin(2 * np.pi * carrier * ratio * t)
        dsp.add_at(out, np.sin(2 * np.pi * carrier * t + modulator) * decay, start)
    return out


def _kick(rng: np.random.Generator) -> np.ndarray:
    # Pitch-swept sine, the 808-style kick, kept below ~100 Hz: a kick gliding down from 150 Hz
    # crosses the voice-pitch range, and next to a chord pad Silero took a third of those for speech.
    length = dsp.seconds_to_samples(0.25)
    body = dsp.sweep(rng.uniform(70, 100), rng.uniform(40, 50), length, curve=0.3)
    return body * dsp.exp_decay(length, rng.uniform(0.06, 0.12))


def _snare(rng: np.random.Generator) -> np.ndarray:
    # Noise burst band-limited to the snare wires, plus a short tonal body from the drum head.
    length = dsp.seconds_to_samples(0.2)
    wires = dsp.bandpass(rng.standard_normal(length), 1500, 7000) * dsp.exp_decay(length, rng.uniform(0.03, 0.07))
    head = np.sin(2 * np.pi * rng.uniform(180, 240) * dsp.time_axis(length)) * dsp.exp_decay(length, 0.03)
    return wires * 2.0 + head * 0.4


def _hihat(rng: np.random.Generator) -> np.ndarray:
    # High-passed noise; the decay decides closed (~15 ms) vs open (~80 ms).
    length = dsp.seconds_to_samples(0.12)
    return dsp.highpass(rng.standard_normal(length), 7000) * dsp.exp_decay(length, rng.uniform(0.01, 0.06))


def drum_pattern(rng: np.random.Generator, n: int) -> np.ndarray:
    """A 16-step kick/snare/hi-hat loop with random variations, at 80–170 BPM."""
    out = np.zeros(n)
    step = _beat_samples(rng) // 4
    kicks = {0, 8} | {int(s) for s in rng.choice(16, size=int(rng.integers(0, 3)), replace=False)}
    snares = {4, 12}
    hats = set(range(0, 16, int(rng.choice([1, 2]))))
    for index, start in enumerate(range(0, n, step)):
        position = index % 16
        if position in kicks:
            dsp.add_at(out, _kick(rng), start)
        if position in snares:
            dsp.add_at(out, _snare(rng) * 0.7, start)
        if position in hats:
            dsp.add_at(out, _hihat(rng) * rng.uniform(0.2, 0.5), start)
    return out


def _sub_bass_line(rng: np.random.Generator, n: int) -> np.ndarray:
    """Eighth-note sine sub-bass (41–110 Hz), as in 808-style pop.

    Deliberately low and without overtones: a harmonic series on a 65–120 Hz fundamental is a
    male voice's source spectrum (Silero flagged ~70 % of such bass lines as speech), and even a
    pure sine up in 100–230 Hz next to drums was flagged a quarter of the time.
    """
    out = np.zeros(n)
    step = _beat_samples(rng) // 2
    root = int(rng.integers(28, 38))
    for start in range(0, n, step):
        freq = midi_to_hz(root + int(rng.choice([0, 0, 5, 7])))
        env = dsp.adsr(step, 0.005, 0.05, 0.6, 0.03)
        dsp.add_at(out, np.sin(2 * np.pi * freq * dsp.time_axis(step)) * env, start)
    return out


def band(rng: np.random.Generator, n: int) -> np.ndarray:
    """Drums + sub-bass line + pad or arpeggio, mixed at random balances, like a pop backing track."""
    mix = dsp.unit_rms(drum_pattern(rng, n)) * rng.uniform(0.6, 1.0)
    mix += dsp.unit_rms(_sub_bass_line(rng, n)) * rng.uniform(0.3, 0.7)
    harmony = chord_pad(rng, n) if rng.random() < 0.5 else arpeggio(rng, n)
    return mix + dsp.unit_rms(harmony) * rng.uniform(0.4, 0.8)


GENERATORS: dict[str, SoundGenerator] = {
    "chord_pad": chord_pad,
    "melody": melody,
    "arpeggio": arpeggio,
    "bells": bells,
    "drums": drum_pattern,
    "band": band,
}
