"""Power of the exact McNemar test: the exact sum against a Monte-Carlo simulation of the test
as compare.mcnemar_exact runs it, the MDD and clip counts it implies, Holm levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qwen_vad.analysis import power as P
from qwen_vad.analysis.compare import compare_family, mcnemar_exact

S, N = "SPEECH", "NONSPEECH"
REPETITIONS = 3000


def simulated_power(n: int, discordance: float, difference: float, alpha: float, seed: int = 0) -> float:
    """Share of simulated test sets on which mcnemar_exact rejects: each clip discordant with
    probability ψ, a discordant clip won by A with probability π = ½ + Δ / 2ψ."""
    rng = np.random.default_rng(seed)
    favour_a = 0.5 + difference / (2 * discordance)
    rejected = 0
    for _ in range(REPETITIONS):
        discordant = rng.uniform(size=n) < discordance
        a_wins = rng.uniform(size=n) < favour_a
        both_right = rng.uniform(size=n) < 0.5  # concordant clips: right or wrong together
        correct_a = np.where(discordant, a_wins, both_right)
        correct_b = np.where(discordant, ~a_wins, both_right)
        rejected += mcnemar_exact(correct_a, correct_b)["p_value"] <= alpha
    return rejected / REPETITIONS


def tolerance(p: float) -> float:
    return 4 * np.sqrt(p * (1 - p) / REPETITIONS) + 1e-3


@pytest.mark.parametrize(("n", "discordance", "difference", "alpha"), [(60, 0.4, 0.2, 0.05), (80, 0.3, 0.1, 0.025), (40, 0.5, 0.0, 0.05)])
def test_exact_power_matches_simulation(n: int, discordance: float, difference: float, alpha: float) -> None:
    exact = P.mcnemar_power(n, discordance, difference, alpha)
    assert simulated_power(n, discordance, difference, alpha) == pytest.approx(exact, abs=tolerance(exact))
    assert P.mcnemar_power(n, discordance, -difference, alpha) == pytest.approx(exact)


def test_rejection_bounds_are_where_mcnemar_exact_rejects() -> None:
    for d in range(0, 40):
        k = int(P.rejection_bounds(np.array([d]), 0.05)[0])
        rejects = [b for b in range(d + 1) if mcnemar_exact(np.r_[np.ones(b), np.zeros(d - b)] > 0, np.r_[np.zeros(b), np.ones(d - b)] > 0)["p_value"] <= 0.05]
        assert rejects == [b for b in range(d + 1) if b <= k or b >= d - k], d


def test_minimum_detectable_difference_has_the_target_power() -> None:
    n, discordance, alpha = 80, 0.4, 0.05
    mdd = P.minimum_detectable_difference(n, discordance, alpha)
    assert mdd is not None and 0 < mdd <= discordance
    assert P.mcnemar_power(n, discordance, mdd, alpha) == pytest.approx(0.8, abs=1e-6)
    assert simulated_power(n, discordance, mdd, alpha, seed=1) == pytest.approx(0.8, abs=tolerance(0.8))
    assert P.mcnemar_power(n, discordance, 0.9 * mdd, alpha) < 0.8
    # Few discordant clips: not even a clean sweep of them reaches 80 % power.
    assert P.minimum_detectable_difference(10, 0.2, 0.05) is None
    assert P.minimum_detectable_difference(100, 0.0, 0.05) is None
    # A stricter (Holm) level needs a larger difference.
    assert P.minimum_detectable_difference(n, discordance, alpha / 3) > mdd


def test_clips_needed_reach_the_target_and_half_as_many_do_not() -> None:
    discordance, difference, alpha = 0.3, 0.1, 0.05
    n = P.clips_needed(difference, discordance, alpha)
    assert n is not None and n > 10
    assert P.mcnemar_power(n, discordance, difference, alpha) >= 0.8
    assert simulated_power(n, discordance, difference, alpha, seed=2) >= 0.8 - tolerance(0.8)
    assert P.mcnemar_power(n // 2, discordance, difference, alpha) < 0.6
    assert P.clips_needed(0.05, discordance, alpha) > 3 * n  # half the difference: about 4x the clips
    assert P.clips_needed(0.4, discordance, alpha) is None  # |Δ| cannot exceed the discordance


def test_holm_levels_by_rank() -> None:
    assert P.holm_levels([0.04, 0.001, 0.03], 0.05) == [(2, 0.05), (0, pytest.approx(0.05 / 3)), (1, 0.025)]


def test_family_reports_what_each_comparison_could_detect() -> None:
    rng = np.random.default_rng(3)
    labels = np.array([S, N] * 100)
    cells = {"label": labels, "duration_ms": np.repeat([200, 1000], 100), "snr_db": np.tile(np.repeat([0.0, 10.0, 20.0, 30.0], 2), 25)}
    runs = {}
    for name, accuracy in {"webrtc": 0.6, "qwen": 0.85}.items():
        correct = rng.uniform(size=200) < accuracy
        pred = np.where(correct, labels, np.where(labels == S, N, S))
        runs[name] = pd.DataFrame({"clip_id": [f"c{i}" for i in range(200)], "label": labels, "pred": pred,
                                   "p_speech": (pred == S).astype(float), "base_clip_id": [f"b{i}" for i in range(200)], **cells})  # fmt: skip
    family = compare_family(runs, n_resamples=100)
    (comparison,) = family["comparisons"]
    block = comparison["detectable"]
    test = comparison["mcnemar"]
    assert block["discordance_rate"] == (test["only_a_correct"] + test["only_b_correct"]) / 200
    assert block["alpha"] == 0.05 and block["holm_rank"] == 0
    assert block["minimum_difference"] == P.minimum_detectable_difference(200, block["discordance_rate"], 0.05)
    (row,) = family["planning"]["rows"]
    assert row["cells"] == 16 and row["clips_per_cell"] == 200 / 16
    assert [need["difference"] for need in row["needed"]] == [0.02, 0.05, 0.10]
    per_cell = [need["clips_per_cell"] for need in row["needed"]]
    assert per_cell[0] > per_cell[1] > per_cell[2] > 0
    assert row["needed"][2]["clips_per_cell"] == -(-P.clips_needed(0.10, block["discordance_rate"], 0.05) // 16)
