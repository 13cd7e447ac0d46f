"""What a fitted threshold may claim, given the stimulus levels that were tested.

A psychometric fit gives a number for DT_p wherever the fitted curve crosses p, but the data
only speak for the tested levels: a crossing below the lowest level says "every tested level
is already above p", one above the highest "no tested level reaches p", and the number itself
is the sigmoid's extrapolation. Each threshold therefore carries a ``status``:

- ``inside``: within the tested levels; the value and its interval may be shown (an interval
  end beyond the tested levels is censored at that edge);
- ``below_range`` / ``above_range``: beyond the lowest / highest tested level; shown as
  "< lowest" / "> highest" with no number and no interval;
- ``not_reached``: the fitted curve never reaches p (p >= 1 - lambda);
- ``below_floor``: the curve never falls to p (p <= gamma: e.g. DT50 of a system whose
  false-alarm rate is 50 % or more); no threshold exists.

Bounds of the optimiser's box that are modelling devices (alpha and beta's box, the lapse and
guess-rate ceilings) are listed when an estimate sits on them; lambda = 0 and gamma = 0 are
possible values, not devices, and are not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from qwen_vad.conditions import axis_of

INSIDE, BELOW_RANGE, ABOVE_RANGE, NOT_REACHED, BELOW_FLOOR = "inside", "below_range", "above_range", "not_reached", "below_floor"
STATUSES = (INSIDE, BELOW_RANGE, ABOVE_RANGE, NOT_REACHED, BELOW_FLOOR)
# Parameter -> the sides of its bound that are modelling devices (see the module docstring).
IMPOSED_BOUNDS = {"alpha": ("lower", "upper"), "log_beta": ("lower", "upper"), "lambda": ("upper",), "gamma": ("upper",)}
BOUND_TOLERANCE = 1e-6  # of the bound's range


def threshold_status(x: float, low: float, high: float) -> str:
    """Status of a threshold x (+-inf when the curve never reaches / falls to p) against the
    tested levels [low, high]."""
    if x == -math.inf:
        return BELOW_FLOOR
    if x == math.inf:
        return NOT_REACHED
    if x < low:
        return BELOW_RANGE
    return ABOVE_RANGE if x > high else INSIDE


def status_shares(samples: np.ndarray, low: float, high: float) -> dict[str, float]:
    """Share of bootstrap thresholds in each status."""
    samples = np.asarray(samples, float)
    counts = {
        BELOW_FLOOR: np.sum(samples == -np.inf),
        NOT_REACHED: np.sum(samples == np.inf),
        BELOW_RANGE: np.sum(np.isfinite(samples) & (samples < low)),
        ABOVE_RANGE: np.sum(np.isfinite(samples) & (samples > high)),
    }
    counts[INSIDE] = samples.size - sum(counts.values())
    return {status: float(counts[status] / max(samples.size, 1)) for status in STATUSES}


def parameters_on_imposed_bounds(names: tuple[str, ...], theta: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> dict[str, str]:
    """{parameter: "lower" | "upper"} for estimates on a bound that is a modelling device."""
    hits = {}
    for name, value, low, high in zip(names, theta, lower, upper):
        tolerance = BOUND_TOLERANCE * (high - low)
        side = "lower" if value - low < tolerance else "upper" if high - value < tolerance else None
        if side in IMPOSED_BOUNDS.get(name, ()):
            hits[name] = side
    return hits


def censored_interval(interval: Mapping[str, float], low: float, high: float, method: str) -> dict[str, Any]:
    """A bootstrap interval as it may be reported: an end beyond the tested levels (or
    infinite: some resampled curves never reach p) is censored at the edge it passed."""
    lo, hi = float(interval["low"]), float(interval["high"])
    return {
        "method": method,
        "low": max(lo, low),
        "high": min(hi, high),
        "low_censored": bool(lo < low),
        "high_censored": bool(hi > high),
    }


def to_axis_units(value: float | None, axis: str) -> float | None:
    """A fitted-axis value in the axis's own unit: dB as is, log10(ms) back to ms (an axis
    fitted on a log scale, qwen_vad.conditions)."""
    if value is None:
        return None
    return float(10**value) if is_log_scale(axis) else float(value)


def is_log_scale(axis: str) -> bool:
    known = axis_of(axis)
    return known is not None and known.log_scale


def axis_unit(axis: str) -> str:
    known = axis_of(axis)
    return known.unit if known is not None else axis


def with_axis_units(threshold: dict[str, Any], axis: str) -> dict[str, Any]:
    """Adds ``unit``, ``value`` (only when inside) and ``tested_range`` in the axis's unit, and
    converts the reported ``interval``; ``x`` and the raw ``interval_*`` stay in fit units."""
    low, high = threshold["tested_range_fit"]
    interval = threshold.get("interval")
    if interval is not None:
        interval = {**interval, "low": to_axis_units(interval["low"], axis), "high": to_axis_units(interval["high"], axis)}
    return {
        **threshold,
        "unit": axis_unit(axis),
        "value": to_axis_units(threshold["x"], axis) if threshold["status"] == INSIDE else None,
        "tested_range": [to_axis_units(low, axis), to_axis_units(high, axis)],
        "interval": interval,
    }
