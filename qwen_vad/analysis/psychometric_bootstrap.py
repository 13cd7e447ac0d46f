"""Uncertainty and goodness of fit of a psychometric fit.

- Parametric bootstrap: simulate binomial counts from the fitted curve at the tested levels,
  refit. When gamma was fixed to a measured false-alarm rate, ``gamma_trials`` (how many
  NONSPEECH clips it was measured on) lets each resample redraw gamma too, so its sampling
  error reaches the threshold intervals.
- Cluster bootstrap: redraw base clips (all rows of a base clip together, the false-alarm
  rows included) and refit; needs the per-row data. It also covers what the binomial model
  ignores: variants of one clean clip succeed or fail together.
- Goodness of fit: the deviance and its Monte-Carlo p-value against the parametric
  resamples' deviances (the parametric bootstrap simulates exactly the fitted model, so the
  same refits serve both).

Every refit runs the same multi-start optimiser as the point fit (a global grid, then
Levenberg-Marquardt from the best grid point and from the point estimate); refits that end
away from an optimum are counted (``n_not_converged``, ``share_not_converged``), never hidden.

Intervals are percentile intervals over order statistics (no interpolation), because a
threshold a resampled curve never reaches is +-inf (see ``threshold_levels``) and must still
sort correctly. Each threshold also gets the interval as it may be reported (``interval``:
the cluster one when it ran, censored at the tested levels; only for a threshold inside them,
see ``psychometric_thresholds``) and the share of resamples in each status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qwen_vad.analysis.bootstrap import cluster_sums, resampled_totals
from qwen_vad.analysis.psychometric import (
    DEFAULT_THRESHOLD_PROBABILITIES,
    PsychometricFit,
    deviance,
    psychometric_value,
    threshold_levels,
    width_from_beta,
)
from qwen_vad.analysis.psychometric_refit import multistart_fit
from qwen_vad.analysis.psychometric_thresholds import INSIDE, censored_interval, status_shares

DEFAULT_BOOTSTRAP = 1000
# A resampled fixed gamma must stay below 1 - max lapse for the model to make sense.
GAMMA_CEILING_MARGIN = 1e-6


@dataclass(frozen=True)
class TrialRows:
    """Per-row data for the cluster bootstrap: stimulus level, success, cluster (base clip)."""

    level: np.ndarray
    success: np.ndarray
    cluster: np.ndarray


@dataclass(frozen=True)
class ResampledCounts:
    """Resampled data sets: successes and trials (B x levels) and the gamma of each (B,)."""

    successes: np.ndarray
    trials: np.ndarray
    gamma: np.ndarray


@dataclass(frozen=True)
class Refits:
    """Bootstrap refits: theta (B x P), the gamma each used (B,), convergence and deviance;
    ``start_dependent``: refits whose grid start and point-estimate start ended in different
    optima (the better one is kept; a warm start alone would have kept the worse one)."""

    theta: np.ndarray
    gamma: np.ndarray
    converged: np.ndarray
    deviance: np.ndarray
    start_dependent: np.ndarray | None = None


def refit(fit: PsychometricFit, successes: np.ndarray, trials: np.ndarray, gamma: np.ndarray) -> Refits:
    """Refit every row of successes/trials from the best point of the global grid and from the
    point estimate, inside the point fit's own bounds (so resamples and estimate are comparable)."""
    model, levels = fit.model, fit.data.levels
    lower, upper = model.bounds(levels[fit.data.trials > 0])
    fixed = gamma if model.fixed_gamma is not None else None
    batch = multistart_fit(levels, successes, trials, lower, upper, fixed, model.sigmoid, starts=fit.theta)
    theta = batch.theta
    used_gamma = gamma if model.fixed_gamma is not None else theta[:, 3]
    psi = psychometric_value(
        levels[None, :], theta[:, 0:1], np.exp(theta[:, 1:2]), used_gamma[:, None], theta[:, 2:3], model.sigmoid
    )
    return Refits(theta, used_gamma, batch.converged, deviance(psi, successes, trials), batch.n_starts_at_best < 2)


def parametric_refits(fit: PsychometricFit, n_resamples: int, seed: int, gamma_trials: int | None = None) -> Refits:
    """Simulate Binomial(n, psi_hat) counts at every tested level and refit; with
    ``gamma_trials``, a fixed gamma is redrawn as Binomial(gamma_trials, gamma) / gamma_trials."""
    rng = np.random.default_rng(seed)
    # Effective trial counts (criterion-free measures) may be fractional: draw from the nearest whole count.
    trials = np.broadcast_to(np.rint(fit.data.trials), (n_resamples, fit.data.trials.size))
    successes = rng.binomial(trials.astype(np.int64), fit.predict(fit.data.levels)).astype(float)
    gamma = np.full(n_resamples, fit.gamma)
    if fit.model.fixed_gamma is not None and gamma_trials:
        gamma = rng.binomial(gamma_trials, fit.gamma, size=n_resamples) / gamma_trials
        gamma = np.minimum(gamma, 1 - fit.model.lapse_bounds[1] - GAMMA_CEILING_MARGIN)
    return refit(fit, successes, np.array(trials, dtype=float), gamma)


def cluster_refits(
    fit: PsychometricFit, rows: TrialRows, gamma_rows: TrialRows | None, n_resamples: int, seed: int
) -> Refits:
    """Redraw clusters (base clips) over ``rows`` and ``gamma_rows`` together and refit; gamma
    is re-measured on the drawn false-alarm rows when the fit fixed it."""
    counts = cluster_counts(fit, rows, gamma_rows, n_resamples, seed)
    return refit(fit, counts.successes, counts.trials, counts.gamma)


def cluster_counts(
    fit: PsychometricFit, rows: TrialRows, gamma_rows: TrialRows | None, n_resamples: int, seed: int
) -> ResampledCounts:
    """The cluster resamples of ``cluster_refits``, before refitting."""
    if gamma_rows is not None and fit.model.fixed_gamma is None:
        raise ValueError("gamma_rows re-measure a fixed gamma; this fit has gamma free")
    levels = fit.data.levels
    if not np.isin(rows.level, levels).all():
        raise ValueError("cluster-bootstrap rows hold levels that the fitted data do not")
    level_index = np.searchsorted(levels, rows.level)
    n_levels = levels.size
    reference = gamma_rows if gamma_rows is not None else TrialRows(np.empty(0), np.empty(0, bool), np.empty(0))
    clusters, _ = pd.factorize(pd.Series(np.concatenate([rows.cluster, reference.cluster]).astype(str)), sort=True)
    # Columns: successes per level | trials per level | false alarms | false-alarm trials.
    values = np.zeros((rows.level.size + reference.success.size, 2 * n_levels + 2))
    target = np.arange(rows.level.size)
    values[target, level_index] = rows.success
    values[target, n_levels + level_index] = 1.0
    values[rows.level.size :, 2 * n_levels] = reference.success
    values[rows.level.size :, 2 * n_levels + 1] = 1.0
    totals = resampled_totals(cluster_sums(values, clusters), n_resamples, seed)
    gamma = np.full(n_resamples, fit.gamma)
    if gamma_rows is not None:
        measured = totals[:, 2 * n_levels + 1] > 0
        gamma[measured] = totals[measured, 2 * n_levels] / totals[measured, 2 * n_levels + 1]
        gamma = np.minimum(gamma, 1 - fit.model.lapse_bounds[1] - GAMMA_CEILING_MARGIN)
    return ResampledCounts(totals[:, :n_levels], totals[:, n_levels : 2 * n_levels], gamma)


def order_statistic_interval(samples: np.ndarray, level: float) -> dict[str, float]:
    tail = (1 - level) / 2
    return {
        "low": float(np.quantile(samples, tail, method="lower")),
        "high": float(np.quantile(samples, 1 - tail, method="higher")),
    }


def refit_intervals(
    fit: PsychometricFit, refits: Refits, threshold_probabilities: Sequence[float], level: float
) -> dict[str, Any]:
    """Intervals of the parameters and of each threshold DT_p over the refits, the share of
    resampled thresholds in each status, and how many refits did not converge."""
    sigmoid = fit.model.sigmoid
    alpha, beta, lapse = refits.theta[:, 0], np.exp(refits.theta[:, 1]), refits.theta[:, 2]
    low, high = fit.tested_range
    parameters = {
        "alpha": alpha,
        "beta": beta,
        "gamma": refits.gamma,
        "lambda": lapse,
        "width": width_from_beta(beta, sigmoid),
    }
    thresholds = {}
    for p in threshold_probabilities:
        x = threshold_levels(p, alpha, beta, refits.gamma, lapse, sigmoid)
        thresholds[str(p)] = {
            **order_statistic_interval(x, level),
            "share_unreachable": float(np.isinf(x).mean()),
            "status_shares": status_shares(x, low, high),
        }
    n = int(refits.theta.shape[0])
    not_converged = int((~refits.converged).sum())
    start_dependent = 0 if refits.start_dependent is None else int(refits.start_dependent.sum())
    return {
        "parameters": {name: order_statistic_interval(values, level) for name, values in parameters.items()},
        "thresholds": thresholds,
        "n_resamples": n,
        "n_not_converged": not_converged,
        "share_not_converged": not_converged / max(n, 1),
        "n_start_dependent": start_dependent,
    }


def reported_interval(entry: dict[str, Any], intervals: dict[str, dict[str, Any]], tested: tuple[float, float]) -> dict[str, Any] | None:
    """The interval a report shows: the cluster bootstrap's when it ran (it also covers
    variants of one clip failing together), else the parametric one; censored at the tested
    levels; None unless the threshold itself lies inside them."""
    if entry["status"] != INSIDE:
        return None
    method = "cluster" if "cluster" in intervals else "parametric"
    return censored_interval(intervals[method]["thresholds"][str(entry["p"])], *tested, method)


def goodness_of_fit(fit: PsychometricFit, parametric: Refits) -> dict[str, Any]:
    """Deviance and Monte-Carlo p-value (1 + #{D* >= D}) / (B + 1)."""
    observed = fit.deviance()
    exceed = int(np.sum(parametric.deviance >= observed))
    return {
        "deviance": observed,
        "p_value": (1 + exceed) / (1 + parametric.deviance.size),
        "n_simulations": int(parametric.deviance.size),
        "n_levels": int(np.sum(fit.data.trials > 0)),
        "n_free_parameters": fit.model.n_parameters,
    }


def psychometric_analysis(
    fit: PsychometricFit,
    threshold_probabilities: Sequence[float] = DEFAULT_THRESHOLD_PROBABILITIES,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    level: float = 0.95,
    gamma_trials: int | None = None,
    rows: TrialRows | None = None,
    gamma_rows: TrialRows | None = None,
    resampled: ResampledCounts | None = None,
) -> dict[str, Any]:
    """The fit, its thresholds with parametric (and, given rows or already ``resampled``
    clusters, cluster) bootstrap intervals, goodness of fit and the raw counts per level, as a
    JSON-ready dict."""
    data = fit.data
    proportion = np.divide(data.successes, data.trials, out=np.full(data.levels.size, np.nan), where=data.trials > 0)
    parametric = parametric_refits(fit, n_bootstrap, seed, gamma_trials)
    intervals = {"parametric": refit_intervals(fit, parametric, threshold_probabilities, level)}
    if resampled is None and rows is not None:
        resampled = cluster_counts(fit, rows, gamma_rows, n_bootstrap, seed)
    if resampled is not None:
        cluster = refit(fit, resampled.successes, resampled.trials, resampled.gamma)
        intervals["cluster"] = refit_intervals(fit, cluster, threshold_probabilities, level)
    thresholds = []
    for p in threshold_probabilities:
        entry = fit.threshold(p)
        for method, result in intervals.items():
            entry[f"interval_{method}"] = result["thresholds"][str(p)]
        entry["interval"] = reported_interval(entry, intervals, fit.tested_range)
        thresholds.append(entry)
    return {
        "sigmoid": fit.model.sigmoid,
        "gamma_fixed": fit.model.fixed_gamma is not None,
        "counts": {
            "level": data.levels,
            "successes": data.successes,
            "trials": data.trials,
            "proportion": proportion,
        },
        "parameters": {
            "alpha": fit.alpha,
            "beta": fit.beta,
            "gamma": fit.gamma,
            "lambda": fit.lapse,
            "width": float(width_from_beta(fit.beta, fit.model.sigmoid)),
        },
        "at_bound": list(fit.at_bound),
        "parameters_at_imposed_bound": fit.imposed_bounds_hit(),
        "converged": fit.converged,
        "n_starts": fit.n_starts,
        "n_starts_at_best": fit.n_starts_at_best,
        "share_refits_not_converged": {method: result["share_not_converged"] for method, result in intervals.items()},
        "neg_log_likelihood": fit.neg_log_likelihood,
        "thresholds": thresholds,
        "intervals": intervals,
        "goodness_of_fit": goodness_of_fit(fit, parametric),
        "bootstrap": {"n_resamples": n_bootstrap, "seed": seed, "level": level, "gamma_trials": gamma_trials},
    }
