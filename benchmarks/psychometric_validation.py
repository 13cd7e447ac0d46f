"""Psychometric thresholds checked on simulated observers whose true thresholds are known.

Every repetition simulates a predictions frame (``qwen_vad.analysis.observers``) and runs it
through the analysis's own ``psychometric_curves``, so what is checked is what the report
prints: the threshold's status against the tested levels and its reported interval (cluster
bootstrap, censored at the tested levels), the parametric interval beside it.

Grids: the research plan's SNR levels (-5, 0, 5, 10, 20 dB) and the one-axis duration levels
(20 ... 1000 ms, fitted on log10 ms). Observers: the plan's model with the true DT50 well
inside, near each edge and beyond each edge of the grid (DT75 follows from the slope).

Each true threshold lies inside the tested levels (well inside, or near an edge: within one
level spacing of the lowest / highest level), just beyond them (outside by less than one
level spacing) or beyond them. Targets (issue 11):
- coverage: for a true threshold inside the tested levels (well inside or near an edge), the
  95 % interval as reported (ends past the tested levels censored there) covers it in >= 90 %
  of repetitions;
- censoring: for a true threshold beyond the grid, the report says so (status below_range /
  above_range, or not_reached above) in >= 95 % of repetitions. A threshold just beyond the
  edge lies within its own sampling error of it, so its estimate falls on either side; both
  figures are reported for it, against no target;
- criterion: signal-detection observers with equal d'(SNR) and different criteria get
  criterion-free thresholds (SNR where the AUC of p_speech reaches 0.75) whose means lie
  within 1 dB of each other (their detection DT50s do not);
- psignifit 4.3: DT50 / DT75 point estimates on in-range data within 0.5 dB of psignifit's
  MAP estimate, same data, same sigmoid (logistic), yes/no with gamma fixed to the measured
  false-alarm rate as the analysis fixes it, lambda bounded to [0, 0.1] as here, psignifit's
  default priors and grid otherwise.

Repetitions are seeded; ~15 min on a busy 2-core machine (``python -m benchmarks
psychometric_validation``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import ndtr

from benchmarks.common import write_result
from qwen_vad.analysis.observers import PsychometricObserver, SignalDetectionObserver, simulate_predictions
from qwen_vad.analysis.psychometric_curves import CurveOptions, psychometric_curves
from qwen_vad.analysis.psychometric_thresholds import ABOVE_RANGE, BELOW_RANGE, INSIDE, NOT_REACHED

SNR_GRID = np.array([-5.0, 0.0, 5.0, 10.0, 20.0])
DURATION_GRID_MS = np.array([20, 40, 60, 80, 100, 200, 500, 1000])
CLIPS_PER_LEVEL = 50  # SPEECH clips per level, and as many NONSPEECH clips
REPETITIONS = 150
N_BOOTSTRAP = 500
FALSE_ALARM, LAPSE = 0.1, 0.02
SNR_BETA, DURATION_BETA = 3.0, 0.1  # dB; decades of duration (a 5-95 % width of 0.59 decades)
# Scenario -> true DT50 (dB, or ms on the duration axis).
SNR_SCENARIOS = {"well inside": 5.0, "near lower edge": -4.0, "near upper edge": 18.0, "beyond lower edge": -11.0, "beyond upper edge": 32.0}
DURATION_SCENARIOS = {"well inside": 100.0, "near lower edge": 25.0, "near upper edge": 800.0, "beyond lower edge": 8.0, "beyond upper edge": 3000.0}
CRITERIA = (-0.5, 0.5, 1.5)  # false-alarm rates 0.69, 0.31, 0.07
CRITERION_AUC75_DB = 3.0
CRITERION_CLIPS, CRITERION_REPETITIONS = 100, 60
PSIGNIFIT_REPETITIONS, PSIGNIFIT_CLIPS = 30, 100
TARGETS = {"coverage": 0.90, "censored": 0.95, "criterion_spread_db": 1.0, "psignifit_db": 0.5}
PROBABILITIES = (0.5, 0.75)
AXIS_SEEDS = {"snr_db": 1, "duration_ms": 2}
WELL_INSIDE, NEAR_EDGE, JUST_BEYOND, BEYOND = "well inside", "near edge", "just beyond", "beyond"


def observer_with_dt50(dt50: float, beta: float) -> PsychometricObserver:
    """The plan's observer whose DT50 is ``dt50`` (fit units)."""
    q = (0.5 - FALSE_ALARM) / (1 - FALSE_ALARM - LAPSE)
    return PsychometricObserver(alpha=dt50 - beta * math.log(q / (1 - q)), beta=beta, false_alarm=FALSE_ALARM, lapse=LAPSE)


def location(truth: float, levels: np.ndarray) -> str:
    """well inside / near edge (inside, within one level spacing of an end of the grid) /
    just beyond (outside, by less than one spacing) / beyond."""
    low, high = float(levels.min()), float(levels.max())
    lower_spacing, upper_spacing = float(levels[1] - levels[0]), float(levels[-1] - levels[-2])
    if low <= truth <= high:
        return WELL_INSIDE if low + lower_spacing <= truth <= high - upper_spacing else NEAR_EDGE
    return JUST_BEYOND if low - lower_spacing <= truth <= high + upper_spacing else BEYOND


def interval_covers(interval: dict[str, Any], truth: float, low: float = -math.inf, high: float = math.inf) -> bool:
    """Whether an interval covers ``truth`` once its ends are censored at the tested levels
    [low, high], as the report shows it: an end past them says only "< low" / "> high"."""
    lo, hi = float(interval["low"]), float(interval["high"])
    return (lo <= truth or lo < low) and (truth <= hi or hi > high)


def statement_holds(threshold: dict[str, Any], truth: float, low: float, high: float) -> bool:
    """Whether what the report prints for this threshold is true of the observer."""
    status = threshold["status"]
    if status == INSIDE:
        return interval_covers(threshold["interval_cluster"], truth, low, high)
    if status == BELOW_RANGE:
        return truth < low
    if status in (ABOVE_RANGE, NOT_REACHED):
        return truth > high
    return math.isinf(truth) and truth < 0  # below_floor


def summarise(records: list[dict[str, Any]], truth: float, levels: np.ndarray) -> dict[str, Any]:
    low, high = float(levels.min()), float(levels.max())
    statuses = [r["status"] for r in records]
    summary = {
        "truth": truth,
        "truth_location": location(truth, levels),
        "truth_inside_tested_levels": bool(low <= truth <= high),
        "status_shares": {s: statuses.count(s) / len(statuses) for s in sorted(set(statuses))},
        "reported_statement_true": float(np.mean([statement_holds(r, truth, low, high) for r in records])),
        "interval_coverage": {
            method: float(np.mean([interval_covers(r[f"interval_{method}"], truth, low, high) for r in records])) for method in ("cluster", "parametric")
        },
        # The same intervals taken at face value, extrapolated ends included (never reported).
        "uncensored_interval_coverage": {
            method: float(np.mean([interval_covers(r[f"interval_{method}"], truth) for r in records])) for method in ("cluster", "parametric")
        },
    }
    if not summary["truth_inside_tested_levels"]:
        beyond_side = (BELOW_RANGE,) if truth < low else (ABOVE_RANGE, NOT_REACHED)
        summary["reported_censored"] = float(np.mean([s in beyond_side for s in statuses]))
    inside = [r for r in records if r["status"] == INSIDE]
    if inside:
        summary["median_interval_width"] = float(np.median([float(r["interval_cluster"]["high"]) - float(r["interval_cluster"]["low"]) for r in inside]))
    return summary


def run_grid(axis: str, levels: np.ndarray, scenarios: dict[str, float], beta: float, to_fit: Callable[[float], float]) -> dict[str, Any]:
    out, refit_shares = {}, []
    for index, (name, dt50) in enumerate(scenarios.items()):
        observer = observer_with_dt50(to_fit(dt50), beta)
        records = {p: [] for p in PROBABILITIES}
        for repetition in range(REPETITIONS):
            rng = np.random.default_rng([AXIS_SEEDS[axis], index, repetition])
            frame = simulate_predictions(observer, levels, axis, CLIPS_PER_LEVEL, rng)
            curve = psychometric_curves(frame, "detection", axis, CurveOptions(n_bootstrap=N_BOOTSTRAP, seed=repetition))[0]
            refit_shares.append(curve["share_refits_not_converged"])
            for threshold in curve["thresholds"]:
                if threshold["p"] in records:
                    records[threshold["p"]].append(threshold)
        out[name] = {
            "true_dt50": dt50,
            **{f"DT{round(p * 100)}": summarise(records[p], observer.detection_threshold(p), levels) for p in PROBABILITIES},
        }
        print(f"  {axis} {name}: " + ", ".join(f"{k} {v['truth_location']} ({v['truth']:.2f}) cov {v['interval_coverage']['cluster']:.3f}"
              + (f" censored {v['reported_censored']:.3f}" if "reported_censored" in v else "") for k, v in out[name].items() if k.startswith("DT")))  # fmt: skip
    worst = {method: max(s[method] for s in refit_shares) for method in ("parametric", "cluster")}
    mean = {method: float(np.mean([s[method] for s in refit_shares])) for method in ("parametric", "cluster")}
    return {"scenarios": out, "refits_not_converged": {"mean_share": mean, "worst_curve_share": worst}}


def run_criteria() -> dict[str, Any]:
    """Equal d'(SNR), three criteria: criterion-free thresholds (auc, dprime) vs DT50."""
    alpha = CRITERION_AUC75_DB - SNR_BETA * math.log(((0.75 - 0.5) / (0.5 - LAPSE)) / (1 - (0.75 - 0.5) / (0.5 - LAPSE)))
    result: dict[str, Any] = {"true_auc75_db": CRITERION_AUC75_DB, "criteria": {}}
    for criterion in CRITERIA:
        observer = SignalDetectionObserver(alpha=alpha, beta=SNR_BETA, criterion=criterion, lapse=LAPSE)
        values: dict[str, list[dict]] = {"auc": [], "dprime": [], "dt50": []}
        for repetition in range(CRITERION_REPETITIONS):
            frame = simulate_predictions(observer, SNR_GRID, "snr_db", CRITERION_CLIPS, np.random.default_rng([7, int(criterion * 10) + 20, repetition]))
            for measure in ("auc", "dprime"):
                options = CurveOptions(n_bootstrap=N_BOOTSTRAP, seed=repetition, sensitivity=measure)
                curve = psychometric_curves(frame, "sensitivity", "snr_db", options)[0]
                values[measure].append(next(t for t in curve["thresholds"] if t["p"] == 0.75))
            detection = psychometric_curves(frame, "detection", "snr_db", CurveOptions(n_bootstrap=100, seed=repetition))[0]
            values["dt50"].append(next(t for t in detection.get("thresholds", []) if t["p"] == 0.5) if "thresholds" in detection else {"status": "not fitted", "x": None})
        truth_dt50 = observer.detection_threshold(0.5)
        # A false-alarm rate above 50 % puts the detection curve's floor above DT50: no truth.
        entry = {"false_alarm_rate": float(ndtr(-criterion)), "true_dt50_db": truth_dt50 if math.isfinite(truth_dt50) else None}
        for measure in ("auc", "dprime"):
            thresholds = values[measure]
            inside = [float(t["x"]) for t in thresholds if t["status"] == INSIDE]
            entry[f"auc75_{measure}"] = {
                "mean_db": float(np.mean(inside)) if inside else None,
                "sd_db": float(np.std(inside, ddof=1)) if len(inside) > 1 else None,
                "share_inside": len(inside) / len(thresholds),
                "interval_coverage": summarise(thresholds, CRITERION_AUC75_DB, SNR_GRID)["interval_coverage"],
            }
        dt50 = [float(t["x"]) for t in values["dt50"] if t.get("status") == INSIDE]
        statuses = [t.get("status") for t in values["dt50"]]
        entry["dt50"] = {
            "mean_db_of_inside": float(np.mean(dt50)) if dt50 else None,
            "status_shares": {s: statuses.count(s) / len(statuses) for s in sorted(set(map(str, statuses)))},
        }
        result["criteria"][str(criterion)] = entry
        print(f"  criterion {criterion:+.1f}: AUC75 {entry['auc75_auc']['mean_db']}, d' {entry['auc75_dprime']['mean_db']}, DT50 {entry['dt50']}")
    for measure in ("auc", "dprime"):
        means = [e[f"auc75_{measure}"]["mean_db"] for e in result["criteria"].values()]
        result[f"spread_of_means_db_{measure}"] = float(max(means) - min(means)) if None not in means else None
    true_dt50 = [e["true_dt50_db"] for e in result["criteria"].values() if e["true_dt50_db"] is not None]
    result["true_dt50_spread_db_where_defined"] = float(max(true_dt50) - min(true_dt50))
    return result


def run_psignifit() -> dict[str, Any]:
    """Point estimates against psignifit's MAP on the same in-range data."""
    import psignifit

    differences: dict[str, list[float]] = {"DT50": [], "DT75": []}
    for name in ("well inside", "near lower edge"):
        observer = observer_with_dt50(SNR_SCENARIOS[name], SNR_BETA)
        for repetition in range(PSIGNIFIT_REPETITIONS):
            frame = simulate_predictions(observer, SNR_GRID, "snr_db", PSIGNIFIT_CLIPS, np.random.default_rng([11, repetition, len(name)]))
            curve = psychometric_curves(frame, "detection", "snr_db", CurveOptions(n_bootstrap=50, cluster_bootstrap=False))[0]
            counts = curve["counts"]
            data = np.column_stack([counts["level"], counts["successes"], counts["trials"]])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = psignifit.psignifit(
                    data, sigmoid="logistic", experiment_type="yes/no", fixed_parameters={"gamma": curve["parameters"]["gamma"]},
                    bounds={"lambda": (0.0, 0.1)}, verbose=False,
                )  # fmt: skip
            for p, key in ((0.5, "DT50"), (0.75, "DT75")):
                ours = next(t for t in curve["thresholds"] if t["p"] == p)
                if ours["status"] == INSIDE:
                    differences[key].append(float(ours["x"]) - float(theirs.threshold(np.array([p]), return_ci=False)[0]))
    return {
        "settings": {
            "version": "4.3", "sigmoid": "logistic", "experiment_type": "yes/no", "fixed_parameters": "gamma = the measured false-alarm rate",
            "bounds": {"lambda": [0.0, 0.1]}, "estimate": "MAP (parameter_estimate_MAP; Result.threshold on the scaled curve)",
            "priors": "psignifit defaults", "clips_per_level": PSIGNIFIT_CLIPS, "scenarios": ["well inside", "near lower edge"],
        },  # fmt: skip
        **{
            key: {"n": len(d), "max_abs_db": float(np.max(np.abs(d))), "median_abs_db": float(np.median(np.abs(d))), "mean_db": float(np.mean(d))}
            for key, d in differences.items()
            if d
        },
    }


def verdicts(snr: dict, duration: dict, criteria: dict, psignifit_result: dict) -> dict[str, Any]:
    coverage, censored, just_beyond = [], [], []
    for axis, grid in (("snr_db", snr), ("duration_ms", duration)):
        for name, scenario in grid["scenarios"].items():
            for key, summary in scenario.items():
                if not key.startswith("DT"):
                    continue
                where = summary["truth_location"]
                if where in (WELL_INSIDE, NEAR_EDGE):
                    coverage.append(summary["interval_coverage"]["cluster"])
                elif where == BEYOND:
                    censored.append(summary["reported_censored"])
                else:
                    just_beyond.append({
                        "axis": axis, "scenario": name, "threshold": key, "truth": summary["truth"],
                        "interval_coverage": summary["interval_coverage"]["cluster"], "reported_censored": summary["reported_censored"],
                    })  # fmt: skip
    spread = criteria["spread_of_means_db_auc"]
    worst_psignifit = max(psignifit_result[k]["max_abs_db"] for k in ("DT50", "DT75") if k in psignifit_result)
    return {
        "coverage_inside_and_near_edge": {"min": min(coverage), "n_thresholds": len(coverage), "target": TARGETS["coverage"], "met": min(coverage) >= TARGETS["coverage"]},
        "censored_beyond_the_grid": {"min": min(censored), "n_thresholds": len(censored), "target": TARGETS["censored"], "met": min(censored) >= TARGETS["censored"]},
        "criterion_free_spread_db": {"value": spread, "target": TARGETS["criterion_spread_db"], "met": spread is not None and spread <= TARGETS["criterion_spread_db"]},
        "psignifit_max_abs_db": {"value": worst_psignifit, "target": TARGETS["psignifit_db"], "met": worst_psignifit <= TARGETS["psignifit_db"]},
        "detection_dt50_mean_db_by_criterion": {c: e["dt50"]["mean_db_of_inside"] for c, e in criteria["criteria"].items()},
        "just_beyond_the_grid_no_target": just_beyond,
    }


def main() -> None:
    started = time.perf_counter()
    print("SNR grid")
    snr = run_grid("snr_db", SNR_GRID, SNR_SCENARIOS, SNR_BETA, float)
    print("duration grid")
    duration = run_grid("duration_ms", np.log10(DURATION_GRID_MS), DURATION_SCENARIOS, DURATION_BETA, math.log10)
    print("criteria")
    criteria = run_criteria()
    print("psignifit")
    psignifit_result = run_psignifit()
    write_result(
        "psychometric_validation",
        {
            "settings": {
                "snr_grid_db": SNR_GRID.tolist(), "duration_grid_ms": DURATION_GRID_MS.tolist(),
                "clips_per_level_and_class": CLIPS_PER_LEVEL, "repetitions": REPETITIONS, "n_bootstrap": N_BOOTSTRAP,
                "observer": {"false_alarm": FALSE_ALARM, "lapse": LAPSE, "beta_db": SNR_BETA, "beta_log10_ms": DURATION_BETA},
                "reported_interval": "cluster bootstrap (base clips), as the report shows it",
                "threshold_units": "fit units: dB, or log10(ms) on the duration axis (scenario true_dt50 in dB / ms)",
            },  # fmt: skip
            "verdicts": verdicts(snr, duration, criteria, psignifit_result),
            "snr_grid": snr,
            "duration_grid": duration,
            "criterion_invariance": criteria,
            "psignifit": psignifit_result,
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
