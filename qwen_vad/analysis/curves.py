"""ROC and precision-recall curves of p_speech (SPEECH is the positive class), numpy only.

Curves are computed at every distinct score (tied scores form one step, so ties count half in
the ROC AUC, as in the Mann-Whitney statistic). The AUCs use the full curve; the points returned
can be thinned to ``max_points`` so a run with 10k clips does not write 10k-point arrays per
system into metrics.json.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from qwen_vad.analysis.frame import is_speech

DEFAULT_MAX_POINTS = 500


def cumulative_counts(is_positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives when predicting positive for score >= each distinct threshold,
    thresholds in decreasing order."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_positive = is_positive[order].astype(float)
    # Last index of each run of equal scores: all tied rows switch to positive together.
    last_of_run = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), sorted_scores.size - 1]
    true_positives = np.cumsum(sorted_positive)[last_of_run]
    false_positives = (last_of_run + 1) - true_positives
    return true_positives, false_positives, sorted_scores[last_of_run]


def thin(points: dict[str, np.ndarray], max_points: int | None) -> dict[str, np.ndarray]:
    """Keep at most max_points evenly spaced points, always including both ends."""
    size = len(next(iter(points.values())))
    if max_points is None or size <= max_points:
        return points
    keep = np.unique(np.linspace(0, size - 1, max_points).round().astype(int))
    return {name: values[keep] for name, values in points.items()}


def roc_curve(
    is_positive: np.ndarray, scores: np.ndarray, max_points: int | None = DEFAULT_MAX_POINTS
) -> dict[str, Any]:
    """False/true positive rates per threshold and the trapezoidal AUC.

    The curve starts at (0, 0) with threshold +inf. AUC is NaN (with a reason) when only one
    class is present, since one of the two rates is then undefined.
    """
    is_positive = np.asarray(is_positive, bool)
    scores = np.asarray(scores, float)
    n_positive, n_negative = int(is_positive.sum()), int((~is_positive).sum())
    if n_positive == 0 or n_negative == 0:
        return {"auc": math.nan, "reason": "needs both classes", "n_positive": n_positive, "n_negative": n_negative}
    true_positives, false_positives, thresholds = cumulative_counts(is_positive, scores)
    tpr = np.r_[0.0, true_positives / n_positive]
    fpr = np.r_[0.0, false_positives / n_negative]
    auc = float(np.trapezoid(tpr, fpr))
    points = thin({"fpr": fpr, "tpr": tpr, "threshold": np.r_[np.inf, thresholds]}, max_points)
    return {"auc": auc, "n_positive": n_positive, "n_negative": n_negative, **points}


def precision_recall_curve(
    is_positive: np.ndarray, scores: np.ndarray, max_points: int | None = DEFAULT_MAX_POINTS
) -> dict[str, Any]:
    """Precision and recall per threshold, and the area as average precision.

    Average precision, sum over thresholds of (recall step) x precision, is the step-wise area
    (sklearn's ``average_precision_score``); the trapezoid over-estimates the area of a PR curve.
    The curve starts at recall 0, precision 1.
    """
    is_positive = np.asarray(is_positive, bool)
    scores = np.asarray(scores, float)
    n_positive = int(is_positive.sum())
    if n_positive == 0:
        return {"average_precision": math.nan, "reason": "needs positive (SPEECH) clips", "n_positive": 0}
    true_positives, false_positives, thresholds = cumulative_counts(is_positive, scores)
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / n_positive
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    points = thin(
        {"recall": np.r_[0.0, recall], "precision": np.r_[1.0, precision], "threshold": np.r_[np.inf, thresholds]},
        max_points,
    )
    return {"average_precision": average_precision, "n_positive": n_positive, **points}


def score_curves(predictions: pd.DataFrame, max_points: int | None = DEFAULT_MAX_POINTS) -> dict[str, Any]:
    """ROC and PR curves of p_speech for SPEECH; rows without p_speech are left out and counted."""
    scores = predictions["p_speech"].to_numpy(dtype=float)
    has_score = ~np.isnan(scores)
    positive = is_speech(predictions)[has_score]
    return {
        "roc": roc_curve(positive, scores[has_score], max_points),
        "pr": precision_recall_curve(positive, scores[has_score], max_points),
        "n_without_score": int((~has_score).sum()),
    }
