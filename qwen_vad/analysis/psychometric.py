"""Psychometric functions fitted by maximum likelihood to binomial counts per stimulus level.

    psi(x) = gamma + (1 - gamma - lambda) * F((x - alpha) / beta)

F is the logistic (default) or the standard normal CDF; alpha is where F = 1/2, beta > 0 its
scale in stimulus units (the 5 %-95 % width of F is 2 ln 19 beta for the logistic and
2 * 1.645 beta for the normal, psignifit's "width"). gamma is the floor: for "P(answer SPEECH |
SPEECH clip)" it is fixed to the system's false-alarm rate on NONSPEECH clips, since a system
that hears nothing of the speech still says SPEECH that often; otherwise it is free in
[0, 0.5]. lambda, the lapse rate, is free in [0, 0.1] (Wichmann & Hill 2001).

The optimiser works on theta = (alpha, log beta, lambda[, gamma]) inside box bounds derived
from the tested levels, so a degenerate data set (flat, or a perfect step) ends on a bound
(reported in ``at_bound``) instead of running off to infinity. The likelihood, its gradient and
a curvature matrix are computed for a whole batch of data sets at once
(``psychometric_likelihood``); the point fit and every bootstrap refit use the same optimiser:
a global grid over the box, then Levenberg-Marquardt from the best grid point and further
starts, keeping the best optimum (``psychometric_refit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from qwen_vad.analysis.psychometric_likelihood import (
    PSI_CLIP,
    SIGMOIDS,
    SigmoidName,
    likelihood_terms,
    psychometric_value,
    split_theta,
    standard_cdf,
    standard_pdf,
    standard_ppf,
)
from qwen_vad.analysis.psychometric_refit import multistart_fit
from qwen_vad.analysis.psychometric_thresholds import parameters_on_imposed_bounds, threshold_status

__all__ = [  # the likelihood's names are part of this module's interface too
    "PSI_CLIP", "SIGMOIDS", "SigmoidName", "likelihood_terms", "psychometric_value", "split_theta",
    "standard_cdf", "standard_pdf", "standard_ppf",
    "BinomialLevels", "PsychometricFit", "PsychometricModel", "deviance", "fit_psychometric",
    "starting_points", "threshold_levels", "width_from_beta",
]  # fmt: skip

DEFAULT_THRESHOLD_PROBABILITIES = (0.5, 0.75, 0.9)
LAPSE_BOUNDS = (0.0, 0.1)  # Wichmann & Hill 2001: lapses above 10 % mean the task is not being done
GAMMA_BOUNDS = (0.0, 0.5)  # a floor above chance would be a bias, not a guess rate
WIDTH_ALPHA = 0.05  # psignifit's width: distance between F = 0.05 and F = 0.95
PARAMETER_NAMES = ("alpha", "log_beta", "lambda", "gamma")


def width_from_beta(beta: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    """psignifit's width: the stimulus distance from F = 0.05 to F = 0.95."""
    return beta * (standard_ppf(1 - WIDTH_ALPHA, sigmoid) - standard_ppf(WIDTH_ALPHA, sigmoid))


@dataclass(frozen=True)
class BinomialLevels:
    """Counts per distinct stimulus level, sorted by level."""

    levels: np.ndarray
    successes: np.ndarray
    trials: np.ndarray

    @classmethod
    def from_rows(cls, level: np.ndarray, success: np.ndarray) -> BinomialLevels:
        levels, index = np.unique(np.asarray(level, float), return_inverse=True)
        return cls(
            levels,
            np.bincount(index, weights=np.asarray(success, float), minlength=levels.size),
            np.bincount(index, minlength=levels.size).astype(float),
        )

    def __post_init__(self) -> None:
        for name in ("levels", "successes", "trials"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), float))
        if not (self.levels.shape == self.successes.shape == self.trials.shape) or self.levels.ndim != 1:
            raise ValueError("levels, successes and trials must be 1-D arrays of equal length")
        if not np.all(np.isfinite(self.levels)):
            raise ValueError("stimulus levels must be finite (leave clean clips out of an SNR fit)")
        if np.any(np.diff(self.levels) <= 0):
            raise ValueError("stimulus levels must be distinct and increasing (BinomialLevels.from_rows pools rows)")
        if np.any(self.successes < 0) or np.any(self.successes > self.trials):
            raise ValueError("successes must lie between 0 and trials at every level")


@dataclass(frozen=True)
class PsychometricModel:
    """What is fitted: the sigmoid, whether gamma is fixed (to what), and the bounds."""

    sigmoid: SigmoidName = "logistic"
    fixed_gamma: float | None = None
    lapse_bounds: tuple[float, float] = LAPSE_BOUNDS
    gamma_bounds: tuple[float, float] = GAMMA_BOUNDS

    def __post_init__(self) -> None:
        if self.sigmoid not in SIGMOIDS:
            raise ValueError(f"sigmoid must be one of {SIGMOIDS}, got {self.sigmoid!r}")
        if self.fixed_gamma is not None and not 0 <= self.fixed_gamma < 1 - self.lapse_bounds[1]:
            raise ValueError(f"fixed gamma {self.fixed_gamma} must lie in [0, 1 - max lapse)")

    @property
    def n_parameters(self) -> int:
        return 3 if self.fixed_gamma is not None else 4

    def bounds(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Box bounds on theta. alpha may sit up to one tested span outside the tested range
        (beyond that the data say nothing about it); beta runs from a step sharper than any
        level spacing (span / 200) to a curve flat across the range (10 spans)."""
        span = float(levels.max() - levels.min())
        lower = [levels.min() - span, math.log(span / 200), self.lapse_bounds[0]]
        upper = [levels.max() + span, math.log(10 * span), self.lapse_bounds[1]]
        if self.fixed_gamma is None:
            lower.append(self.gamma_bounds[0])
            upper.append(self.gamma_bounds[1])
        return np.array(lower), np.array(upper)








def deviance(psi: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """2 x log-likelihood ratio of the saturated model (each level its own rate) to psi."""
    psi = np.clip(psi, PSI_CLIP, 1 - PSI_CLIP)
    failures = trials - successes
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xlogy(successes, successes / (trials * psi)) + xlogy(failures, failures / (trials * (1 - psi)))
    return 2 * np.nansum(np.where(trials > 0, terms, 0.0), axis=-1)


def threshold_levels(
    p: float, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, lapse: np.ndarray, sigmoid: SigmoidName
) -> np.ndarray:
    """x where psi(x) = p: alpha + beta F^-1((p - gamma) / (1 - gamma - lambda)).

    An increasing psi never falls to a p at or below gamma (-inf: every level is above p) nor
    reaches a p at or above 1 - lambda (+inf); the infinities let bootstrap percentiles order
    such resamples correctly.
    """
    alpha, beta, gamma, lapse = np.broadcast_arrays(*(np.asarray(v, float) for v in (alpha, beta, gamma, lapse)))
    q = (p - gamma) / (1 - gamma - lapse)
    inside = (q > 0) & (q < 1)
    x = np.where(q <= 0, -np.inf, np.inf)
    x[inside] = alpha[inside] + beta[inside] * standard_ppf(q[inside], sigmoid)
    return x


@dataclass(frozen=True)
class PsychometricFit:
    model: PsychometricModel
    data: BinomialLevels
    theta: np.ndarray  # (alpha, log beta, lambda[, gamma]) as optimised
    neg_log_likelihood: float
    at_bound: tuple[str, ...]
    converged: bool  # no Newton step from the optimum gains more than GAIN_TOLERANCE
    n_starts: int = 1  # starts the optimiser ran from (the best grid point and ``starting_points``)
    n_starts_at_best: int = 1  # how many of them reached the kept optimum

    @property
    def alpha(self) -> float:
        return float(self.theta[0])

    @property
    def beta(self) -> float:
        return float(math.exp(self.theta[1]))

    @property
    def lapse(self) -> float:
        return float(self.theta[2])

    @property
    def gamma(self) -> float:
        return float(self.model.fixed_gamma if self.model.fixed_gamma is not None else self.theta[3])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return psychometric_value(x, self.alpha, self.beta, self.gamma, self.lapse, self.model.sigmoid)

    def deviance(self) -> float:
        return float(deviance(self.predict(self.data.levels), self.data.successes, self.data.trials))

    @property
    def tested_range(self) -> tuple[float, float]:
        tested = self.data.levels[self.data.trials > 0]
        return float(tested.min()), float(tested.max())

    def imposed_bounds_hit(self) -> dict[str, str]:
        """Estimates on a bound that is a modelling device (``psychometric_thresholds``)."""
        lower, upper = self.model.bounds(self.data.levels[self.data.trials > 0])
        return parameters_on_imposed_bounds(PARAMETER_NAMES, self.theta, lower, upper)

    def threshold(self, p: float) -> dict[str, object]:
        """DT_p with its ``status`` against the tested levels (``psychometric_thresholds``): x is
        the fitted curve's crossing even when it lies beyond them (``extrapolated``), or None
        with the reason when the curve never crosses p."""
        x = float(threshold_levels(p, self.alpha, self.beta, self.gamma, self.lapse, self.model.sigmoid))
        low, high = self.tested_range
        context = {"status": threshold_status(x, low, high), "tested_range_fit": [low, high], "parameters_at_bound": self.imposed_bounds_hit()}
        if math.isinf(x):
            reason = (
                f"p = {p} is outside (gamma, 1 - lambda) = ({self.gamma:.3g}, {1 - self.lapse:.3g}): "
                f"the fitted curve {'never falls to' if x < 0 else 'never reaches'} it"
            )
            return {"p": p, "x": None, "extrapolated": None, "reason": reason, **context}
        return {"p": p, "x": x, "extrapolated": not low <= x <= high, "reason": None, **context}


def starting_points(model: PsychometricModel, levels: np.ndarray) -> np.ndarray:
    """A small grid of starts: alpha at a quarter/half/three quarters of the tested range, beta
    from steep to shallow, lapse 0.02, gamma (when free) low and high. Local optima of these
    likelihoods mostly trade alpha/beta against the asymptotes, which this grid spans."""
    low, span = float(levels.min()), float(levels.max() - levels.min())
    gammas = [[]] if model.fixed_gamma is not None else [[0.05], [0.3]]
    return np.array(
        [
            [alpha, math.log(beta), 0.02, *gamma]
            for alpha in (low + 0.25 * span, low + 0.5 * span, low + 0.75 * span)
            for beta in (span / 20, span / 6, span / 2)
            for gamma in gammas
        ]
    )


def fit_psychometric(data: BinomialLevels, model: PsychometricModel = PsychometricModel()) -> PsychometricFit:
    """Maximum-likelihood fit from the best point of a grid over the whole box and from every
    one of ``starting_points``, keeping the best optimum; the same optimiser as the bootstrap
    refits (``psychometric_refit.multistart_fit``), so estimate and resamples are comparable."""
    tested = data.trials > 0
    if tested.sum() < model.n_parameters:
        raise ValueError(
            f"{int(tested.sum())} stimulus levels with trials cannot identify {model.n_parameters} parameters"
        )
    lower, upper = model.bounds(data.levels[tested])
    starts = np.clip(starting_points(model, data.levels[tested]), lower, upper)
    best = multistart_fit(
        data.levels,
        data.successes[None, :],
        data.trials[None, :],
        lower,
        upper,
        None if model.fixed_gamma is None else np.array([model.fixed_gamma]),
        model.sigmoid,
        starts,
    )
    theta = best.theta[0]
    on_bound = np.minimum(theta - lower, upper - theta) < 1e-6 * (upper - lower)
    at_bound = tuple(name for name, hit in zip(PARAMETER_NAMES, on_bound) if hit)
    return PsychometricFit(
        model, data, theta, float(best.neg_log_likelihood[0]), at_bound, bool(best.converged[0]),
        n_starts=1 + len(starts), n_starts_at_best=int(best.n_starts_at_best[0]),
    )  # fmt: skip
