"""Refit a psychometric function to thousands of resampled data sets at once.

A bootstrap needs ~1000 refits per curve and a report has dozens of curves; one scipy fit per
resample costs milliseconds, so minutes per report. Here every resample is a row of one batch
and all rows take damped Gauss-Newton (Levenberg-Marquardt) steps in lockstep, in numpy:

- step: solve (C + mu diag C) d = -g, with C the curvature from ``likelihood_terms``
  (positive semi-definite, so d descends) and mu the row's damping;
- bounds: a parameter on a bound whose gradient pushes outwards is held there, the rest of
  the step is clipped to the box;
- line search: the best point on a fixed ladder of step lengths, evaluated for all rows at
  once; a row that finds no decrease raises its damping (towards a scaled gradient step), one
  that does lowers it.

Resamples start from the point estimate (warm start), which is close to their optimum; the
tests check the result against scipy from several starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qwen_vad.analysis.psychometric import SigmoidName, likelihood_terms

STEP_LENGTHS = 0.5 ** np.arange(0, 10)  # 1 down to 1/512
MAX_ITERATIONS = 200
# Converged when a (nearly) undamped step changes the log-likelihood by less than this
# (relative), or when damping has grown so large that even a tiny scaled-gradient step cannot
# improve: a (bounded) optimum.
RELATIVE_TOLERANCE = 1e-10
NEWTON_DAMPING = 1e-2
MAX_DAMPING = 1e8
RIDGE = 1e-12  # keeps the system solvable where the curvature is singular (a flat curve)


@dataclass(frozen=True)
class BatchFit:
    theta: np.ndarray  # (batch x P)
    neg_log_likelihood: np.ndarray  # (batch,)
    converged: np.ndarray  # (batch,) bool


def free_newton_step(system: np.ndarray, gradient: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Solve system @ d = -gradient over the parameters not held; held ones get d = 0 (their
    rows and columns are replaced by the identity, their gradient by 0)."""
    free = ~held
    eye = np.eye(gradient.shape[1])
    reduced = np.where(free[:, :, None] & free[:, None, :], system, eye)
    return -np.linalg.solve(reduced, (gradient * free)[:, :, None])[:, :, 0]


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
    """Fit every row of ``successes``/``trials`` (batch x levels); ``fixed_gamma`` is None or
    one gamma per row; ``start`` is one theta for all rows or one per row."""
    batch, n_parameters = successes.shape[0], lower.size
    theta = np.clip(np.broadcast_to(start, (batch, n_parameters)).astype(float), lower, upper)
    damping = np.zeros(batch)
    converged = np.zeros(batch, bool)
    nll, gradient, curvature = likelihood_terms(theta, levels, successes, trials, fixed_gamma, sigmoid)
    eye = np.eye(n_parameters)
    ladder = STEP_LENGTHS.size
    for _ in range(MAX_ITERATIONS):
        active = np.flatnonzero(~converged)
        if active.size == 0:
            break
        th, g, c = theta[active], gradient[active], curvature[active]
        diagonal = np.einsum("bii->bi", c)
        system = c + damping[active, None, None] * diagonal[:, :, None] * eye + RIDGE * eye
        held = ((th <= lower) & (g > 0)) | ((th >= upper) & (g < 0))
        step = free_newton_step(system, g, held)
        candidates = np.clip(th[:, None, :] + STEP_LENGTHS[None, :, None] * step[:, None, :], lower, upper)
        trial_nll, _, _ = likelihood_terms(
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

        # A negligible change counts as convergence only after a (nearly) undamped step: a
        # heavily damped step is short by construction and says nothing about the optimum.
        negligible = np.abs(gain) <= RELATIVE_TOLERANCE * (1 + np.abs(nll[active]))
        newly_converged = negligible & (damping[active] < NEWTON_DAMPING)
        rows = active[improved]
        theta[rows] = candidates[np.flatnonzero(improved), best[improved]]
        damping[rows] /= 3
        damping[active[~improved]] = np.maximum(damping[active[~improved]] * 10, 1e-3)
        converged[active[newly_converged | (damping[active] > MAX_DAMPING)]] = True
        if rows.size:
            gamma_rows = None if fixed_gamma is None else fixed_gamma[rows]
            nll[rows], gradient[rows], curvature[rows] = likelihood_terms(
                theta[rows], levels, successes[rows], trials[rows], gamma_rows, sigmoid
            )
    return BatchFit(theta, nll, converged)
