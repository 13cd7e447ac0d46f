"""Meta-prompt construction: history order and size, score buckets, exemplars (qwen_vad.opro)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qwen_vad.opro.exemplars import describe_clip, pick_exemplars
from qwen_vad.opro.meta_prompt import ScoredText, bucketed_score, build_meta_prompt, shown_history
from qwen_vad.opro.scripted_server import REWRITES, default_rewrites


def clips_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(6)],
            "label": ["SPEECH", "SPEECH", "SPEECH", "NONSPEECH", "NONSPEECH", "NONSPEECH"],
            "category": ["speech", "speech", "speech", "animals", "music", "noise"],
            "duration_ms": [200, 300, 500, 200, 1000, 500],
            "snr_db": [-5.0, 0.0, float("inf"), -5.0, 10.0, 20.0],
            "reverb_rt60_s": [0.0, 0.0, 0.0, 0.3, 0.0, 0.0],
            "filter": ["none", "none", "none", "none", "lowpass", "none"],
        }
    )


def test_history_shows_the_best_prompts_in_ascending_order() -> None:
    scored = [ScoredText(f"prompt {i}", score) for i, score in enumerate([0.70, 0.91, 0.55, 0.91, 0.80, 0.62])]
    meta = build_meta_prompt(scored, [], with_history=True, history_size=4, buckets=100)
    shown = shown_history(meta)
    # Top 4 by score, lowest first, best last (nearest the instruction); the tie keeps prompt order.
    assert shown == [("prompt 0", 70), ("prompt 4", 80), ("prompt 1", 91), ("prompt 3", 91)]
    assert "prompt 2" not in meta and "prompt 5" not in meta
    assert meta.rstrip().endswith("between <PROMPT> and </PROMPT>.")


@pytest.mark.parametrize(
    "score,buckets,shown",
    [(0.8749, 100, 87), (0.875, 100, 88), (0.0, 100, 0), (1.0, 100, 100), (0.87, 20, 85), (0.89, 20, 90), (0.34, 4, 25), (1.3, 100, 100)],
)
def test_scores_are_shown_as_integers_in_buckets(score: float, buckets: int, shown: int) -> None:
    assert bucketed_score(score, buckets) == shown


def test_random_mode_has_no_history() -> None:
    scored = [ScoredText("an old prompt\nA) speech\nB) no speech", 0.9)]
    meta = build_meta_prompt(scored, ["a clip -> SPEECH"], with_history=False, history_size=20, buckets=100)
    assert shown_history(meta) == [] and "an old prompt" not in meta and "score" not in meta
    assert "- a clip -> SPEECH" in meta and "<PROMPT>" in meta


def test_clips_are_described_in_words() -> None:
    rows = clips_frame()
    assert describe_clip(rows.iloc[3]) == "a 200 ms clip at -5 dB SNR of animal sounds, with reverberation (RT60 0.3 s)"
    assert describe_clip(rows.iloc[2]) == "a 500 ms clip clean (no added noise) of human speech"
    assert describe_clip(rows.iloc[4]) == "a 1000 ms clip at 10 dB SNR of music, low-pass filtered"


def test_exemplars_are_the_clips_the_best_prompt_gets_wrong_first() -> None:
    rows = clips_frame()
    predicted_speech = np.array([True, False, True, True, False, False])  # c1 and c3 wrong
    for seed in range(5):
        chosen = pick_exemplars(rows, predicted_speech, 3, np.random.default_rng(seed))
        assert len(chosen) == 3
        wrong = [line for line in chosen if line.endswith(": wrong)")]
        assert sorted(wrong) == sorted([
            "a 300 ms clip at 0 dB SNR of human speech -> SPEECH (the best prompt so far answered NONSPEECH: wrong)",
            "a 200 ms clip at -5 dB SNR of animal sounds, with reverberation (RT60 0.3 s) -> NONSPEECH "
            "(the best prompt so far answered SPEECH: wrong)",
        ])  # fmt: skip
        assert chosen[:2] == wrong  # the misclassified come first, the third is a correct one
    all_wrong = pick_exemplars(rows, np.array([False, False, False, True, True, True]), 3, np.random.default_rng(0))
    assert all(line.endswith(": wrong)") for line in all_wrong)


def test_exemplars_without_predictions_are_a_seeded_random_draw() -> None:
    rows = clips_frame()
    first = pick_exemplars(rows, None, 3, np.random.default_rng(7))
    assert first == pick_exemplars(rows, None, 3, np.random.default_rng(7))
    assert all("answered" not in line for line in first)
    assert pick_exemplars(rows, None, 0, np.random.default_rng(7)) == []


def test_scripted_rewrites_start_from_the_best_prompt_shown() -> None:
    scored = [ScoredText("worst\nA) speech\nB) no speech", 0.5), ScoredText("best\nA) speech\nB) no speech", 0.9)]
    meta = build_meta_prompt(scored, [], with_history=True, history_size=20, buckets=100)
    replies = default_rewrites(meta, len(REWRITES))
    assert replies == default_rewrites(meta, len(REWRITES))  # deterministic per request
    assert len(set(replies)) == len(REWRITES)
    assert all("best\nA) speech\nB) no speech" in reply and "worst" not in reply for reply in replies)
