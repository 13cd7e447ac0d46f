"""Everything metrics.json holds for one system, and for each system of a predictions frame."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qwen_vad.analysis.bootstrap import DEFAULT_RESAMPLES, bootstrap_metric_intervals
from qwen_vad.analysis.breakdowns import condition_report
from qwen_vad.analysis.curves import DEFAULT_MAX_POINTS, score_curves
from qwen_vad.analysis.frame import require_one_row_per_clip, split_by_system, system_name, validate_predictions
from qwen_vad.analysis.metrics import classification_metrics


def latency_summary(predictions: pd.DataFrame) -> dict[str, Any]:
    """Mean, median and 95th percentile of latency_ms over rows that have it."""
    if "latency_ms" not in predictions.columns:
        return {"n": 0}
    latency = predictions["latency_ms"].to_numpy(dtype=float)
    latency = latency[np.isfinite(latency)]
    if latency.size == 0:
        return {"n": 0}
    return {
        "n": int(latency.size),
        "mean_ms": float(latency.mean()),
        "median_ms": float(np.median(latency)),
        "p95_ms": float(np.percentile(latency, 95)),
    }


def summarize_system(
    predictions: pd.DataFrame,
    n_bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    interval_level: float = 0.95,
    cell_columns: Sequence[str] | None = None,
    max_curve_points: int | None = DEFAULT_MAX_POINTS,
) -> dict[str, Any]:
    """Metrics, curves, breakdowns, BA_conditions, latency and (n_bootstrap > 0) cluster-
    bootstrap intervals of one system's predictions (one row per clip)."""
    validate_predictions(predictions)
    require_one_row_per_clip(predictions)
    summary = {
        **classification_metrics(predictions, interval_level),
        **score_curves(predictions, max_curve_points),
        **condition_report(predictions, cell_columns, interval_level),
        "latency": latency_summary(predictions),
    }
    if n_bootstrap > 0:
        summary["bootstrap"] = bootstrap_metric_intervals(predictions, n_bootstrap, seed, interval_level, cell_columns)
    return summary


def summarize_by_system(
    predictions: pd.DataFrame,
    n_bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    interval_level: float = 0.95,
    cell_columns: Sequence[str] | None = None,
    max_curve_points: int | None = DEFAULT_MAX_POINTS,
) -> dict[str, dict[str, Any]]:
    """{"system/prompt_id": summarize_system(rows)} for every system and prompt in the frame."""
    validate_predictions(predictions)
    return {
        system_name(key): {
            **key,
            **summarize_system(rows, n_bootstrap, seed, interval_level, cell_columns, max_curve_points),
        }
        for key, rows in split_by_system(predictions)
    }


def headline(summary: dict[str, Any]) -> dict[str, float]:
    """The few numbers a results table row shows, from a ``summarize_system`` result."""
    return {
        "accuracy": summary["accuracy"],
        "balanced_accuracy": summary["balanced_accuracy"],
        "accuracy_speech": summary["per_class"]["SPEECH"]["accuracy"],
        "accuracy_nonspeech": summary["per_class"]["NONSPEECH"]["accuracy"],
        "BA_conditions": summary["BA_conditions"]["value"],
        "roc_auc": summary["roc"]["auc"],
        "confidence_gap": summary["confidence"]["gap"],
        "unknown_share": summary["unknown_share"],
        "latency_median_ms": summary["latency"].get("median_ms", math.nan),
    }
