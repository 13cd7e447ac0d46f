"""Classification metrics of one system on a predictions frame.

Every rate is a function of six outcome counts (true label x answer, with UNKNOWN as a third
answer). The formulas take count arrays of any leading shape, so the bootstrap evaluates the
same code on a (resamples x 6) array instead of re-implementing each metric.

Undefined values are NaN (``to_jsonable`` writes null): the recall of a class with no clips, the
precision of a class nobody answered. Balanced accuracy averages the recalls of the classes
that are present, so with one class it is that class's accuracy (sklearn's convention);
``classes_present`` says when that happened.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.analysis.frame import UNKNOWN, chosen_class_confidence, is_correct, validate_predictions

# Columns of an outcome-count array, in order: (true label, answer).
OUTCOMES = (
    (SPEECH, SPEECH),
    (SPEECH, NONSPEECH),
    (SPEECH, UNKNOWN),
    (NONSPEECH, NONSPEECH),
    (NONSPEECH, SPEECH),
    (NONSPEECH, UNKNOWN),
)
TP, FN, SPEECH_UNKNOWN, TN, FP, NONSPEECH_UNKNOWN = range(len(OUTCOMES))

# Research plan target: mean confidence when correct minus when wrong.
CONFIDENCE_GAP_TARGET = 0.10


def outcome_indicators(predictions: pd.DataFrame) -> np.ndarray:
    """(rows x 6) 0/1 matrix: which outcome each row is."""
    label = predictions["label"].astype(str).to_numpy()
    pred = predictions["pred"].astype(str).to_numpy()
    return np.stack([(label == truth) & (pred == answer) for truth, answer in OUTCOMES], axis=1).astype(float)


def outcome_counts(predictions: pd.DataFrame) -> np.ndarray:
    return outcome_indicators(predictions).sum(axis=0)


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 (the rate is undefined)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def mean_of_defined(*values: np.ndarray) -> np.ndarray:
    """Element-wise mean over the arguments that are not NaN; NaN where none is defined."""
    stacked = np.stack(np.broadcast_arrays(*values))
    defined = ~np.isnan(stacked)
    return safe_ratio(np.where(defined, stacked, 0.0).sum(axis=0), defined.sum(axis=0))


def rates_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """All count-based rates from an outcome-count array of shape (..., 6)."""
    c = np.asarray(counts, float)
    n_speech = c[..., TP] + c[..., FN] + c[..., SPEECH_UNKNOWN]
    n_nonspeech = c[..., TN] + c[..., FP] + c[..., NONSPEECH_UNKNOWN]
    recall_speech = safe_ratio(c[..., TP], n_speech)
    recall_nonspeech = safe_ratio(c[..., TN], n_nonspeech)
    return {
        "accuracy": safe_ratio(c[..., TP] + c[..., TN], n_speech + n_nonspeech),
        "balanced_accuracy": mean_of_defined(recall_speech, recall_nonspeech),
        "recall_speech": recall_speech,
        "recall_nonspeech": recall_nonspeech,
        "precision_speech": safe_ratio(c[..., TP], c[..., TP] + c[..., FP]),
        "precision_nonspeech": safe_ratio(c[..., TN], c[..., TN] + c[..., FN]),
        # F1 = 2PR / (P + R) = 2TP / (2TP + FP + all missed), UNKNOWN counted as missed; this
        # form is also defined (0) when the class was never answered but has clips.
        "f1_speech": safe_ratio(2 * c[..., TP], 2 * c[..., TP] + c[..., FP] + c[..., FN] + c[..., SPEECH_UNKNOWN]),
        "f1_nonspeech": safe_ratio(
            2 * c[..., TN], 2 * c[..., TN] + c[..., FN] + c[..., FP] + c[..., NONSPEECH_UNKNOWN]
        ),
        "unknown_share": safe_ratio(c[..., SPEECH_UNKNOWN] + c[..., NONSPEECH_UNKNOWN], n_speech + n_nonspeech),
    }


def wilson_interval(successes: float, trials: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (NaN, NaN) when there are no trials.

    Unlike the Wald interval it stays inside [0, 1] and keeps its coverage near 0 and 1, which
    matters for per-cell accuracies of a few dozen clips.
    """
    if trials <= 0:
        return (math.nan, math.nan)
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half_width = z / denominator * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2))
    return (max(0.0, centre - half_width), min(1.0, centre + half_width))


def confusion_matrix(counts: np.ndarray) -> dict[str, dict[str, int]]:
    """{true label: {answer: count}} with UNKNOWN as a third answer column."""
    matrix: dict[str, dict[str, int]] = {SPEECH: {}, NONSPEECH: {}}
    for (truth, answer), count in zip(OUTCOMES, counts):
        matrix[truth][answer] = int(count)
    return matrix


def confidence_summary(predictions: pd.DataFrame) -> dict[str, Any]:
    """Mean confidence of the chosen class overall / when correct / when wrong, and the gap.

    UNKNOWN answers chose no class, so they have no confidence and are left out here (they
    still count as wrong in every accuracy); ``n_without_confidence`` says how many.
    """
    confidence = chosen_class_confidence(predictions)
    correct = is_correct(predictions)
    has_confidence = ~np.isnan(confidence)
    when_correct = confidence[has_confidence & correct]
    when_wrong = confidence[has_confidence & ~correct]
    mean_correct = float(when_correct.mean()) if when_correct.size else math.nan
    mean_wrong = float(when_wrong.mean()) if when_wrong.size else math.nan
    gap = mean_correct - mean_wrong
    return {
        "mean": float(confidence[has_confidence].mean()) if has_confidence.any() else math.nan,
        "mean_when_correct": mean_correct,
        "mean_when_wrong": mean_wrong,
        "gap": gap,
        "gap_target": CONFIDENCE_GAP_TARGET,
        "meets_gap_target": None if math.isnan(gap) else bool(gap >= CONFIDENCE_GAP_TARGET),
        "n_correct": int(when_correct.size),
        "n_wrong": int(when_wrong.size),
        "n_without_confidence": int((~has_confidence).sum()),
    }


def classification_metrics(predictions: pd.DataFrame, interval_level: float = 0.95) -> dict[str, Any]:
    """Accuracy, balanced accuracy, per-class metrics with Wilson intervals, confusion matrix,
    UNKNOWN share and confidence summary of the rows given (one system)."""
    validate_predictions(predictions)
    counts = outcome_counts(predictions)
    rates = {name: float(value) for name, value in rates_from_counts(counts).items()}
    n_speech = int(counts[TP] + counts[FN] + counts[SPEECH_UNKNOWN])
    n_nonspeech = int(counts[TN] + counts[FP] + counts[NONSPEECH_UNKNOWN])
    per_class = {}
    classes = ((SPEECH, counts[TP], n_speech, "speech"), (NONSPEECH, counts[TN], n_nonspeech, "nonspeech"))
    for label, correct, n, suffix in classes:
        per_class[label] = {
            "n": n,
            "n_correct": int(correct),
            "accuracy": rates[f"recall_{suffix}"],  # accuracy on the class = its recall
            "accuracy_wilson": wilson_interval(correct, n, interval_level),
            "precision": rates[f"precision_{suffix}"],
            "recall": rates[f"recall_{suffix}"],
            "f1": rates[f"f1_{suffix}"],
        }
    n_correct = counts[TP] + counts[TN]
    return {
        "n": n_speech + n_nonspeech,
        "classes_present": [label for label, n in ((SPEECH, n_speech), (NONSPEECH, n_nonspeech)) if n > 0],
        "accuracy": rates["accuracy"],
        "accuracy_wilson": wilson_interval(n_correct, n_speech + n_nonspeech, interval_level),
        "balanced_accuracy": rates["balanced_accuracy"],
        "per_class": per_class,
        "confusion": confusion_matrix(counts),
        "unknown_share": rates["unknown_share"],
        "confidence": confidence_summary(predictions),
        "interval_level": interval_level,
    }
