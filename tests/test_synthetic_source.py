"""The built-in synthetic source: determinism, valid segments, disjoint background pool, realism."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import webrtcvad

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.synth import espeak
from qwen_vad.data.sources.synth.sentences import TEMPLATES, sentence_bank
from qwen_vad.data.sources.synth.speakers import VARIANTS, all_speakers
from qwen_vad.data.sources.synthetic import PEAK_RANGE, SyntheticSource

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_CATEGORIES = ("speech", "music", "animals", "noise", "environment")


def first_segments(source: SyntheticSource, category: str, count: int) -> list[Segment]:
    return list(itertools.islice(source.iter_segments(category), count))


def fingerprint(segments: list[Segment]) -> str:
    """One hash over the audio bytes and every metadata field, in order."""
    digest = hashlib.sha256()
    for seg in segments:
        digest.update(seg.audio.tobytes())
        digest.update("|".join((seg.label, seg.category, seg.source, seg.group, seg.origin)).encode())
    return digest.hexdigest()


def centre_cut(audio: np.ndarray, ms: int) -> np.ndarray:
    n = ms * SAMPLE_RATE // 1000
    start = (audio.size - n) // 2
    return audio[start : start + n]


def webrtc_voiced_share(audio: np.ndarray) -> float:
    """Share of 30 ms frames WebRTC VAD (mode 3, fresh instance) calls speech."""
    vad = webrtcvad.Vad(3)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    frame = 30 * SAMPLE_RATE // 1000
    frames = [pcm[2 * i : 2 * (i + frame)] for i in range(0, audio.size - frame + 1, frame)]
    return float(np.mean([vad.is_speech(f, SAMPLE_RATE) for f in frames]))


# --- interface and validity -------------------------------------------------------------------


def test_categories_and_labels():
    assert SyntheticSource(0).categories() == {
        "speech": SPEECH,
        "music": NONSPEECH,
        "animals": NONSPEECH,
        "noise": NONSPEECH,
        "environment": NONSPEECH,
    }
    assert SyntheticSource(0, background=True).categories() == {"noise": NONSPEECH}


@pytest.mark.parametrize("category", ["music", "animals", "noise", "environment"])
def test_every_nonspeech_subtype_yields_valid_segments(category):
    source = SyntheticSource(seed=4)
    subtypes = source.subtypes(category)
    assert len(subtypes) >= 5
    # Two full round-robin cycles: every sub-type generator runs twice.
    segments = first_segments(source, category, 2 * len(subtypes))
    assert [s.origin.split("/")[4] for s in segments] == list(subtypes) * 2
    for seg in segments:
        assert seg.label == NONSPEECH and seg.category == category and seg.source == "synthetic"
        assert seg.audio.dtype == np.float32 and seg.audio.shape == (2 * SAMPLE_RATE,)
        assert np.all(np.isfinite(seg.audio))
        assert PEAK_RANGE[0] * 0.99 <= np.max(np.abs(seg.audio)) <= PEAK_RANGE[1] * 1.01
        # The clip the builder will cut from the centre carries the sound, not just the floor.
        centre = centre_cut(seg.audio, 200)
        assert np.sqrt(np.mean(centre**2)) > 1e-3 * np.max(np.abs(seg.audio)), seg.origin
        assert seg.origin.endswith("@0.000s") and seg.origin.startswith(f"synthetic://{category}/seed4/")


def test_speech_segments_are_valid_and_long_enough():
    for segment_ms, expected_ms in ((2000, 2000), (1000, 1200)):
        for seg in first_segments(SyntheticSource(seed=2, segment_ms=segment_ms), "speech", 4):
            assert seg.label == SPEECH and seg.category == "speech" and seg.source == "synthetic"
            assert seg.audio.dtype == np.float32 and seg.audio.size == expected_ms * SAMPLE_RATE // 1000
            assert np.all(np.isfinite(seg.audio)) and np.any(seg.audio)
            assert PEAK_RANGE[0] * 0.99 <= np.max(np.abs(seg.audio)) <= PEAK_RANGE[1] * 1.01
            speaker = seg.group.removeprefix("synthetic:speech:")
            assert seg.origin.startswith(f"synthetic://speech/{speaker}/seed2/")


def test_nonspeech_length_follows_segment_ms():
    for segment_ms in (500, 3000):
        seg = SyntheticSource(seed=1, segment_ms=segment_ms).segment("environment", 0)
        assert seg.audio.size == segment_ms * SAMPLE_RATE // 1000


def test_unknown_category_and_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="choose one of"):
        next(SyntheticSource(0).iter_segments("speeech"))
    with pytest.raises(ValueError, match=r"background pool.*\['noise'\]"):
        SyntheticSource(0, background=True).segment("speech", 0)
    with pytest.raises(ValueError, match="seed"):
        SyntheticSource(-1)
    with pytest.raises(ValueError, match="segment_ms"):
        SyntheticSource(0, segment_ms=0)


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_same_segments_different_seed_different():
    for category in TARGET_CATEGORIES:
        first = first_segments(SyntheticSource(seed=7), category, 3)
        again = first_segments(SyntheticSource(seed=7), category, 3)
        other = first_segments(SyntheticSource(seed=8), category, 3)
        assert fingerprint(first) == fingerprint(again), category
        for a, b in zip(first, again):
            np.testing.assert_array_equal(a.audio, b.audio)
            assert (a.group, a.origin, a.label) == (b.group, b.origin, b.label)
        assert not any(np.array_equal(a.audio, b.audio) for a, b in zip(first, other)), category


def test_random_access_matches_iteration_order():
    source = SyntheticSource(seed=3)
    streamed = first_segments(source, "animals", 4)
    assert fingerprint([source.segment("animals", 3)]) == fingerprint(streamed[3:])
    # Drawing other categories in between must not shift a stream.
    source.segment("speech", 0)
    assert fingerprint(first_segments(source, "animals", 4)) == fingerprint(streamed)


def test_segments_are_identical_in_a_fresh_process():
    """Another interpreter with a different hash seed produces the same bytes and metadata."""
    script = (
        "import itertools, sys; sys.path.insert(0, 'tests');"
        "from test_synthetic_source import fingerprint;"
        "from qwen_vad.data.sources.synthetic import SyntheticSource;"
        "print(fingerprint([s for c in ('speech', 'music', 'environment') "
        "for s in itertools.islice(SyntheticSource(11).iter_segments(c), 2)]"
        " + list(itertools.islice(SyntheticSource(11, background=True).iter_segments('noise'), 2))))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    here = [s for c in ("speech", "music", "environment") for s in first_segments(SyntheticSource(11), c, 2)]
    here += first_segments(SyntheticSource(11, background=True), "noise", 2)
    assert result.stdout.strip() == fingerprint(here)


# --- background pool ------------------------------------------------------------------------------


def test_background_pool_is_disjoint_from_targets():
    target = SyntheticSource(seed=5)
    background = SyntheticSource(seed=5, background=True)
    bg_segments = first_segments(background, "noise", 12)
    target_segments = [s for c in TARGET_CATEGORIES for s in first_segments(target, c, 12 if c != "speech" else 3)]
    assert {s.group for s in bg_segments}.isdisjoint({s.group for s in target_segments})
    assert {s.origin for s in bg_segments}.isdisjoint({s.origin for s in target_segments})
    assert all(s.group.startswith("synthetic-background:") for s in bg_segments)
    assert not any(s.group.startswith("synthetic-background") for s in target_segments)
    # Same seed, same index, same generator ("white" comes first in both) -> still other noise.
    assert target.subtypes("noise")[0] == background.subtypes("noise")[0] == "white"
    assert not np.array_equal(target.segment("noise", 0).audio, bg_segments[0].audio)
    assert len({s.group for s in bg_segments}) == len(bg_segments)


def test_background_pool_is_stationary():
    """No events in the pool: the level of 250 ms frames stays within a few dB over 2 s.

    (Brown noise alone wanders ~4 dB between 250 ms frames; a burst or a note would add 10+.)
    """
    for seg in first_segments(SyntheticSource(seed=6, background=True), "noise", 18):
        frames = seg.audio.reshape(-1, SAMPLE_RATE // 4).astype(np.float64)
        level_db = 10 * np.log10(np.mean(frames**2, axis=1))
        assert level_db.max() - level_db.min() < 6.0, seg.origin


# --- speech realism --------------------------------------------------------------------------------


def test_speakers_are_many_and_drawn_widely():
    speakers = all_speakers()
    assert len({s.id for s in speakers}) == len(speakers) >= 100
    groups = {seg.group for seg in first_segments(SyntheticSource(seed=9), "speech", 30)}
    assert len(groups) >= 25


def test_every_variant_changes_the_voice():
    """espeak-ng silently ignores unknown variants; each listed one must really sound different."""
    renders = {v: espeak.synthesize("seven yellow candles", f"en-us+{v}", 160, 50).tobytes() for v in VARIANTS}
    assert len(set(renders.values())) == len(VARIANTS)


def test_sentence_banks_are_large_and_pause_free():
    for language in TEMPLATES:
        bank = sentence_bank(language)
        assert len(set(bank)) == len(bank) >= 300, language
        assert not any(mark in sentence for sentence in bank for mark in ",.;:!?"), language


def test_trim_silence_cuts_padding_only():
    tone = np.sin(np.linspace(0, 400 * np.pi, 8000)).astype(np.float32)
    padded = np.concatenate([np.zeros(3200, np.float32), tone, np.zeros(4800, np.float32)])
    trimmed = espeak.trim_silence(padded)
    assert abs(trimmed.size - tone.size) <= 160  # within one 10 ms frame
    assert np.max(np.abs(trimmed[:160])) > 0.5 and np.max(np.abs(trimmed[-160:])) > 0.5


def test_webrtc_hears_more_speech_in_speech_than_in_nonspeech():
    """Mean WebRTC voiced share on 1000 ms centre cuts, compared at one calibrated level.

    At -35 dBFS RMS; at the segments' own levels a fresh WebRTC instance (mode 3) flags loud
    noise as speech too, so comparing there would say nothing about content.
    """
    source = SyntheticSource(seed=0)
    share = {}
    for category in TARGET_CATEGORIES:
        cuts = [centre_cut(s.audio.astype(np.float64), 1000) for s in first_segments(source, category, 8)]
        share[category] = np.mean([webrtc_voiced_share(c / np.sqrt(np.mean(c**2)) * 10 ** (-35 / 20)) for c in cuts])
    assert share["speech"] >= 0.6, share
    assert share["noise"] <= share["speech"] - 0.3, share
    assert all(share["speech"] > share[c] for c in TARGET_CATEGORIES if c != "speech"), share


def test_silero_hears_speech_only_in_speech():
    torch = pytest.importorskip("torch")
    from silero_vad import load_silero_vad

    model = load_silero_vad()

    def silero_share(audio: np.ndarray) -> float:
        model.reset_states()
        samples = torch.from_numpy(centre_cut(audio, 1000))
        probs = [model(samples[i : i + 512], SAMPLE_RATE).item() for i in range(0, samples.numel() - 511, 512)]
        return float(np.mean(np.array(probs) > 0.5))

    source = SyntheticSource(seed=0)
    speech = [silero_share(s.audio) for s in first_segments(source, "speech", 6)]
    assert np.mean(speech) >= 0.8, speech
    for category in ("music", "animals", "noise", "environment"):
        shares = [silero_share(s.audio) for s in first_segments(source, category, 8)]
        assert np.mean(shares) <= 0.1, (category, shares)


# --- missing binary ----------------------------------------------------------------------------------


def test_missing_espeak_binary_gives_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(espeak.EspeakNotFoundError, match="apt-get install espeak-ng"):
        SyntheticSource(seed=0).segment("speech", 0)
    # Also when the voice listings were never cached (first use in a fresh process).
    espeak.installed_languages.cache_clear()
    espeak.installed_variants.cache_clear()
    all_speakers.cache_clear()
    with pytest.raises(espeak.EspeakNotFoundError, match="apt-get install espeak-ng"):
        SyntheticSource(seed=0).segment("speech", 1)
    # The procedural categories need no binary at all.
    assert SyntheticSource(seed=0).segment("music", 0).audio.size == 2 * SAMPLE_RATE
