"""Audio loading edge cases, SNR exactness, normalisation, cutting and degradations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from qwen_vad.audio.degrade import apply_filter, apply_reverb, synthetic_rir
from qwen_vad.audio.io import SAMPLE_RATE, AudioError, load_audio, save_audio
from qwen_vad.audio.mix import centre_extract, mix_at_snr, peak_normalise, place_in_container, snr_db


def tone(freq: float, seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_24"), ("OGG", "VORBIS")])
@pytest.mark.parametrize("sr", [8000, 44100, 48000])
def test_any_format_and_rate_loads_as_16k_mono(tmp_path: Path, fmt: str, subtype: str, sr: int) -> None:
    stereo = np.stack([tone(440, 0.5, sr), tone(440, 0.5, sr)], axis=1)
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, stereo, sr, format=fmt, subtype=subtype)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - 8000) <= 2
    # The 440 Hz tone survives: its spectral peak is where it was.
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / audio.size - 440) < 5


def test_save_load_round_trip_is_exact(tmp_path: Path) -> None:
    audio = np.random.default_rng(0).uniform(-0.9, 0.9, 4000).astype(np.float32)
    save_audio(tmp_path / "a.wav", audio)
    np.testing.assert_array_equal(load_audio(tmp_path / "a.wav"), audio)


@pytest.mark.parametrize(
    "content,expected",
    [
        (np.zeros(1600, dtype=np.float32), "all zeros"),
        (np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), "NaN or inf"),
        (np.array([0.1, np.inf] * 100, dtype=np.float32), "NaN or inf"),
    ],
)
def test_bad_audio_is_an_error_naming_the_file(tmp_path: Path, content: np.ndarray, expected: str) -> None:
    path = tmp_path / "bad.wav"
    sf.write(path, content, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match=f"bad.wav.*{expected}"):
        load_audio(path)


def test_empty_unreadable_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    garbage = tmp_path / "garbage.flac"
    garbage.write_bytes(b"this is not audio" * 10)
    for path, reason in [(empty, "empty"), (garbage, "unreadable"), (tmp_path / "nope.wav", "no such")]:
        with pytest.raises(AudioError, match=f"{path.name}.*{reason}"):
            load_audio(path)


@settings(max_examples=200, deadline=None)
@given(
    snr=st.floats(min_value=-30, max_value=40),
    n=st.integers(min_value=16, max_value=16000),
    target_scale=st.floats(min_value=1e-4, max_value=1.0),
    noise_scale=st.floats(min_value=1e-4, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_mix_sets_the_snr_exactly(snr: float, n: int, target_scale: float, noise_scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    target = (rng.standard_normal(n) * target_scale).astype(np.float32)
    noise = (rng.standard_normal(n) * noise_scale).astype(np.float32)
    mixed = mix_at_snr(target, noise, snr)
    added = mixed.astype(np.float64) - target.astype(np.float64)
    assert abs(snr_db(target.astype(np.float64), added) - snr) <= 0.01


def test_clean_condition_returns_the_target_and_lengths_must_match() -> None:
    target = tone(300, 0.2)
    np.testing.assert_array_equal(mix_at_snr(target, np.ones_like(target), math.inf), target)
    with pytest.raises(ValueError, match="lengths differ"):
        mix_at_snr(target, np.ones(10, dtype=np.float32), 0.0)


def test_peak_normalisation_never_clips() -> None:
    loud = tone(200, 0.1) * 7
    out = peak_normalise(loud, -1.0)
    assert math.isclose(float(np.max(np.abs(out))), 10 ** (-1 / 20), rel_tol=1e-6)
    with pytest.raises(ValueError, match="clipping"):
        peak_normalise(loud, 0.5)


def test_centre_extraction_takes_the_middle() -> None:
    ramp = np.arange(32000, dtype=np.float32)
    cut = centre_extract(ramp, 200)
    assert cut.size == 3200 and cut[0] == (32000 - 3200) // 2
    with pytest.raises(ValueError, match="cannot cut"):
        centre_extract(ramp[:100], 200)


def gain_at(audio_in: np.ndarray, audio_out: np.ndarray, freq: float) -> float:
    spectrum_in, spectrum_out = np.abs(np.fft.rfft(audio_in)), np.abs(np.fft.rfft(audio_out))
    k = int(round(freq * audio_in.size / SAMPLE_RATE))
    return 20 * np.log10(spectrum_out[k] / spectrum_in[k])


@pytest.mark.parametrize(
    "name,passes,stops",
    [("lowpass", 1000, 7000), ("highpass", 1000, 60), ("bandpass", 1000, 7000), ("bandpass", 1000, 60)],
)
def test_filters_pass_and_stop_the_right_bands(name: str, passes: float, stops: float) -> None:
    mix = tone(passes, 1.0) + tone(stops, 1.0)
    out = apply_filter(mix, name)
    assert abs(gain_at(mix, out, passes)) < 0.5
    assert gain_at(mix, out, stops) < -30
    assert out.size == mix.size  # zero-phase, same length


def test_filters_work_on_a_20ms_clip_and_reject_unknown_names() -> None:
    assert apply_filter(tone(1000, 0.02), "bandpass").size == 320
    with pytest.raises(ValueError, match="valid: none, bandpass"):
        apply_filter(tone(1000, 0.02), "telephone")


@pytest.mark.parametrize("rt60", [0.3, 1.0, 2.5])
def test_rir_decays_60_db_over_rt60(rt60: float) -> None:
    rir = synthetic_rir(rt60, np.random.default_rng(0))
    energy = np.cumsum(rir[::-1] ** 2)[::-1]  # Schroeder backward integration
    decay_db = 10 * np.log10(energy / energy[1])
    # Fit the -5..-25 dB stretch and extrapolate to 60 dB (the usual T20 estimate).
    idx = np.where((decay_db < -5) & (decay_db > -25))[0]
    slope = np.polyfit(idx / SAMPLE_RATE, decay_db[idx], 1)[0]
    assert abs(-60 / slope - rt60) / rt60 < 0.1


def test_reverb_keeps_length_and_level_and_smears_energy() -> None:
    clicks = np.zeros(16000, dtype=np.float32)
    clicks[::4000] = 1.0
    wet = apply_reverb(clicks, 1.0, np.random.default_rng(1))
    assert wet.size == clicks.size
    assert math.isclose(float(np.sqrt(np.mean(wet.astype(np.float64) ** 2))), float(np.sqrt(np.mean(clicks**2))), rel_tol=1e-4)
    assert np.count_nonzero(np.abs(wet) > 1e-3) > 100 * np.count_nonzero(clicks)
    np.testing.assert_array_equal(apply_reverb(clicks, 0.0, np.random.default_rng(1)), clicks)


def test_container_centres_the_clip_in_quiet_noise() -> None:
    clip = tone(500, 0.2)
    out = place_in_container(clip, 2000, -70.0, np.random.default_rng(0))
    assert out.size == 32000
    start = (32000 - clip.size) // 2
    np.testing.assert_allclose(out[start : start + clip.size], clip, atol=3e-3)  # noise RMS is -70 dBFS
    assert 0 < np.max(np.abs(out[:start])) < 10 ** (-50 / 20)


def test_saved_files_do_not_depend_on_the_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    audio = np.random.default_rng(1).uniform(-0.5, 0.5, 800).astype(np.float32)
    save_audio(tmp_path / "a.wav", audio)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    save_audio(tmp_path / "b.wav", audio)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
