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
a curvature matrix are computed for a whole batch of data sets at once; the point fit uses
scipy (TNC, a bounded truncated Newton) from several starts, the bootstrap refits use the batch
(``psychometric_refit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit, ndtr, ndtri, xlogy

SigmoidName = Literal["logistic", "normal"]
SIGMOIDS: tuple[SigmoidName, ...] = ("logistic", "normal")
DEFAULT_THRESHOLD_PROBABILITIES = (0.5, 0.75, 0.9)
LAPSE_BOUNDS = (0.0, 0.1)  # Wichmann & Hill 2001: lapses above 10 % mean the task is not being done
GAMMA_BOUNDS = (0.0, 0.5)  # a floor above chance would be a bias, not a guess rate
PSI_CLIP = 1e-12  # keeps log(psi) finite when a bound puts psi at exactly 0 or 1
WIDTH_ALPHA = 0.05  # psignifit's width: distance between F = 0.05 and F = 0.95
PARAMETER_NAMES = ("alpha", "log_beta", "lambda", "gamma")


def standard_cdf(z: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    return expit(z) if sigmoid == "logistic" else ndtr(z)


def standard_pdf(z: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    if sigmoid == "logistic":
        f = expit(z)
        return f * (1 - f)
    return np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def standard_ppf(q: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    return logit(q) if sigmoid == "logistic" else ndtri(q)


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


def psychometric_value(
    x: np.ndarray, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, lapse: np.ndarray, sigmoid: SigmoidName
) -> np.ndarray:
    return gamma + (1 - gamma - lapse) * standard_cdf((np.asarray(x, float) - alpha) / beta, sigmoid)


def split_theta(theta: np.ndarray, fixed_gamma: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """(alpha, beta, gamma, lapse) columns of a (batch x P) theta, each shaped (batch, 1)."""
    gamma = theta[:, 3:4] if fixed_gamma is None else np.asarray(fixed_gamma, float).reshape(-1, 1)
    return theta[:, 0:1], np.exp(theta[:, 1:2]), gamma, theta[:, 2:3]


def likelihood_terms(
    theta: np.ndarray,
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    fixed_gamma: np.ndarray | None,
    sigmoid: SigmoidName,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Negative log-likelihood (batch,), its gradient (batch x P) and a Gauss-Newton curvature
    (batch x P x P) for a batch of data sets sharing the stimulus levels.

    The curvature is sum over levels of (k / psi^2 + (n - k) / (1 - psi)^2) dpsi dpsi^T: the
    observed Hessian without its second-derivative-of-psi term, so positive semi-definite. The
    expected (Fisher) weights n / (psi (1 - psi)) would explode where psi -> 1 - lambda -> 1 with
    no failure observed, which is exactly where a lapse rate with its optimum near 0 sits, and
    made the refits crawl there. The binomial coefficient is left out: it does not depend on theta.
    """
    alpha, beta, gamma, lapse = split_theta(theta, fixed_gamma)
    z = (levels[None, :] - alpha) / beta
    F, f = standard_cdf(z, sigmoid), standard_pdf(z, sigmoid)
    scale = 1 - gamma - lapse
    psi = np.clip(gamma + scale * F, PSI_CLIP, 1 - PSI_CLIP)
    # d psi / d theta, one slice per parameter: alpha, log beta, lambda[, gamma].
    dpsi = [-scale * f / beta, -scale * f * z, -F]
    if fixed_gamma is None:
        dpsi.append(1 - F)
    dpsi = np.stack(np.broadcast_arrays(*dpsi), axis=-1)
    failures = trials - successes
    nll = -(xlogy(successes, psi) + xlogy(failures, 1 - psi)).sum(axis=1)
    dnll_dpsi = -(successes / psi - failures / (1 - psi))
    gradient = np.einsum("bl,blp->bp", dnll_dpsi, dpsi)
    curvature = np.einsum("bl,blp,blq->bpq", successes / psi**2 + failures / (1 - psi) ** 2, dpsi, dpsi)
    return nll, gradient, curvature


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
    converged: bool

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

    def threshold(self, p: float) -> dict[str, object]:
        """DT_p with an ``extrapolated`` flag, or x = None and the reason it does not exist."""
        x = float(threshold_levels(p, self.alpha, self.beta, self.gamma, self.lapse, self.model.sigmoid))
        if math.isinf(x):
            reason = (
                f"p = {p} is outside (gamma, 1 - lambda) = ({self.gamma:.3g}, {1 - self.lapse:.3g}): "
                f"the fitted curve {'never falls to' if x < 0 else 'never reaches'} it"
            )
            return {"p": p, "x": None, "extrapolated": None, "reason": reason}
        tested = self.data.levels[self.data.trials > 0]
        return {"p": p, "x": x, "extrapolated": not tested.min() <= x <= tested.max(), "reason": None}


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
    """Maximum-likelihood fit: scipy's TNC with the analytic gradient from every starting
    point, keeping the best optimum. (TNC rather than L-BFGS-B: on a busy machine L-BFGS-B's
    per-iteration overhead made a 3-parameter fit ~10x slower, for the same optimum.)"""
    tested = data.trials > 0
    if tested.sum() < model.n_parameters:
        raise ValueError(
            f"{int(tested.sum())} stimulus levels with trials cannot identify {model.n_parameters} parameters"
        )
    levels = data.levels
    lower, upper = model.bounds(levels[tested])
    fixed_gamma = None if model.fixed_gamma is None else np.array([model.fixed_gamma])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        nll, gradient, _ = likelihood_terms(
            theta[None, :], levels, data.successes[None, :], data.trials[None, :], fixed_gamma, model.sigmoid
        )
        return float(nll[0]), gradient[0]

    best = None
    for start in starting_points(model, levels[tested]):
        start = np.clip(start, lower, upper)
        result = minimize(objective, start, jac=True, method="TNC", bounds=list(zip(lower, upper)))
        if best is None or result.fun < best.fun:
            best = result
    on_bound = np.minimum(best.x - lower, upper - best.x) < 1e-6 * (upper - lower)
    at_bound = tuple(name for name, hit in zip(PARAMETER_NAMES, on_bound) if hit)
    return PsychometricFit(model, data, best.x, float(best.fun), at_bound, bool(best.success))
