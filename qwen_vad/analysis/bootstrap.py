"""Cluster bootstrap: resample base clips, not rows.

All variants of one clean clip (its SNRs, durations, degradations) share the speaker, the
sound and the content, so their errors are correlated; resampling rows would treat them as
independent and give intervals that are too narrow. A resample draws base clips with
replacement and keeps every row of each drawn clip (``frame.cluster_codes``).

Every statistic here is a function of sums over rows (outcome counts, confidence sums), so a
resample only needs per-cluster sums weighted by how often each cluster was drawn: one
(resamples x clusters) count matrix times the (clusters x statistics) sum matrix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qwen_vad.analysis.frame import chosen_class_confidence, cluster_codes, default_cell_columns, is_correct
from qwen_vad.analysis.metrics import (
    FN,
    FP,
    NONSPEECH_UNKNOWN,
    OUTCOMES,
    SPEECH_UNKNOWN,
    TN,
    TP,
    outcome_indicators,
    rates_from_counts,
    safe_ratio,
)

DEFAULT_RESAMPLES = 1000
# Cap on the (resamples x clusters) draw matrix held at once: ~16 MB of float64.
MAX_DRAWS_PER_CHUNK = 2_000_000


def cluster_sums(row_values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """(clusters x statistics) sums of the (rows x statistics) matrix over each cluster."""
    sums = np.zeros((int(clusters.max()) + 1, row_values.shape[1]))
    np.add.at(sums, clusters, row_values)
    return sums


def times_drawn_chunks(n_clusters: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """(chunk x clusters) counts of how often each cluster was drawn in each resample, chunk
    after chunk (the whole matrix could be large), from one seeded stream."""
    rng = np.random.default_rng(seed)
    chunk = max(1, MAX_DRAWS_PER_CHUNK // n_clusters)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_clusters, size=(size, n_clusters))
        # How often each cluster was drawn in each resample: bincount over row-offset indices.
        offsets = (draws + n_clusters * np.arange(size)[:, None]).ravel()
        yield np.bincount(offsets, minlength=size * n_clusters).reshape(size, n_clusters)


def resampled_totals(per_cluster: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(resamples x statistics) totals, each over clusters drawn with replacement."""
    chunks = times_drawn_chunks(per_cluster.shape[0], n_resamples, seed)
    return np.concatenate([times_drawn @ per_cluster for times_drawn in chunks], axis=0)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """Percentile interval of the defined (non-NaN) resampled values."""
    samples = np.asarray(samples, float)
    defined = samples[~np.isnan(samples)]
    tail = (1 - level) / 2
    low, high = (np.quantile(defined, [tail, 1 - tail]) if defined.size else (math.nan, math.nan))
    return {"low": float(low), "high": float(high), "n_undefined": int(samples.size - defined.size)}


def confidence_columns(predictions: pd.DataFrame) -> np.ndarray:
    """(rows x 4): confidence when correct, correct-with-confidence, same two when wrong."""
    confidence = chosen_class_confidence(predictions)
    has = ~np.isnan(confidence)
    correct = is_correct(predictions)
    filled = np.where(has, confidence, 0.0)
    return np.stack([filled * correct, has & correct, filled * ~correct, has & ~correct], axis=1).astype(float)


def cell_columns_matrix(predictions: pd.DataFrame, cell_columns: Sequence[str]) -> tuple[np.ndarray, int]:
    """(rows x 4*cells): per cell, speech correct / speech / nonspeech correct / nonspeech."""
    if cell_columns:
        cell = predictions.groupby(list(cell_columns), sort=True, dropna=False).ngroup().to_numpy()
    else:
        cell = np.zeros(len(predictions), dtype=int)
    n_cells = int(cell.max()) + 1
    outcomes = outcome_indicators(predictions)
    per_row = np.stack(
        [
            outcomes[:, TP],
            outcomes[:, TP] + outcomes[:, FN] + outcomes[:, SPEECH_UNKNOWN],
            outcomes[:, TN],
            outcomes[:, TN] + outcomes[:, FP] + outcomes[:, NONSPEECH_UNKNOWN],
        ],
        axis=1,
    )
    matrix = np.zeros((len(predictions), 4 * n_cells))
    for j in range(4):
        matrix[np.arange(len(predictions)), 4 * cell + j] = per_row[:, j]
    return matrix, n_cells


def ba_conditions_from_totals(cell_totals: np.ndarray) -> np.ndarray:
    """Mean over cells holding both classes of the cell's balanced accuracy, per resample."""
    by_cell = cell_totals.reshape(*cell_totals.shape[:-1], -1, 4)
    recall_speech = safe_ratio(by_cell[..., 0], by_cell[..., 1])
    recall_nonspeech = safe_ratio(by_cell[..., 2], by_cell[..., 3])
    cell_ba = (recall_speech + recall_nonspeech) / 2  # NaN unless both classes are present
    defined = ~np.isnan(cell_ba)
    return safe_ratio(np.where(defined, cell_ba, 0.0).sum(axis=-1), defined.sum(axis=-1))


def statistics_from_totals(totals: np.ndarray) -> dict[str, np.ndarray]:
    """Every bootstrapped metric from a totals array laid out as in ``metric_row_values``."""
    n_outcomes = len(OUTCOMES)
    statistics = rates_from_counts(totals[..., :n_outcomes])
    confidence = totals[..., n_outcomes : n_outcomes + 4]
    statistics["confidence_gap"] = safe_ratio(confidence[..., 0], confidence[..., 1]) - safe_ratio(
        confidence[..., 2], confidence[..., 3]
    )
    statistics["BA_conditions"] = ba_conditions_from_totals(totals[..., n_outcomes + 4 :])
    return statistics


def metric_row_values(predictions: pd.DataFrame, cell_columns: Sequence[str]) -> np.ndarray:
    """(rows x statistics): outcome indicators | confidence columns | per-cell class counts."""
    cells, _ = cell_columns_matrix(predictions, cell_columns)
    return np.concatenate([outcome_indicators(predictions), confidence_columns(predictions), cells], axis=1)


def bootstrap_metric_intervals(
    predictions: pd.DataFrame,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    cell_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Cluster-bootstrap percentile intervals of accuracy, balanced accuracy, per-class
    precision/recall/F1, UNKNOWN share, confidence gap and BA_conditions (one system)."""
    if len(predictions) == 0:
        raise ValueError("predictions frame is empty: nothing to bootstrap")
    cell_columns = default_cell_columns(predictions) if cell_columns is None else list(cell_columns)
    per_cluster = cluster_sums(metric_row_values(predictions, cell_columns), cluster_codes(predictions))
    observed = statistics_from_totals(per_cluster.sum(axis=0))
    resampled = statistics_from_totals(resampled_totals(per_cluster, n_resamples, seed))
    intervals = {
        name: {"estimate": float(observed[name]), **percentile_interval(resampled[name], level)} for name in observed
    }
    return {
        "method": "cluster bootstrap over base clips, percentile intervals",
        "n_resamples": n_resamples,
        "n_clusters": per_cluster.shape[0],
        "seed": seed,
        "level": level,
        "intervals": intervals,
    }
