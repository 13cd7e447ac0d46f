"""What a paired comparison could have detected: the power of the exact McNemar test.

Model. ``n`` clips are scored by two systems A and B. Each clip is discordant (exactly one of
the two is right) with probability ψ, independently of the others; on a discordant clip A is
the one that is right with probability π. The accuracy difference is then

    Δ = P(only A right) − P(only B right) = ψ · (2π − 1),   so |Δ| ≤ ψ.

Test. The exact conditional McNemar test as ``compare.mcnemar_exact`` runs it: given D = d
discordant clips of which b favour A, p = min(1, 2 · F(min(b, d − b); d, ½)) with F the
Binomial(d, ½) CDF, rejected when p ≤ α. That is b ≤ k_d or b ≥ d − k_d, with k_d the largest
k such that 2 · F(k; d, ½) ≤ α (no k, hence no rejection, for small d).

Power, computed exactly (no normal approximation):

    P(reject) = Σ_d P(D = d) · [G(k_d; d, π) + 1 − G(d − k_d − 1; d, π)],   D ~ Binomial(n, ψ),

with G the Binomial(d, π) CDF; the sum runs over the d whose probability is not negligible
(outside the 1e-12 quantiles of D both tails are dropped, an error below 2e-12).

Minimum detectable difference (MDD). ψ is held at the observed discordance rate (b + c) / n
of the comparison, the usual conditional planning assumption; the MDD is the smallest Δ in
(0, ψ] whose power reaches the target (80 %), found by bisection on π ∈ (½, 1] (power grows
with π there). None when even Δ = ψ (every discordant clip favours one system) falls short,
or when ψ = 0: at that discordance the test set cannot detect any difference.

Balanced accuracy. McNemar counts correct clips, so it tests accuracy. A change δ in balanced
accuracy equals the accuracy change when both classes change by δ (Δ_SPEECH = Δ_NONSPEECH),
whatever the class balance; the MDD is read in balanced-accuracy points under that assumption.
With balanced classes, as every dataset design here builds, the two agree for any split.

Multiplicity. Holm's step-down procedure tests the comparison with the i-th smallest p-value
(i from 0) of a family of m at α / (m − i); each comparison's MDD uses that level, its rank
taken from the observed p-values (a different test set could rank the family differently).

Planning. Clips needed to detect Δ: the smallest n whose power reaches the target at the
observed ψ and the comparison's Holm level, found by doubling n and then bisecting. The exact
test's power saw-tooths in n (the rejection region moves in whole clips), so an n a few clips
below the one returned can already reach 80 %, and one just above can dip below it; per cell it
is rounded up (cells: the distinct label x condition combinations of the compared clips).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from qwen_vad.conditions import axis_columns

TARGET_POWER = 0.8
PLANNING_DIFFERENCES = (0.02, 0.05, 0.10)  # 2 / 5 / 10 balanced-accuracy points
_TAIL = 1e-12  # probability left out of each tail of D
_MAX_CLIPS = 10**9  # planning gives up beyond this (the difference is not worth planning for)


def rejection_bounds(d: np.ndarray, alpha: float) -> np.ndarray:
    """k_d per number of discordant pairs: reject when b <= k_d or b >= d - k_d (-1: never)."""
    d = np.asarray(d, dtype=np.int64)
    k = binom.ppf(alpha / 2, d, 0.5).astype(np.int64)  # smallest k with F(k) >= alpha / 2
    # Step to the largest k that mcnemar_exact itself rejects at (the same float comparison).
    for _ in range(2):
        k = np.where((k >= 0) & (2 * binom.cdf(k, d, 0.5) > alpha), k - 1, k)
        k = np.where(2 * binom.cdf(k + 1, d, 0.5) <= alpha, k + 1, k)
    return np.minimum(k, (d - 1) // 2)  # the two tails never overlap


def _discordant_counts(n: int, discordance: float) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of discordant clips worth summing over, and their probabilities."""
    low = int(binom.ppf(_TAIL, n, discordance))
    high = int(binom.isf(_TAIL, n, discordance))
    d = np.arange(max(low, 0), min(high, n) + 1)
    return d, binom.pmf(d, n, discordance)


def mcnemar_power(n: int, discordance: float, difference: float, alpha: float) -> float:
    """P(the exact two-sided McNemar test rejects at ``alpha``) for ``n`` paired clips with
    discordance rate ψ = ``discordance`` and accuracy difference Δ = ``difference``."""
    if n <= 0 or discordance <= 0:
        return 0.0
    if abs(difference) > discordance + 1e-12:
        raise ValueError(f"an accuracy difference of {difference} needs a discordance rate >= |Δ|, got {discordance}")
    d, weight = _discordant_counts(n, discordance)
    k = rejection_bounds(d, alpha)
    return _power_given(d, weight, k, _favour_a(difference, discordance))


def _favour_a(difference: float, discordance: float) -> float:
    return min(1.0, 0.5 + abs(difference) / (2 * discordance))


def _power_given(d: np.ndarray, weight: np.ndarray, k: np.ndarray, favour_a: float) -> float:
    reject = np.where(k >= 0, binom.cdf(k, d, favour_a) + binom.sf(d - k - 1, d, favour_a), 0.0)
    return float(np.sum(weight * reject))


def minimum_detectable_difference(n: int, discordance: float, alpha: float, power: float = TARGET_POWER) -> float | None:
    """The smallest accuracy difference detected with probability ``power`` (None: none is)."""
    if n <= 0 or discordance <= 0:
        return None
    d, weight = _discordant_counts(n, discordance)
    k = rejection_bounds(d, alpha)
    if _power_given(d, weight, k, 1.0) < power:
        return None
    low, high = 0.5, 1.0  # power(low) < target <= power(high)
    for _ in range(60):
        middle = (low + high) / 2
        if _power_given(d, weight, k, middle) >= power:
            high = middle
        else:
            low = middle
    return discordance * (2 * high - 1)


def clips_needed(difference: float, discordance: float, alpha: float, power: float = TARGET_POWER) -> int | None:
    """Paired clips for ``power`` to detect ``difference`` at this discordance (None: not
    reachable, since |Δ| cannot exceed ψ, or more than a billion clips)."""
    if difference <= 0 or discordance <= 0 or difference > discordance:
        return None
    high = 8
    while mcnemar_power(high, discordance, difference, alpha) < power:
        if high >= _MAX_CLIPS:
            return None
        high *= 2
    low = high // 2  # below target (or the first tried size)
    while high - low > 1:
        middle = (low + high) // 2
        if mcnemar_power(middle, discordance, difference, alpha) >= power:
            high = middle
        else:
            low = middle
    return high


def holm_levels(p_values: Sequence[float], alpha: float) -> list[tuple[int, float]]:
    """(rank, level) per p-value in input order: the i-th smallest is tested at α / (m − i)."""
    order = np.argsort(np.asarray(p_values, float), kind="mergesort")
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = np.arange(len(order))
    return [(int(rank), alpha / (len(order) - rank)) for rank in ranks]


def count_cells(predictions: pd.DataFrame) -> int:
    """The label x condition cells of the design (the axes present in the predictions)."""
    columns = [c for c in ("label", *axis_columns()) if c in predictions.columns]
    return int(len(predictions[columns].drop_duplicates())) if columns else 1


def detectable_differences(
    comparisons: list[dict[str, Any]], alpha: float, cells: Sequence[int], power: float = TARGET_POWER,
    differences: Sequence[float] = PLANNING_DIFFERENCES,
) -> dict[str, Any]:  # fmt: skip
    """Add a "detectable" block (MDD at the comparison's Holm level) to every comparison and
    return the planning table: clips per cell to detect each of ``differences`` per comparison."""
    levels = holm_levels([c["mcnemar"]["p_value"] for c in comparisons], alpha)
    rows = []
    for comparison, (rank, level), n_cells in zip(comparisons, levels, cells, strict=True):
        test = comparison["mcnemar"]
        n = test["n_pairs"]
        discordance = (test["only_a_correct"] + test["only_b_correct"]) / n if n else 0.0
        comparison["detectable"] = {
            "power": power,
            "holm_rank": rank,
            "alpha": level,
            "discordance_rate": discordance,
            "minimum_difference": minimum_detectable_difference(n, discordance, level, power),
        }
        needed = []
        for difference in differences:
            clips = clips_needed(difference, discordance, level, power)
            needed.append({"difference": difference, "clips": clips, "clips_per_cell": None if clips is None else math.ceil(clips / n_cells)})
        rows.append({
            "a": comparison["a"], "b": comparison["b"], "discordance_rate": discordance, "alpha": level, "cells": n_cells,
            "clips": n, "clips_per_cell": n / n_cells, "needed": needed,
        })  # fmt: skip
    return {"power": power, "differences": list(differences), "rows": rows}
