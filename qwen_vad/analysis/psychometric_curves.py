"""From a predictions frame to the psychometric curves the research reports.

For each system and each combination of the other condition axes (e.g. each duration for an
SNR curve), two measures against one axis:

- detection: P(answer SPEECH | SPEECH clip), gamma fixed to the system's false-alarm rate
  P(answer SPEECH | NONSPEECH clip) on the NONSPEECH clips of the same combination, pooled
  over the axis (with no such clips gamma is fitted, and the curve says so);
- correctness: P(correct) over all clips, gamma fixed to 0.5 by default: with balanced
  classes a system that hears nothing is right half the time whatever its bias, so DT50 is
  undefined (reported with the reason) and DT75 is the natural threshold.

Axes: ``snr_db`` in dB (clean clips, snr_db = inf, are left out of the fit and counted) and
``duration_ms`` on log10(duration): detection grows with the log of the signal's length, and
the thresholds are also given back in ms. UNKNOWN answers are not SPEECH answers and not
correct, so they count as failures in both measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.analysis.frame import (
    cluster_codes,
    default_cell_columns,
    is_correct,
    split_by_system,
    system_name,
    validate_predictions,
)
from qwen_vad.analysis.psychometric import (
    DEFAULT_THRESHOLD_PROBABILITIES,
    LAPSE_BOUNDS,
    BinomialLevels,
    PsychometricModel,
    SigmoidName,
    fit_psychometric,
)
from qwen_vad.analysis.psychometric_bootstrap import DEFAULT_BOOTSTRAP, TrialRows, psychometric_analysis

Axis = Literal["snr_db", "duration_ms"]
Measure = Literal["detection", "correctness"]
AXES: tuple[Axis, ...] = ("snr_db", "duration_ms")
MEASURES: tuple[Measure, ...] = ("detection", "correctness")
CHANCE_CORRECTNESS = 0.5  # floor of P(correct) for a system without information, balanced classes


def axis_values(rows: pd.DataFrame, axis: Axis) -> np.ndarray:
    """Stimulus level of each row: dB, or log10 of the duration in ms."""
    values = rows[axis].to_numpy(dtype=float)
    return np.log10(values) if axis == "duration_ms" else values


def curve_settings(measure: Measure, axis: Axis) -> dict[str, str]:
    return {
        "measure": "P(answer SPEECH | SPEECH clip)" if measure == "detection" else "P(correct)",
        "axis": axis,
        "x": "log10(duration_ms)" if axis == "duration_ms" else "snr_db",
    }


def gamma_source(measure: Measure, axis: Axis, fixed_gamma: float | None) -> str:
    if fixed_gamma is None:
        return "fitted" if measure == "correctness" else "fitted (no NONSPEECH clips in this condition)"
    if measure == "detection":
        return f"false-alarm rate on NONSPEECH clips of the same condition, pooled over {axis}"
    return f"fixed at {fixed_gamma} (chance for balanced classes is {CHANCE_CORRECTNESS})"


@dataclass(frozen=True)
class CurveOptions:
    """How every curve of a report is fitted and bootstrapped."""

    sigmoid: SigmoidName = "logistic"
    threshold_probabilities: tuple[float, ...] = DEFAULT_THRESHOLD_PROBABILITIES
    n_bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    correctness_gamma: float | None = CHANCE_CORRECTNESS  # None: fit gamma in [0, 0.5]
    cluster_bootstrap: bool = True  # also resample base clips (slower, needs no extra data)


def trial_rows(rows: pd.DataFrame, x: np.ndarray, measure: Measure) -> tuple[TrialRows, TrialRows | None]:
    """The rows a curve is fitted on and, for detection, the NONSPEECH rows that fix gamma."""
    clusters = cluster_codes(rows)
    if measure == "correctness":
        return TrialRows(x, is_correct(rows), clusters), None
    answered_speech = (rows["pred"].astype(str) == SPEECH).to_numpy()
    speech = (rows["label"] == SPEECH).to_numpy()
    nonspeech = (rows["label"] == NONSPEECH).to_numpy()
    target = TrialRows(x[speech], answered_speech[speech], clusters[speech])
    if not nonspeech.any():
        return target, None
    return target, TrialRows(x[nonspeech], answered_speech[nonspeech], clusters[nonspeech])


def fit_one_curve(rows: pd.DataFrame, measure: Measure, axis: Axis, options: CurveOptions) -> dict[str, Any]:
    """Fit one curve on the rows of one system and one combination of the other axes."""
    x = axis_values(rows, axis)
    finite = np.isfinite(x)
    target, gamma_rows = trial_rows(rows[finite], x[finite], measure)
    if measure == "detection":
        fixed_gamma = None if gamma_rows is None else float(gamma_rows.success.mean())
    else:
        fixed_gamma = options.correctness_gamma
    context = {
        "n_rows_left_out": int((~finite).sum()),  # clean clips on the SNR axis
        "gamma_source": gamma_source(measure, axis, fixed_gamma),
        "n_false_alarm_trials": None if gamma_rows is None else int(gamma_rows.success.size),
    }
    data = BinomialLevels.from_rows(target.level, target.success)
    if fixed_gamma is not None and fixed_gamma >= 1 - LAPSE_BOUNDS[1]:
        return {**context, "skipped": f"gamma {fixed_gamma:.3f} leaves no room for a curve below 1 - max lapse"}
    model = PsychometricModel(sigmoid=options.sigmoid, fixed_gamma=fixed_gamma)
    if data.levels.size < model.n_parameters:
        levels, parameters = data.levels.size, model.n_parameters
        return {**context, "skipped": f"{levels} levels on {axis} cannot identify {parameters} parameters"}
    analysis = psychometric_analysis(
        fit_psychometric(data, model),
        options.threshold_probabilities,
        options.n_bootstrap,
        options.seed,
        gamma_trials=context["n_false_alarm_trials"] if measure == "detection" else None,
        rows=target if options.cluster_bootstrap else None,
        gamma_rows=gamma_rows if options.cluster_bootstrap and measure == "detection" else None,
    )
    if axis == "duration_ms":
        for threshold in analysis["thresholds"]:
            threshold["duration_ms"] = None if threshold["x"] is None else float(10 ** threshold["x"])
    return {**context, **analysis}


def psychometric_curves(
    predictions: pd.DataFrame, measure: Measure, axis: Axis, options: CurveOptions = CurveOptions()
) -> list[dict[str, Any]]:
    """One fitted curve per system and per combination of the other varying condition axes
    (category left out, as in the factorial cells). Empty when ``axis`` is absent or constant."""
    validate_predictions(predictions)
    if axis not in predictions.columns or predictions[axis].nunique() < 2:
        return []
    curves = []
    for key, system_rows in split_by_system(predictions):
        others = [c for c in default_cell_columns(system_rows) if c != axis]
        groups = system_rows.groupby(others, sort=True, dropna=False) if others else [((), system_rows)]
        for values, rows in groups:
            values = values if isinstance(values, tuple) else (values,)
            curves.append(
                {
                    "name": system_name(key),
                    **key,
                    "condition": dict(zip(others, values)),
                    **curve_settings(measure, axis),
                    **fit_one_curve(rows, measure, axis, options),
                }
            )
    return curves


def psychometric_report(
    predictions: pd.DataFrame, options: CurveOptions = CurveOptions()
) -> dict[str, list[dict[str, Any]]]:
    """psychometric.json: {"detection_vs_snr_db": [...], "correctness_vs_duration_ms": [...], ...}."""
    return {
        f"{measure}_vs_{axis}": psychometric_curves(predictions, measure, axis, options)
        for measure in MEASURES
        for axis in AXES
    }
