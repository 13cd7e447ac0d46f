"""Psychometric fits: likelihood derivatives, batch refits against scipy, threshold rules,
interval coverage on simulated observers, psignifit cross-check, curves from predictions."""

from __future__ import annotations

import json
import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime, minimize

from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.psychometric import (
    BinomialLevels,
    PsychometricFit,
    PsychometricModel,
    fit_psychometric,
    likelihood_terms,
    psychometric_value,
    threshold_levels,
    width_from_beta,
)
from qwen_vad.analysis.psychometric_bootstrap import (
    TrialRows,
    cluster_refits,
    parametric_refits,
    psychometric_analysis,
    refit_intervals,
)
from qwen_vad.analysis.psychometric_curves import CurveOptions, psychometric_curves, psychometric_report
from qwen_vad.analysis.psychometric_refit import refit_batch

RESEARCH_SNR_GRID = np.array([-5.0, 0.0, 5.0, 10.0, 20.0])
# The research grid plus -10, 2.5 and 7.5 dB: more levels on the rising part and below it.
EXTENDED_SNR_GRID = np.array([-10.0, -5.0, 0.0, 2.5, 5.0, 7.5, 10.0, 20.0])
TRUE = {"alpha": 2.0, "beta": 3.0, "gamma": 0.05, "lapse": 0.02}  # dB, dB, rates


def simulate(levels: np.ndarray, trials: int, rng: np.random.Generator, sigmoid: str = "logistic") -> BinomialLevels:
    psi = psychometric_value(levels, TRUE["alpha"], TRUE["beta"], TRUE["gamma"], TRUE["lapse"], sigmoid)
    n = np.full(levels.size, float(trials))
    return BinomialLevels(levels, rng.binomial(trials, psi).astype(float), n)


def true_threshold(p: float, sigmoid: str = "logistic") -> float:
    return float(threshold_levels(p, TRUE["alpha"], TRUE["beta"], TRUE["gamma"], TRUE["lapse"], sigmoid))


@pytest.mark.parametrize("sigmoid", ["logistic", "normal"])
@pytest.mark.parametrize("fixed_gamma", [0.05, None])
def test_analytic_gradient_matches_finite_differences(sigmoid: str, fixed_gamma: float | None) -> None:
    data = simulate(RESEARCH_SNR_GRID, 40, np.random.default_rng(0), sigmoid)
    theta = np.array([1.5, math.log(2.5), 0.03] + ([] if fixed_gamma is not None else [0.1]))
    gamma = None if fixed_gamma is None else np.array([fixed_gamma])

    def terms(t: np.ndarray) -> tuple[np.ndarray, ...]:
        return likelihood_terms(t[None], data.levels, data.successes[None], data.trials[None], gamma, sigmoid)

    def nll(t: np.ndarray) -> float:
        return float(terms(t)[0][0])

    gradient = terms(theta)[1]
    assert gradient[0] == pytest.approx(approx_fprime(theta, nll, 1e-7), rel=1e-4, abs=1e-4)


def scipy_reference_fit(data: BinomialLevels, model: PsychometricModel) -> float:
    """An independent optimum: SLSQP (neither the point fit's TNC nor the batch's Gauss-Newton)
    from a grid of starts spanning the whole box."""
    lower, upper = model.bounds(data.levels)
    gamma = None if model.fixed_gamma is None else np.array([model.fixed_gamma])

    def nll(t: np.ndarray) -> tuple[float, np.ndarray]:
        k, n = data.successes[None], data.trials[None]
        value, gradient, _ = likelihood_terms(t[None], data.levels, k, n, gamma, model.sigmoid)
        return float(value[0]), gradient[0]

    best = math.inf
    for alpha in np.linspace(lower[0], upper[0], 4):
        for log_beta in np.linspace(lower[1], upper[1], 4):
            start = np.array([alpha, log_beta, 0.02] + ([] if model.fixed_gamma is not None else [0.1]))
            best = min(best, minimize(nll, start, jac=True, method="SLSQP", bounds=list(zip(lower, upper))).fun)
    return best


@pytest.mark.parametrize(("sigmoid", "fixed_gamma"), [("logistic", 0.05), ("normal", 0.05), ("logistic", None)])
def test_point_fit_and_batch_refits_reach_the_scipy_optimum(sigmoid: str, fixed_gamma: float | None) -> None:
    rng = np.random.default_rng(3)
    model = PsychometricModel(sigmoid=sigmoid, fixed_gamma=fixed_gamma)
    fit = fit_psychometric(simulate(RESEARCH_SNR_GRID, 50, rng, sigmoid), model)
    resamples = rng.binomial(50, fit.predict(RESEARCH_SNR_GRID), size=(12, 5)).astype(float)
    trials = np.full_like(resamples, 50.0)
    lower, upper = model.bounds(RESEARCH_SNR_GRID)
    gamma = None if fixed_gamma is None else np.full(12, fixed_gamma)
    batch = refit_batch(RESEARCH_SNR_GRID, resamples, trials, fit.theta, lower, upper, gamma, sigmoid)
    assert batch.converged.all()
    for i in range(12):
        data = BinomialLevels(RESEARCH_SNR_GRID, resamples[i], trials[i])
        reference = scipy_reference_fit(data, model)
        assert batch.neg_log_likelihood[i] <= reference + 1e-6
        assert reference <= batch.neg_log_likelihood[i] + 1e-4  # the reference did find the optimum
        assert fit_psychometric(data, model).neg_log_likelihood <= reference + 1e-6


def test_point_estimates_recover_the_generating_parameters() -> None:
    # gamma free needs the extended grid: with 5 levels 4 parameters are barely identified.
    data = simulate(EXTENDED_SNR_GRID, 2000, np.random.default_rng(4))
    fit = fit_psychometric(data, PsychometricModel(fixed_gamma=None))
    assert fit.alpha == pytest.approx(TRUE["alpha"], abs=0.3)
    assert fit.beta == pytest.approx(TRUE["beta"], rel=0.1)
    assert fit.gamma == pytest.approx(TRUE["gamma"], abs=0.015)
    assert fit.lapse == pytest.approx(TRUE["lapse"], abs=0.01)


def test_threshold_rules_by_hand() -> None:
    # gamma = 0.5 (fixed), lambda = 0.1, alpha = 0, beta = 1 on levels [-1, 1]:
    #   DT75: q = (0.75 - 0.5) / 0.4 = 0.625, x = logit(0.625) = ln(5/3) = 0.5108
    #   DT50: p = gamma, the curve never falls to it; DT95: above 1 - lambda = 0.9, never reached
    data = BinomialLevels(np.array([-1.0, 1.0]), np.array([5.0, 8.0]), np.array([10.0, 10.0]))
    fit = PsychometricFit(PsychometricModel(fixed_gamma=0.5), data, np.array([0.0, 0.0, 0.1]), 0.0, (), True)
    expected = {"p": 0.75, "x": pytest.approx(math.log(5 / 3)), "extrapolated": False, "reason": None}
    assert fit.threshold(0.75) == expected
    below, above = fit.threshold(0.5), fit.threshold(0.95)
    assert below["x"] is None and "never falls to" in below["reason"]
    assert above["x"] is None and "never reaches" in above["reason"]
    shifted = PsychometricFit(PsychometricModel(fixed_gamma=0.5), data, np.array([3.0, 0.0, 0.1]), 0.0, (), True)
    assert shifted.threshold(0.75)["extrapolated"] is True  # 3.51 lies beyond the tested 1.0
    assert float(width_from_beta(1.0, "logistic")) == pytest.approx(2 * math.log(19))


def test_too_few_levels_and_flat_data() -> None:
    two_levels = BinomialLevels(np.array([0.0, 5.0]), np.array([3.0, 7.0]), np.array([10.0, 10.0]))
    with pytest.raises(ValueError, match="cannot identify 3 parameters"):
        fit_psychometric(two_levels, PsychometricModel(fixed_gamma=0.1))
    flat = BinomialLevels(RESEARCH_SNR_GRID, np.full(5, 45.0), np.full(5, 50.0))
    fit = fit_psychometric(flat, PsychometricModel(fixed_gamma=0.05))
    assert fit.converged and fit.at_bound  # no rise within the range: the curve sits on a bound
    assert fit.predict(RESEARCH_SNR_GRID) == pytest.approx(0.9, abs=0.01)


def coverage(levels: np.ndarray, trials: int, repetitions: int, n_bootstrap: int) -> dict[float, float]:
    covered = {0.5: 0, 0.75: 0}
    for repetition in range(repetitions):
        data = simulate(levels, trials, np.random.default_rng(10_000 + repetition))
        fit = fit_psychometric(data, PsychometricModel(fixed_gamma=TRUE["gamma"]))
        intervals = refit_intervals(fit, parametric_refits(fit, n_bootstrap, repetition), (0.5, 0.75), 0.95)
        for p in covered:
            interval = intervals["thresholds"][str(p)]
            covered[p] += interval["low"] <= true_threshold(p) <= interval["high"]
    return {p: count / repetitions for p, count in covered.items()}


def test_parametric_intervals_cover_dt50_and_dt75() -> None:
    """The validation test: 100 simulated observers (alpha 2 dB, beta 3 dB, gamma 0.05 fixed as
    the analysis fixes it, lambda 0.02), 50 trials per level, 1000 parametric resamples each;
    DT50 and DT75 must fall inside their 95 % interval in >= 90 % of repetitions.

    Runs on the extended grid (the research grid plus -10, 2.5 and 7.5 dB). 100 repetitions
    keep it near 20 s; a 90 % bar on 100 repetitions still fails a method whose true coverage
    is 85 % with probability ~0.9. Measured while writing this (400 repetitions): ~95 % on this
    grid; see the next test for the research grid.
    """
    rates = coverage(EXTENDED_SNR_GRID, trials=50, repetitions=100, n_bootstrap=1000)
    assert rates[0.5] >= 0.90 and rates[0.75] >= 0.90, rates


def test_parametric_intervals_on_the_research_grid() -> None:
    """The validation the research plan asks for: observers simulated at its 5-level SNR grid;
    DT50 and DT75 must fall inside the 95 % parametric-bootstrap CI in >= 90 % of seeded
    repetitions. The lapse rate rests on one level near the top (a quarter of the fits put it
    at 0), so coverage here is lower than on the extended grid: ~94 % for DT50, ~91.5 % for
    DT75 over 400 repetitions; these 200 seeded repetitions give 96 % and 94.5 %."""
    rates = coverage(RESEARCH_SNR_GRID, trials=50, repetitions=200, n_bootstrap=1000)
    assert rates[0.5] >= 0.90 and rates[0.75] >= 0.90, rates


def test_thousand_refits_take_seconds() -> None:
    data = simulate(RESEARCH_SNR_GRID, 50, np.random.default_rng(5))
    fit = fit_psychometric(data, PsychometricModel(fixed_gamma=0.05))
    start = time.perf_counter()
    refits = parametric_refits(fit, 1000, seed=0)
    assert time.perf_counter() - start < 3.0  # ~0.15 s on an idle core
    assert refits.converged.mean() > 0.99


@pytest.mark.parametrize(("sigmoid", "psignifit_sigmoid"), [("logistic", "logistic"), ("normal", "norm")])
def test_agrees_with_psignifit(sigmoid: str, psignifit_sigmoid: str) -> None:
    """psignifit is Bayesian; with 400 trials per level its posterior is concentrated and its
    MAP estimate (near-flat priors inside the stimulus range) should sit on our maximum-
    likelihood estimate. Its 'threshold' is where F = 1/2 (our alpha), its 'width' the
    F = 0.05..0.95 distance (``width_from_beta``). Tolerances are loose on purpose: 0.15 dB
    and 3 % (observed: ~0.005 dB and ~0.1 %); the posterior mean would differ more, by design."""
    import psignifit

    data = simulate(EXTENDED_SNR_GRID, 400, np.random.default_rng(6), sigmoid)
    ours = fit_psychometric(data, PsychometricModel(sigmoid=sigmoid, fixed_gamma=TRUE["gamma"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = psignifit.psignifit(
            np.column_stack([data.levels, data.successes, data.trials]),
            sigmoid=psignifit_sigmoid,
            experiment_type="yes/no",
            fixed_parameters={"gamma": TRUE["gamma"]},
            verbose=False,
        )
    estimate = theirs.parameter_estimate_MAP
    assert ours.alpha == pytest.approx(estimate["threshold"], abs=0.15)
    assert float(width_from_beta(ours.beta, sigmoid)) == pytest.approx(estimate["width"], rel=0.03)
    assert ours.lapse == pytest.approx(estimate["lambda"], abs=0.01)
    assert ours.threshold(0.75)["x"] == pytest.approx(theirs.threshold(0.75, return_ci=False), abs=0.15)


def clustered_rows(correlated: bool, seed: int) -> tuple[TrialRows, BinomialLevels]:
    """300 base clips, each heard at every research-grid SNR. Correlated: each clip carries its
    own threshold shift (sd 6 dB), so its variants succeed or fail together."""
    rng = np.random.default_rng(seed)
    n_clips = 300
    shift = rng.normal(0.0, 6.0, n_clips) if correlated else np.zeros(n_clips)
    level = np.tile(RESEARCH_SNR_GRID, n_clips)
    clip = np.repeat(np.arange(n_clips), RESEARCH_SNR_GRID.size)
    psi = psychometric_value(level, TRUE["alpha"] + shift[clip], TRUE["beta"], TRUE["gamma"], TRUE["lapse"], "logistic")
    success = rng.uniform(size=level.size) < psi
    return TrialRows(level, success, clip), BinomialLevels.from_rows(level, success)


def test_cluster_bootstrap_widens_intervals_only_for_correlated_clips() -> None:
    widths = {}
    for correlated in (False, True):
        rows, data = clustered_rows(correlated, seed=7)
        fit = fit_psychometric(data, PsychometricModel(fixed_gamma=TRUE["gamma"]))
        resampled = {"parametric": parametric_refits(fit, 500, 0), "cluster": cluster_refits(fit, rows, None, 500, 0)}
        for method, refits in resampled.items():
            interval = refit_intervals(fit, refits, (0.5,), 0.95)["thresholds"]["0.5"]
            widths[correlated, method] = interval["high"] - interval["low"]
    # Independent variants: both bootstraps see the same binomial noise.
    assert widths[False, "cluster"] == pytest.approx(widths[False, "parametric"], rel=0.3)
    # Correlated variants: only the cluster bootstrap sees the clip-to-clip spread.
    assert widths[True, "cluster"] > 1.3 * widths[True, "parametric"]


def test_goodness_of_fit_flags_a_curve_the_data_do_not_follow() -> None:
    model = PsychometricModel(fixed_gamma=0.05)
    good = fit_psychometric(simulate(RESEARCH_SNR_GRID, 50, np.random.default_rng(8)), model)
    zigzag = BinomialLevels(RESEARCH_SNR_GRID, np.array([5.0, 45.0, 5.0, 45.0, 48.0]), np.full(5, 50.0))
    bad = fit_psychometric(zigzag, model)
    assert psychometric_analysis(good, n_bootstrap=300)["goodness_of_fit"]["p_value"] > 0.05
    assert psychometric_analysis(bad, n_bootstrap=300)["goodness_of_fit"]["p_value"] < 0.01


def test_analysis_returns_counts_and_serialises() -> None:
    rows, data = clustered_rows(False, seed=9)
    fit = fit_psychometric(data, PsychometricModel(fixed_gamma=0.05))
    result = psychometric_analysis(fit, n_bootstrap=200, gamma_trials=500, rows=rows)
    assert result["counts"]["trials"].tolist() == [300.0] * 5
    assert set(result["intervals"]) == {"parametric", "cluster"}
    assert [t["p"] for t in result["thresholds"]] == [0.5, 0.75, 0.9]
    json.dumps(to_jsonable(result), allow_nan=False)


def predictions_frame(seed: int) -> pd.DataFrame:
    """Two durations x research SNRs + clean, both classes, 60 clips per cell; the system says
    SPEECH on NONSPEECH clips 10 % of the time at 200 ms and 2 % at 1000 ms."""
    rng = np.random.default_rng(seed)
    rows = []
    for duration, false_alarm, alpha in ((200, 0.10, 6.0), (1000, 0.02, 0.0)):
        for snr in [*RESEARCH_SNR_GRID, math.inf]:
            for label in ("SPEECH", "NONSPEECH"):
                for i in range(60):
                    if label == "SPEECH":
                        p = psychometric_value(min(snr, 40.0), alpha, 3.0, false_alarm, 0.02, "logistic")
                    else:
                        p = false_alarm
                    says_speech = rng.uniform() < p
                    rows.append(
                        {
                            "clip_id": f"{label}_{duration}_{snr}_{i}",
                            "base_clip_id": f"{label}_{i}",
                            "label": label,
                            "pred": "SPEECH" if says_speech else "NONSPEECH",
                            "p_speech": float(says_speech),
                            "duration_ms": duration,
                            "snr_db": snr,
                            "category": "speech" if label == "SPEECH" else "noise",
                            "system": "qwen",
                            "prompt_id": "baseline",
                        }
                    )
    return pd.DataFrame(rows)


def test_detection_curves_fix_gamma_to_the_false_alarm_rate_per_duration() -> None:
    df = predictions_frame(seed=10)
    curves = psychometric_curves(df, "detection", "snr_db", CurveOptions(n_bootstrap=100))
    assert [c["condition"] for c in curves] == [{"duration_ms": 200}, {"duration_ms": 1000}]
    for curve in curves:
        duration = curve["condition"]["duration_ms"]
        nonspeech = df[(df["label"] == "NONSPEECH") & (df["duration_ms"] == duration) & np.isfinite(df["snr_db"])]
        assert curve["parameters"]["gamma"] == pytest.approx((nonspeech["pred"] == "SPEECH").mean())
        assert curve["name"] == "qwen/baseline" and curve["n_rows_left_out"] == 120  # clean clips of both classes
        assert curve["counts"]["trials"].tolist() == [60.0] * 5
    dt50 = {c["condition"]["duration_ms"]: c["thresholds"][0]["x"] for c in curves}
    assert dt50[200] > dt50[1000]  # the shorter clip needs more SNR


def test_report_covers_both_measures_and_axes_and_serialises() -> None:
    df = predictions_frame(seed=11)
    report = psychometric_report(df, CurveOptions(n_bootstrap=50))
    assert set(report) == {
        "detection_vs_snr_db",
        "detection_vs_duration_ms",
        "correctness_vs_snr_db",
        "correctness_vs_duration_ms",
    }
    # Two durations cannot identify 3 parameters: skipped with the reason, not fitted.
    assert all("cannot identify" in c["skipped"] for c in report["detection_vs_duration_ms"])
    correctness = report["correctness_vs_snr_db"][0]
    assert correctness["parameters"]["gamma"] == 0.5
    assert correctness["thresholds"][0]["x"] is None  # DT50 at chance is undefined, with a reason
    json.dumps(to_jsonable(report), allow_nan=False)
    assert psychometric_curves(df.drop(columns="snr_db"), "detection", "snr_db") == []
