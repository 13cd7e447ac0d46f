"""ECE / MCE on a hand example, reliability bins, and temperature scaling on simulated data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from qwen_vad.analysis.calibration import (
    apply_temperature,
    calibration_error,
    calibration_report,
    fit_temperature,
    temperature_scaling_report,
)
from qwen_vad.analysis.jsonable import to_jsonable

S, N, U = "SPEECH", "NONSPEECH", "UNKNOWN"


def test_ece_and_mce_hand_example() -> None:
    confidence = np.array([0.95, 0.85, 0.9, 0.65, 0.7, 0.55])
    correct = np.array([True, False, True, True, False, True])
    result = calibration_error(confidence, correct, n_bins=5)
    # Bins of width 0.2:
    #   (0.8, 1.0]: 0.95 T, 0.85 F, 0.9 T -> confidence 0.9,   accuracy 2/3, gap 0.2333
    #   (0.6, 0.8]: 0.65 T, 0.7 F         -> confidence 0.675, accuracy 1/2, gap 0.175
    #   (0.4, 0.6]: 0.55 T                -> confidence 0.55,  accuracy 1,   gap 0.45
    # ECE = (3 * 0.2333 + 2 * 0.175 + 1 * 0.45) / 6 = 1.5 / 6; MCE = 0.45
    assert result["ece"] == pytest.approx(0.25)
    assert result["mce"] == pytest.approx(0.45)
    bins = result["bins"]
    assert [b["count"] for b in bins] == [0, 0, 1, 2, 3]
    assert bins[4]["mean_confidence"] == pytest.approx(0.9)
    assert bins[4]["accuracy"] == pytest.approx(2 / 3)
    assert math.isnan(bins[0]["accuracy"])  # empty bin: undefined, null in JSON


def test_bins_are_right_closed() -> None:
    # 0.8 belongs to (0.6, 0.8], 0 to the first bin, 1 to the last.
    counts = [b["count"] for b in calibration_error(np.array([0.8, 0.0, 1.0]), np.ones(3, bool), n_bins=5)["bins"]]
    assert counts == [1, 0, 0, 1, 1]


def test_report_uses_chosen_class_confidence_and_skips_unknown() -> None:
    df = pd.DataFrame(
        {
            "clip_id": ["a", "b", "c"],
            "label": [S, N, S],
            "pred": [S, N, U],
            "p_speech": [0.9, 0.2, 0.5],  # chosen-class confidence 0.9, 0.8, none
        }
    )
    report = calibration_report(df, n_bins=10)
    assert report["n"] == 2 and report["n_without_confidence"] == 1
    # Both answers right: gaps 0.1 and 0.2 in their own bins -> ECE 0.15
    assert report["ece"] == pytest.approx(0.15)
    assert report["brier"] == pytest.approx((0.1**2 + 0.2**2 + 0.5**2) / 3)
    json.dumps(to_jsonable(report), allow_nan=False)


def simulated(true_temperature: float, n: int, seed: int, threshold: float = 0.5) -> pd.DataFrame:
    """Labels drawn from sigmoid(z); the model reports sigmoid(z * T0), so dividing its logit by
    T0 recovers the calibrated probability: T0 > 1 is overconfident, T0 < 1 underconfident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, size=n)
    speech = rng.uniform(size=n) < expit(z)
    p = expit(z * true_temperature)
    return pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(n)],
            "label": np.where(speech, S, N),
            "p_speech": p,
            "threshold": threshold,
            "pred": np.where(p >= threshold, S, N),
        }
    )


@pytest.mark.parametrize("true_temperature", [2.5, 0.5])
def test_temperature_scaling_recovers_a_known_temperature(true_temperature: float) -> None:
    dev = simulated(true_temperature, n=20_000, seed=1)
    fit = fit_temperature(dev["p_speech"].to_numpy(), (dev["label"] == S).to_numpy())
    assert fit["temperature"] == pytest.approx(true_temperature, rel=0.05)
    assert not fit["at_search_bound"]


def test_temperature_scaling_report_improves_test_calibration_and_keeps_answers() -> None:
    dev, test = simulated(2.5, 10_000, seed=2, threshold=0.3), simulated(2.5, 10_000, seed=3, threshold=0.3)
    report = temperature_scaling_report(dev, test)
    before, after = report["test"]["before"], report["test"]["after"]
    assert after["ece"] < before["ece"] / 3
    assert after["nll"] < before["nll"]
    scaled = apply_temperature(test, report["temperature"])
    answers = np.where(scaled["p_speech"] >= scaled["threshold"], S, N)
    assert (answers == test["pred"]).all()  # the threshold moved with the probabilities
    json.dumps(to_jsonable(report), allow_nan=False)


def test_temperature_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        fit_temperature(np.array([0.9, 0.8]), np.array([True, True]))
