"""Calibration: ECE / MCE with reliability-diagram data, and temperature scaling.

Calibration is judged on the confidence of the chosen class (``frame.chosen_class_confidence``),
as in Guo et al. 2017 "On calibration of modern neural networks": equal-width bins on [0, 1],
bin m holding confidences in ((m-1)/M, m/M] (the first bin also holds 0). UNKNOWN answers have
no confidence and are left out (and counted).

Temperature scaling divides the logit of p_speech by one temperature T fitted on dev by
maximum likelihood and is then applied unchanged to test. The decision threshold is mapped the
same way, so every answer (and so every accuracy) stays as it was; only confidences change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit

from qwen_vad.analysis.frame import chosen_class_confidence, is_correct, is_speech, validate_predictions

DEFAULT_BINS = 15  # Guo et al. 2017
# p_speech of exactly 0 or 1 has an infinite logit; clipping keeps one overconfident clip from
# making the likelihood infinite, and 1e-6 is far below any probability a model reports usefully.
PROBABILITY_CLIP = 1e-6
# Search range for T: 1/100 to 100 covers any plausible miscalibration; hitting it is flagged.
TEMPERATURE_BOUNDS = (1e-2, 1e2)


def calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """ECE (count-weighted mean |accuracy - confidence| over bins), MCE (largest gap over
    non-empty bins) and the per-bin reliability data; rows with NaN confidence are skipped."""
    confidence = np.asarray(confidence, float)
    correct = np.asarray(correct, bool)
    has = ~np.isnan(confidence)
    confidence, correct = confidence[has], correct[has]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Right-closed bins: ceil(c * M) - 1 puts c in ((m-1)/M, m/M]; c = 0 goes to the first bin.
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(index, weights=correct.astype(float), minlength=n_bins) / count
    gap = np.abs(accuracy - mean_confidence)
    non_empty = count > 0
    total = int(count.sum())
    return {
        "ece": float(np.sum(count[non_empty] * gap[non_empty]) / total) if total else math.nan,
        "mce": float(gap[non_empty].max()) if total else math.nan,
        "n_bins": n_bins,
        "n": total,
        "n_without_confidence": int((~has).sum()),
        "bins": [
            {
                "lower": float(edges[m]),
                "upper": float(edges[m + 1]),
                "count": int(count[m]),
                "mean_confidence": float(mean_confidence[m]),
                "accuracy": float(accuracy[m]),
            }
            for m in range(n_bins)
        ],
    }


def clipped_logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(np.asarray(p, float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP))


def negative_log_likelihood(p_speech: np.ndarray, speech: np.ndarray) -> float:
    """Mean binary cross-entropy of p_speech against the label (clipped like the logits)."""
    p = np.clip(np.asarray(p_speech, float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    return float(-np.mean(np.where(speech, np.log(p), np.log1p(-p))))


def fit_temperature(p_speech: np.ndarray, speech: np.ndarray) -> dict[str, Any]:
    """Maximum-likelihood temperature T for sigmoid(logit(p) / T); rows with NaN p are skipped.

    Fitted over log T (bounded, 1-D), where the likelihood is smooth and T stays positive.
    """
    p_speech = np.asarray(p_speech, float)
    speech = np.asarray(speech, bool)
    has = ~np.isnan(p_speech)
    logits, speech = clipped_logit(p_speech[has]), speech[has]
    if speech.all() or not speech.any():
        raise ValueError("temperature scaling needs dev rows of both classes with a p_speech")
    target = speech.astype(float)

    def mean_nll(log_temperature: float) -> float:
        z = logits / math.exp(log_temperature)
        # -log sigmoid(z) = logaddexp(0, -z): stable for large |z|.
        return float(np.mean(target * np.logaddexp(0, -z) + (1 - target) * np.logaddexp(0, z)))

    low, high = np.log(TEMPERATURE_BOUNDS)
    result = minimize_scalar(mean_nll, bounds=(low, high), method="bounded", options={"xatol": 1e-6})
    temperature = float(math.exp(result.x))
    at_bound = bool(min(abs(result.x - low), abs(result.x - high)) < 1e-3)
    return {"temperature": temperature, "at_search_bound": at_bound, "n": int(has.sum()), "dev_nll": float(result.fun)}


def apply_temperature(predictions: pd.DataFrame, temperature: float) -> pd.DataFrame:
    """Copy with p_speech and threshold rescaled by T; pred (hence every accuracy) unchanged."""
    scaled = predictions.copy()
    scaled["p_speech"] = expit(clipped_logit(predictions["p_speech"].to_numpy(dtype=float)) / temperature)
    if "threshold" in predictions.columns:
        scaled["threshold"] = expit(clipped_logit(predictions["threshold"].to_numpy(dtype=float)) / temperature)
    return scaled


def calibration_report(predictions: pd.DataFrame, n_bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """ECE/MCE/reliability bins on chosen-class confidence, plus NLL and Brier of p_speech."""
    validate_predictions(predictions)
    p = predictions["p_speech"].to_numpy(dtype=float)
    speech = is_speech(predictions)
    has = ~np.isnan(p)
    return {
        **calibration_error(chosen_class_confidence(predictions), is_correct(predictions), n_bins),
        "nll": negative_log_likelihood(p[has], speech[has]) if has.any() else math.nan,
        "brier": float(np.mean((p[has] - speech[has]) ** 2)) if has.any() else math.nan,
    }


def temperature_scaling_report(dev: pd.DataFrame, test: pd.DataFrame, n_bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Fit T on dev, apply to test; calibration of both splits before and after."""
    validate_predictions(dev)
    validate_predictions(test)
    fit = fit_temperature(dev["p_speech"].to_numpy(dtype=float), is_speech(dev))
    temperature = fit["temperature"]
    return {
        **fit,
        "dev": {
            "before": calibration_report(dev, n_bins),
            "after": calibration_report(apply_temperature(dev, temperature), n_bins),
        },
        "test": {
            "before": calibration_report(test, n_bins),
            "after": calibration_report(apply_temperature(test, temperature), n_bins),
        },
    }
