"""Paired comparisons of two systems scored on the same clips.

Both tests use the pairing: McNemar looks only at clips where exactly one system is right, and
the bootstrap draws the same base clips for both systems in every resample, so the clip-to-clip
difficulty they share cancels out of the difference. Comparing runs scored on different clip
sets would break that, so it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from qwen_vad.analysis.bootstrap import DEFAULT_RESAMPLES, cluster_sums, percentile_interval, resampled_totals
from qwen_vad.analysis.frame import cluster_codes, is_correct, require_one_row_per_clip, validate_predictions
from qwen_vad.analysis.metrics import OUTCOMES, outcome_indicators, rates_from_counts
from qwen_vad.analysis.power import count_cells, detectable_differences

EXAMPLES_IN_ERROR = 5


def align_on_clips(
    a: pd.DataFrame, b: pd.DataFrame, name_a: str = "a", name_b: str = "b"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both frames ordered by clip_id; ValueError naming the mismatch if the clip sets differ
    or a clip has different labels on the two sides."""
    for frame, name in ((a, name_a), (b, name_b)):
        validate_predictions(frame)
        require_one_row_per_clip(frame)
    clips_a, clips_b = set(a["clip_id"]), set(b["clip_id"])
    if clips_a != clips_b:
        only_a, only_b = sorted(clips_a - clips_b), sorted(clips_b - clips_a)
        raise ValueError(
            f"{name_a} and {name_b} were scored on different clip sets "
            f"({len(clips_a)} vs {len(clips_b)} clips): {len(only_a)} only in {name_a} "
            f"(e.g. {only_a[:EXAMPLES_IN_ERROR]}), {len(only_b)} only in {name_b} (e.g. {only_b[:EXAMPLES_IN_ERROR]})"
        )
    a = a.sort_values("clip_id", kind="mergesort").reset_index(drop=True)
    b = b.sort_values("clip_id", kind="mergesort").reset_index(drop=True)
    label_differs = a["label"].to_numpy() != b["label"].to_numpy()
    if label_differs.any():
        examples = list(a["clip_id"][label_differs][:EXAMPLES_IN_ERROR])
        raise ValueError(
            f"{int(label_differs.sum())} clips carry different labels in {name_a} and {name_b}, e.g. {examples}"
        )
    return a, b


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """Exact two-sided McNemar test: under H0 the discordant pairs split Binomial(b + c, 1/2).

    p = min(1, 2 * P(X <= min(b, c))), the conditional exact test; p = 1 with no discordant pair.
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a = int((correct_a & ~correct_b).sum())
    only_b = int((~correct_a & correct_b).sum())
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else min(1.0, 2 * float(binom.cdf(min(only_a, only_b), discordant, 0.5)))
    return {
        "n_pairs": int(correct_a.size),
        "both_correct": int((correct_a & correct_b).sum()),
        "both_wrong": int((~correct_a & ~correct_b).sum()),
        "only_a_correct": only_a,
        "only_b_correct": only_b,
        "p_value": p_value,
    }


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order (reject where adjusted <= alpha).

    The i-th smallest p (from 0) is multiplied by (m - i); a running maximum keeps the adjusted
    values in the order of the raw ones, and they are capped at 1.
    """
    p = np.asarray(p_values, float)
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted.tolist()


def paired_balanced_accuracy_difference(
    a: pd.DataFrame, b: pd.DataFrame, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """BA(b) - BA(a) with a paired cluster-bootstrap interval: every resample draws the same
    base clips for both runs."""
    a, b = align_on_clips(a, b)
    n_outcomes = len(OUTCOMES)
    per_cluster = cluster_sums(np.concatenate([outcome_indicators(a), outcome_indicators(b)], axis=1), cluster_codes(a))
    observed = rates_from_counts(per_cluster.sum(axis=0).reshape(2, n_outcomes))["balanced_accuracy"]
    totals = resampled_totals(per_cluster, n_resamples, seed).reshape(n_resamples, 2, n_outcomes)
    resampled = rates_from_counts(totals)["balanced_accuracy"]
    return {
        "balanced_accuracy_a": float(observed[0]),
        "balanced_accuracy_b": float(observed[1]),
        "difference_b_minus_a": float(observed[1] - observed[0]),
        "interval": percentile_interval(resampled[:, 1] - resampled[:, 0], level),
        "n_resamples": n_resamples,
        "seed": seed,
        "level": level,
    }


def compare_pair(
    a: pd.DataFrame,
    b: pd.DataFrame,
    name_a: str = "a",
    name_b: str = "b",
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """McNemar and paired bootstrap of the balanced-accuracy difference for one pair of runs."""
    a, b = align_on_clips(a, b, name_a, name_b)
    return {
        "a": name_a,
        "b": name_b,
        "mcnemar": mcnemar_exact(is_correct(a), is_correct(b)),
        "balanced_accuracy_difference": paired_balanced_accuracy_difference(a, b, n_resamples, seed, level),
    }


def compare_family(
    runs: Mapping[str, pd.DataFrame],
    pairs: Sequence[tuple[str, str]] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Compare every listed pair (default: all pairs) and Holm-adjust the McNemar p-values over
    the family, so that claiming any difference keeps the family-wise error at ``alpha``. Each
    comparison also gets the difference it could have detected, and the family a planning
    table of the clips needed for a few differences (qwen_vad.analysis.power)."""
    pairs = list(combinations(sorted(runs), 2)) if pairs is None else list(pairs)
    unknown = sorted({name for pair in pairs for name in pair} - set(runs))
    if unknown:
        raise ValueError(f"pairs name runs {unknown} that are not among {sorted(runs)}")
    comparisons = [compare_pair(runs[x], runs[y], x, y, n_resamples, seed, level) for x, y in pairs]
    adjusted = holm_adjust([c["mcnemar"]["p_value"] for c in comparisons])
    for comparison, p_holm in zip(comparisons, adjusted):
        comparison["mcnemar"]["p_value_holm"] = p_holm
        comparison["mcnemar"]["significant_holm"] = bool(p_holm <= alpha)
    planning = detectable_differences(comparisons, alpha, [count_cells(runs[x]) for x, _ in pairs])
    return {"alpha": alpha, "correction": "holm", "comparisons": comparisons, "planning": planning}
