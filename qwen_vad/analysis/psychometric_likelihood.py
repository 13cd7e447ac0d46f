"""The psychometric function and its binomial likelihood, for one data set or a batch of them.

    psi(x) = gamma + (1 - gamma - lambda) * F((x - alpha) / beta)

theta = (alpha, log beta, lambda[, gamma]) is what the optimisers move (``psychometric_refit``);
``qwen_vad.analysis.psychometric`` builds the model and the fit on top of this module.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy.special import expit, logit, ndtr, ndtri, xlogy

SigmoidName = Literal["logistic", "normal"]
SIGMOIDS: tuple[SigmoidName, ...] = ("logistic", "normal")
PSI_CLIP = 1e-12  # keeps log(psi) finite when a bound puts psi at exactly 0 or 1


def standard_cdf(z: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    return expit(z) if sigmoid == "logistic" else ndtr(z)


def standard_pdf(z: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    if sigmoid == "logistic":
        f = expit(z)
        return f * (1 - f)
    return np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def standard_ppf(q: np.ndarray, sigmoid: SigmoidName) -> np.ndarray:
    return logit(q) if sigmoid == "logistic" else ndtri(q)


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
    Counts may be fractional (the criterion-free measures use effective trial counts).
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


def negative_log_likelihood(
    theta: np.ndarray,
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    fixed_gamma: np.ndarray | None,
    sigmoid: SigmoidName,
) -> np.ndarray:
    """(batch,) negative log-likelihood alone: what a line search needs (a tenth of the work of
    ``likelihood_terms``)."""
    alpha, beta, gamma, lapse = split_theta(theta, fixed_gamma)
    psi = np.clip(psychometric_value(levels[None, :], alpha, beta, gamma, lapse, sigmoid), PSI_CLIP, 1 - PSI_CLIP)
    return -(xlogy(successes, psi) + xlogy(trials - successes, 1 - psi)).sum(axis=1)


def grid_negative_log_likelihood(
    grid: np.ndarray,
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    gamma: float | None,
    sigmoid: SigmoidName,
) -> np.ndarray:
    """(rows x grid points) negative log-likelihood of every data set (row) at every theta of
    ``grid`` (G x P), for rows sharing one gamma (``None``: gamma is the grid's 4th column).
    The curve of a grid point does not depend on the row, so this is two matrix products."""
    alpha, beta, gamma_column, lapse = split_theta(grid, None if gamma is None else np.full(grid.shape[0], gamma))
    psi = np.clip(psychometric_value(levels[None, :], alpha, beta, gamma_column, lapse, sigmoid), PSI_CLIP, 1 - PSI_CLIP)
    return -(successes @ np.log(psi).T + (trials - successes) @ np.log1p(-psi).T)
