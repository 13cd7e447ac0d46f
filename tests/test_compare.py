"""Paired comparisons: exact McNemar, Holm, paired cluster bootstrap, clip-set checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qwen_vad.analysis.compare import (
    align_on_clips,
    compare_family,
    compare_pair,
    holm_adjust,
    mcnemar_exact,
    paired_balanced_accuracy_difference,
)
from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.metrics import classification_metrics

S, N = "SPEECH", "NONSPEECH"


def test_mcnemar_exact_textbook_example() -> None:
    # Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, Table 1: airway
    # hyper-responsiveness before/after stem cell transplantation in 21 children
    # (Bentur et al. 2009): 1 yes/yes, 1 yes/no, 7 no/yes, 12 no/no. Exact conditional
    # McNemar p = 0.070: 2 * P(X <= 1 | X ~ Bin(8, 1/2)) = 2 * (1 + 8) / 256 = 0.0703125.
    correct_a = np.array([True] * 1 + [True] * 1 + [False] * 7 + [False] * 12)
    correct_b = np.array([True] * 1 + [False] * 1 + [True] * 7 + [False] * 12)
    result = mcnemar_exact(correct_a, correct_b)
    assert (result["only_a_correct"], result["only_b_correct"]) == (1, 7)
    assert result["p_value"] == pytest.approx(2 * 9 / 256)
    assert round(result["p_value"], 3) == 0.070


def test_mcnemar_is_symmetric_and_one_without_discordant_pairs() -> None:
    a = np.array([True, False, True, True, False])
    b = np.array([False, False, True, True, True])
    assert mcnemar_exact(a, b)["p_value"] == mcnemar_exact(b, a)["p_value"] == 1.0  # b = c = 1
    assert mcnemar_exact(a, a)["p_value"] == 1.0


def test_holm_wikipedia_example() -> None:
    # en.wikipedia.org/wiki/Holm-Bonferroni_method, example: p = 0.01, 0.04, 0.03, 0.005 at
    # alpha 0.05 rejects H1 and H4. Sorted: 4 * 0.005 = 0.02, 3 * 0.01 = 0.03,
    # 2 * 0.03 = 0.06, 1 * 0.04 -> 0.06 after the running maximum.
    adjusted = holm_adjust([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [p <= 0.05 for p in adjusted] == [True, False, False, True]
    assert holm_adjust([0.3, 0.9]) == pytest.approx([0.6, 0.9])  # 2 * 0.3, then 1 * 0.9
    assert holm_adjust([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # 1.2 capped; 0.7 raised to the running max


def run(correct: np.ndarray, labels: np.ndarray, base: np.ndarray | None = None) -> pd.DataFrame:
    wrong = np.where(labels == S, N, S)
    df = pd.DataFrame(
        {
            "clip_id": [f"clip{i:04d}" for i in range(labels.size)],
            "label": labels,
            "pred": np.where(correct, labels, wrong),
            "p_speech": 0.5,
        }
    )
    if base is not None:
        df["base_clip_id"] = base
    return df


def test_clip_set_mismatch_is_refused_with_details() -> None:
    labels = np.array([S, N] * 5)
    a = run(np.ones(10, bool), labels)
    b = a.iloc[2:].copy()
    b.loc[len(a)] = ["extra_clip", S, S, 0.5]
    with pytest.raises(ValueError) as error:
        align_on_clips(a, b, "qwen", "silero")
    message = str(error.value)
    assert "10 vs 9 clips" in message
    assert "2 only in qwen" in message and "clip0000" in message
    assert "1 only in silero" in message and "extra_clip" in message


def test_different_labels_for_the_same_clip_are_refused() -> None:
    labels = np.array([S, N, S, N])
    a = run(np.ones(4, bool), labels)
    b = a.assign(label=[S, N, N, N])
    with pytest.raises(ValueError, match="different labels"):
        align_on_clips(a, b)


def test_alignment_ignores_row_order() -> None:
    labels = np.array([S, N, S, N])
    a = run(np.array([True, True, False, False]), labels)
    shuffled = a.iloc[[3, 1, 0, 2]]
    result = compare_pair(a, shuffled, n_resamples=50)
    assert result["mcnemar"]["only_a_correct"] == result["mcnemar"]["only_b_correct"] == 0


def test_paired_bootstrap_difference() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    labels = np.where(np.arange(n) % 2 == 0, S, N)
    base = np.arange(n) // 4  # four variants per base clip
    correct_a = rng.uniform(size=n) < 0.7
    # b fixes 8 % of a's errors and keeps everything else: a small but consistent gain.
    correct_b = correct_a | (rng.uniform(size=n) < 0.08)
    a, b = run(correct_a, labels, base), run(correct_b, labels, base)
    result = paired_balanced_accuracy_difference(a, b.sample(frac=1, random_state=0), n_resamples=1000, seed=0)
    expected = classification_metrics(b)["balanced_accuracy"] - classification_metrics(a)["balanced_accuracy"]
    assert result["difference_b_minus_a"] == pytest.approx(expected)
    interval = result["interval"]
    assert 0 < interval["low"] < expected < interval["high"]
    # Pairing cancels the shared difficulty: the interval of the difference is much narrower
    # than either system's own accuracy interval (~ +-0.02 at n = 2000 / 4-clip clusters).
    assert interval["high"] - interval["low"] < 0.03


def test_identical_runs_differ_by_exactly_zero() -> None:
    labels = np.array([S, N] * 50)
    a = run(np.random.default_rng(1).uniform(size=100) < 0.6, labels)
    result = paired_balanced_accuracy_difference(a, a.copy(), n_resamples=200)
    assert result["interval"]["low"] == result["interval"]["high"] == 0.0


def test_family_applies_holm_over_all_pairs() -> None:
    rng = np.random.default_rng(2)
    labels = np.array([S, N] * 100)
    accuracy = {"webrtc": 0.6, "silero": 0.75, "qwen": 0.9}
    runs = {name: run(rng.uniform(size=200) < p, labels) for name, p in accuracy.items()}
    family = compare_family(runs, n_resamples=200)
    comparisons = family["comparisons"]
    assert [(c["a"], c["b"]) for c in comparisons] == [("qwen", "silero"), ("qwen", "webrtc"), ("silero", "webrtc")]
    raw = [c["mcnemar"]["p_value"] for c in comparisons]
    assert [c["mcnemar"]["p_value_holm"] for c in comparisons] == pytest.approx(holm_adjust(raw))
    assert comparisons[1]["mcnemar"]["significant_holm"]  # qwen vs webrtc: 0.9 vs 0.6 on 200 clips
    json.dumps(to_jsonable(family), allow_nan=False)
    with pytest.raises(ValueError, match="not among"):
        compare_family(runs, pairs=[("qwen", "ten-vad")])
