"""The classic VADs on real espeak speech and real (procedural) noise, through the scorer interface."""

from __future__ import annotations

import numpy as np
import pytest

from qwen_vad.audio.mix import centre_extract, peak_normalise
from qwen_vad.baselines.silero import SileroVAD
from qwen_vad.baselines.webrtc import webrtc_frame_decisions
from qwen_vad.config import BaselinesConfig, Config, EvaluateConfig
from qwen_vad.data.sources.synthetic import SyntheticSource
from qwen_vad.errors import ConfigError
from qwen_vad.scoring.systems import make_scorer


def make_vad_scorer(system: str, baselines: BaselinesConfig):
    """The scorer ``evaluate.system=<system>`` gets, through the systems registry."""
    return make_scorer(Config(evaluate=EvaluateConfig(system=system), baselines=baselines))


def clips(category: str, n: int, ms: int, background: bool = False) -> list[np.ndarray]:
    stream = SyntheticSource(seed=3, background=background).iter_segments(category)
    return [peak_normalise(centre_extract(next(stream).audio, ms)) for _ in range(n)]


@pytest.fixture(scope="module")
def speech() -> list[np.ndarray]:
    return clips("speech", 6, 500)


@pytest.fixture(scope="module")
def noise() -> list[np.ndarray]:
    return clips("noise", 6, 500, background=True)


@pytest.mark.parametrize("system", ["silero", "energy", "ten_vad"])
def test_vads_score_espeak_speech_above_noise(system: str, speech, noise) -> None:
    scorer = make_vad_scorer(system, BaselinesConfig())
    speech_scores, noise_scores = scorer.score(speech).p_speech, scorer.score(noise).p_speech
    assert speech_scores.shape == (6,) and np.all((0 <= speech_scores) & (speech_scores <= 1))
    assert speech_scores.mean() > noise_scores.mean() + 0.2
    assert speech_scores.min() > noise_scores.max()


def test_webrtc_scores_speech_above_quiet_noise_but_calls_loud_noise_speech(speech, noise) -> None:
    """WebRTC judges absolute level: at -1 dBFS peak it calls broadband noise speech (which is
    why it is not a NONSPEECH hygiene filter by default); against a quiet room it separates."""
    scorer = make_vad_scorer("webrtc", BaselinesConfig())
    quiet = [n * 10 ** (-40 / 20) for n in noise]
    assert scorer.score(speech).p_speech.mean() > scorer.score(quiet).p_speech.mean() + 0.5
    assert scorer.score(noise).p_speech.mean() > 0.9


def test_webrtc_frames_and_short_clips() -> None:
    assert webrtc_frame_decisions(np.zeros(320, dtype=np.float32), 3, 30).shape == (1,)
    assert webrtc_frame_decisions(np.zeros(16000, dtype=np.float32), 3, 10).shape == (100,)
    with pytest.raises(ValueError, match="10, 20, 30"):
        webrtc_frame_decisions(np.zeros(320, dtype=np.float32), 3, 25)


def test_silero_batches_reset_state_and_pad_short_clips(speech, noise) -> None:
    vad = SileroVAD(batch_size=4)
    mixed = [speech[0], noise[0][:300], speech[1][:4000], noise[1]]
    batched = vad.window_probabilities(mixed)
    alone = [vad.window_probabilities([clip])[0] for clip in mixed]
    for b, a, clip in zip(batched, alone, mixed, strict=True):
        assert b.size == max(1, -(-clip.size // 512))
        np.testing.assert_allclose(b, a, atol=1e-5)
    assert batched[1].size == 1  # 300 samples: padded to one window, never rejected


def test_silero_aggregations_and_unknown_system(speech) -> None:
    cfg = BaselinesConfig()
    scores = {}
    for aggregation in ("max", "mean", "share"):
        cfg.silero_aggregation = aggregation
        scores[aggregation] = make_vad_scorer("silero", cfg).score(speech[:2]).p_speech
    assert np.all(scores["max"] >= scores["mean"])
    with pytest.raises(ConfigError, match="evaluate.system: unknown system 'silro' \\(did you mean 'silero'\\?\\); valid: qwen, webrtc, silero"):
        make_vad_scorer("silro", cfg)
