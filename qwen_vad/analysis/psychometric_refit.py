"""Fit a psychometric function to one data set or thousands at once, from several starts.

A bootstrap needs ~1000 refits per curve and a report has dozens of curves; one scipy fit per
resample costs milliseconds, so minutes per report. Here every data set is a row of one batch
and all rows take damped Gauss-Newton (Levenberg-Marquardt) steps in lockstep, in numpy:

- step: solve (C + mu diag C) d = -g, with C the curvature from ``likelihood_terms``
  (positive semi-definite, so d descends) and mu the row's damping;
- bounds: a parameter on a bound whose gradient pushes outwards is held there, the rest of
  the step is clipped to the box;
- line search: the best point on a fixed ladder of step lengths, evaluated for all rows at
  once; a row that finds no decrease raises its damping (towards a scaled gradient step), one
  that does lowers it.

Starts (``multistart_fit``): a local optimiser only finds the optimum of the basin it starts
in, and a bootstrap resample's optimum can lie far from the point estimate (a threshold at the
edge of the tested levels, a curve that flattens). So every row is first evaluated on a coarse
grid spanning the whole box (the global part: two matrix products per distinct gamma), then
refined from its best grid point and from the caller's starts (the point estimate for
bootstrap refits, a spread of starts for the point fit); each row keeps its best optimum.

Convergence is judged at the end point, not by how the loop stopped: a row has converged when
a full Gauss-Newton step over the parameters that are free to move (not held on a bound by
their gradient) would gain less than ``GAIN_TOLERANCE`` nats. A row whose line search stopped
finding decreases (a stall) or that ran out of iterations fails that test; such a row is handed
to a different optimiser (scipy's L-BFGS-B, from where it stopped), which either finds a better
point (kept, and the row checked again) or confirms, by finding nothing better than
``SAME_OPTIMUM``, that the row sits on a flat optimum where the Gauss-Newton model misleads.
Rows that still fail after ``POLISH_ROUNDS`` are reported as not converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from qwen_vad.analysis.psychometric_likelihood import (
    SigmoidName,
    grid_negative_log_likelihood,
    likelihood_terms,
    negative_log_likelihood,
)

STEP_LENGTHS = 0.5 ** np.arange(0, 10)  # 1 down to 1/512
MAX_ITERATIONS = 300
# The loop stops a row when a (nearly) undamped step changes the log-likelihood by less than
# this (relative), or when its damping has grown past MAX_DAMPING; neither is taken as proof
# of an optimum (see ``predicted_gain``).
RELATIVE_TOLERANCE = 1e-10
NEWTON_DAMPING = 1e-2
MAX_DAMPING = 1e8
RIDGE = 1e-12  # keeps the system solvable where the curvature is singular (a flat curve)
GAIN_TOLERANCE = 1e-5  # nats: an end point from which a Newton step gains more has not converged
SAME_OPTIMUM = 1e-4  # nats: starts ending this close share the optimum
POLISH_ROUNDS = 3
# The global grid: points per parameter over its box (alpha, log beta, lambda, gamma). Fractions
# of the box for lambda and gamma: their optima sit mostly near the low end.
GRID_ALPHA, GRID_LOG_BETA = 21, 8
GRID_LAPSE_FRACTIONS = (0.0, 0.3, 1.0)
GRID_GAMMA_FRACTIONS = (0.04, 0.2, 0.5, 0.9)
GRID_CELLS_PER_CHUNK = 4_000_000  # rows x grid points evaluated at once (~32 MB per array)


@dataclass(frozen=True)
class BatchFit:
    theta: np.ndarray  # (batch x P)
    neg_log_likelihood: np.ndarray  # (batch,)
    converged: np.ndarray  # (batch,) bool: no Newton step from the end point gains > GAIN_TOLERANCE
    n_starts_at_best: np.ndarray | None = None  # (batch,) starts that reached the kept optimum


def free_newton_step(system: np.ndarray, gradient: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Solve system @ d = -gradient over the parameters not held; held ones get d = 0 (their
    rows and columns are replaced by the identity, their gradient by 0)."""
    free = ~held
    eye = np.eye(gradient.shape[1])
    reduced = np.where(free[:, :, None] & free[:, None, :], system, eye)
    return -np.linalg.solve(reduced, (gradient * free)[:, :, None])[:, :, 0]


def held_on_bounds(theta: np.ndarray, gradient: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Parameters on a bound whose gradient pushes them outwards: they cannot move."""
    return ((theta <= lower) & (gradient > 0)) | ((theta >= upper) & (gradient < 0))


def predicted_gain(
    theta: np.ndarray, gradient: np.ndarray, curvature: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Half the Newton decrement g^T C^-1 g over the free parameters: what a full Gauss-Newton
    step would gain (nats). Scale-free, so one tolerance serves dB, log-widths and rates."""
    step = free_newton_step(curvature + RIDGE * np.eye(gradient.shape[1]), gradient, held_on_bounds(theta, gradient, lower, upper))
    return np.maximum(-0.5 * np.einsum("bp,bp->b", gradient, step), 0.0)


def refit_batch(
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_gamma: np.ndarray | None,
    sigmoid: SigmoidName,
) -> BatchFit:
    """Local fit of every row of ``successes``/``trials`` (batch x levels) from ``start`` (one
    theta for all rows or one per row); ``fixed_gamma`` is None or one gamma per row."""
    batch, n_parameters = successes.shape[0], lower.size
    theta = np.clip(np.broadcast_to(start, (batch, n_parameters)).astype(float), lower, upper)
    damping = np.zeros(batch)
    stopped = np.zeros(batch, bool)
    nll, gradient, curvature = likelihood_terms(theta, levels, successes, trials, fixed_gamma, sigmoid)
    eye = np.eye(n_parameters)
    ladder = STEP_LENGTHS.size
    for _ in range(MAX_ITERATIONS):
        active = np.flatnonzero(~stopped)
        if active.size == 0:
            break
        th, g, c = theta[active], gradient[active], curvature[active]
        diagonal = np.einsum("bii->bi", c)
        system = c + damping[active, None, None] * diagonal[:, :, None] * eye + RIDGE * eye
        step = free_newton_step(system, g, held_on_bounds(th, g, lower, upper))
        candidates = np.clip(th[:, None, :] + STEP_LENGTHS[None, :, None] * step[:, None, :], lower, upper)
        trial_nll = negative_log_likelihood(
            candidates.reshape(-1, n_parameters),
            levels,
            np.repeat(successes[active], ladder, axis=0),
            np.repeat(trials[active], ladder, axis=0),
            None if fixed_gamma is None else np.repeat(fixed_gamma[active], ladder),
            sigmoid,
        )
        trial_nll = trial_nll.reshape(active.size, ladder)
        best = np.argmin(trial_nll, axis=1)
        gain = nll[active] - trial_nll[np.arange(active.size), best]
        improved = gain > 0

        # A negligible change stops a row only after a (nearly) undamped step: a heavily damped
        # step is short by construction and says nothing about the optimum.
        negligible = np.abs(gain) <= RELATIVE_TOLERANCE * (1 + np.abs(nll[active]))
        rows = active[improved]
        theta[rows] = candidates[np.flatnonzero(improved), best[improved]]
        damping[rows] /= 3
        damping[active[~improved]] = np.maximum(damping[active[~improved]] * 10, 1e-3)
        stopped[active[(negligible & (damping[active] < NEWTON_DAMPING)) | (damping[active] > MAX_DAMPING)]] = True
        if rows.size:
            gamma_rows = None if fixed_gamma is None else fixed_gamma[rows]
            nll[rows], gradient[rows], curvature[rows] = likelihood_terms(
                theta[rows], levels, successes[rows], trials[rows], gamma_rows, sigmoid
            )
    converged = predicted_gain(theta, gradient, curvature, lower, upper) < GAIN_TOLERANCE
    return BatchFit(theta, nll, converged)


def grid_points(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(G x P) thetas spread over the whole box: alpha and log beta evenly, lambda and gamma at
    fixed fractions of their ranges."""
    axes = [
        np.linspace(lower[0], upper[0], GRID_ALPHA),
        np.linspace(lower[1], upper[1], GRID_LOG_BETA),
        lower[2] + (upper[2] - lower[2]) * np.array(GRID_LAPSE_FRACTIONS),
    ]
    if lower.size == 4:
        axes.append(lower[3] + (upper[3] - lower[3]) * np.array(GRID_GAMMA_FRACTIONS))
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, lower.size)


def best_grid_points(
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_gamma: np.ndarray | None,
    sigmoid: SigmoidName,
) -> np.ndarray:
    """(batch x P): each row's grid point of lowest negative log-likelihood."""
    grid = grid_points(lower, upper)
    best = np.empty((successes.shape[0], lower.size))
    gammas = [None] if fixed_gamma is None else np.unique(fixed_gamma)
    for gamma in gammas:
        rows = np.arange(successes.shape[0]) if gamma is None else np.flatnonzero(fixed_gamma == gamma)
        chunk = max(1, GRID_CELLS_PER_CHUNK // grid.shape[0])
        for start in range(0, rows.size, chunk):
            part = rows[start : start + chunk]
            nll = grid_negative_log_likelihood(grid, levels, successes[part], trials[part], gamma, sigmoid)
            best[part] = grid[np.argmin(nll, axis=1)]
    return best


def multistart_fit(
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_gamma: np.ndarray | None,
    sigmoid: SigmoidName,
    starts: np.ndarray | None = None,
) -> BatchFit:
    """Fit every row from its best grid point and from each of ``starts`` (S x P, shared by all
    rows) and keep each row's best optimum; ``n_starts_at_best`` counts the starts that found it."""
    batch = successes.shape[0]
    begin = [best_grid_points(levels, successes, trials, lower, upper, fixed_gamma, sigmoid)]
    begin += [np.broadcast_to(s, (batch, lower.size)) for s in ([] if starts is None else np.atleast_2d(starts))]
    n_starts = len(begin)
    result = refit_batch(
        levels,
        np.tile(successes, (n_starts, 1)),
        np.tile(trials, (n_starts, 1)),
        np.concatenate(begin, axis=0),
        lower,
        upper,
        None if fixed_gamma is None else np.tile(fixed_gamma, n_starts),
        sigmoid,
    )
    nll = result.neg_log_likelihood.reshape(n_starts, batch)
    best = np.argmin(nll, axis=0)
    kept = best * batch + np.arange(batch)
    at_best = (nll <= nll[best, np.arange(batch)] + SAME_OPTIMUM).sum(axis=0)
    theta, nll, converged = result.theta[kept], result.neg_log_likelihood[kept], result.converged[kept]
    for row in np.flatnonzero(~converged):
        gamma = None if fixed_gamma is None else fixed_gamma[row : row + 1]
        theta[row], nll[row], converged[row] = polish(levels, successes[row], trials[row], theta[row], lower, upper, gamma, sigmoid)
    return BatchFit(theta, nll, converged, at_best)


def polish(
    levels: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    theta: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    fixed_gamma: np.ndarray | None,
    sigmoid: SigmoidName,
) -> tuple[np.ndarray, float, bool]:
    """Check one row that failed the Newton test with L-BFGS-B from its end point: (theta, nll,
    converged). Converged once a round gains < SAME_OPTIMUM or the Newton test passes."""

    def objective(t: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient, _ = likelihood_terms(t[None, :], levels, successes[None, :], trials[None, :], fixed_gamma, sigmoid)
        return float(value[0]), gradient[0]

    nll = objective(theta)[0]
    options = {"maxiter": 500}  # scipy's default tolerances: a check, not a second full fit
    for _ in range(POLISH_ROUNDS):
        result = minimize(objective, theta, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)), options=options)
        if result.fun > nll - SAME_OPTIMUM:
            return theta, nll, True
        theta, nll = np.clip(result.x, lower, upper), float(result.fun)
        _, gradient, curvature = likelihood_terms(theta[None, :], levels, successes[None, :], trials[None, :], fixed_gamma, sigmoid)
        if predicted_gain(theta[None, :], gradient, curvature, lower, upper)[0] < GAIN_TOLERANCE:
            return theta, nll, True
    return theta, nll, False
