"""From a predictions frame to the psychometric curves the research reports.

For each system and each combination of the other condition axes (e.g. each duration for an
SNR curve), three measures against one axis; the first two are the research plan's:

- detection: P(answer SPEECH | SPEECH clip), gamma fixed to the system's false-alarm rate
  P(answer SPEECH | NONSPEECH clip) on the NONSPEECH clips of the same combination, pooled
  over the axis (with no such clips gamma is fitted, and the curve says so);
- correctness: P(correct) over all clips, gamma fixed to 0.5 by default: with balanced
  classes a system that hears nothing is right half the time whatever its bias, so DT50 is
  undefined (reported with the reason) and DT75 is the natural threshold;
- sensitivity: a criterion-free 2AFC-equivalent proportion per level (the AUC of p_speech,
  or Phi(d'/sqrt 2), between SPEECH and NONSPEECH clips of that level; see
  ``psychometric_sensitivity``), gamma fixed at 0.5. Detection thresholds move with how readily
  a system says SPEECH; these do not, so systems of different bias can be compared.

Every threshold carries its status against the tested levels (``psychometric_thresholds``):
only one inside them comes with a value and an interval.

Axes: the condition axes marked psychometric (qwen_vad.conditions): ``snr_db`` in dB (clean
clips, snr_db = inf, are left out of the fit and counted) and ``duration_ms`` on log10(duration)
(a log-scale axis): detection grows with the log of the signal's length, and the thresholds are
also given back in ms. UNKNOWN answers are not SPEECH answers and not
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
from qwen_vad.analysis.psychometric_sensitivity import (
    CHANCE,
    MEASURE_LABELS,
    SENSITIVITIES,
    ScoredRows,
    SensitivityName,
    cluster_resampled_sensitivity,
    sensitivity_levels,
)
from qwen_vad.analysis.psychometric_thresholds import is_log_scale, with_axis_units
from qwen_vad.conditions import psychometric_axes

Axis = str  # a condition axis's column (qwen_vad.conditions): snr_db, duration_ms
Measure = Literal["detection", "correctness", "sensitivity"]
MEASURES: tuple[Measure, ...] = ("detection", "correctness", "sensitivity")
CHANCE_CORRECTNESS = 0.5  # floor of P(correct) for a system without information, balanced classes
CLUSTER_UNITS = ("base_clip", "group")


def axis_values(rows: pd.DataFrame, axis: Axis) -> np.ndarray:
    """Stimulus level of each row: dB, or log10 of the duration in ms (a log-scale axis)."""
    values = rows[axis].to_numpy(dtype=float)
    return np.log10(values) if is_log_scale(axis) else values


def curve_settings(measure: Measure, axis: Axis, sensitivity: SensitivityName = "auc") -> dict[str, str]:
    labels = {"detection": "P(answer SPEECH | SPEECH clip)", "correctness": "P(correct)", "sensitivity": MEASURE_LABELS[sensitivity]}
    settings = {"measure": labels[measure], "axis": axis, "x": f"log10({axis})" if is_log_scale(axis) else axis}
    return {**settings, "sensitivity": sensitivity} if measure == "sensitivity" else settings


def gamma_source(measure: Measure, axis: Axis, fixed_gamma: float | None) -> str:
    if measure == "sensitivity":
        return f"fixed at {CHANCE} (chance of a two-alternative choice)"
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
    cluster_bootstrap: bool = True  # also resample clusters (slower, needs no extra data)
    cluster_unit: str = "base_clip"  # what the cluster bootstrap redraws: base clips or leakage groups
    sensitivity: SensitivityName = "auc"  # the criterion-free measure: auc (of p_speech) or dprime

    def __post_init__(self) -> None:
        if self.cluster_unit not in CLUSTER_UNITS:
            raise ValueError(f"analyze.psychometric_cluster must be one of {CLUSTER_UNITS}, got {self.cluster_unit!r}")
        if self.sensitivity not in SENSITIVITIES:
            raise ValueError(f"analyze.sensitivity must be one of {SENSITIVITIES}, got {self.sensitivity!r}")


def curve_clusters(rows: pd.DataFrame, unit: str) -> np.ndarray:
    """Resampling cluster of each row: its base clip, or its leakage group (speaker /
    recording), which holds several base clips."""
    if unit == "base_clip":
        return cluster_codes(rows)
    if "group" not in rows.columns:
        raise ValueError("analyze.psychometric_cluster=group needs a 'group' column in the predictions (the manifest's leakage group)")
    group = rows["group"].astype(str).where(rows["group"].notna(), "clip:" + rows["clip_id"].astype(str))
    return pd.factorize(group, sort=True)[0]


def trial_rows(rows: pd.DataFrame, x: np.ndarray, measure: Measure, unit: str = "base_clip") -> tuple[TrialRows, TrialRows | None]:
    """The rows a curve is fitted on and, for detection, the NONSPEECH rows that fix gamma."""
    clusters = curve_clusters(rows, unit)
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
    if measure == "sensitivity":
        return fit_sensitivity_curve(rows, axis, options)
    x = axis_values(rows, axis)
    finite = np.isfinite(x)
    target, gamma_rows = trial_rows(rows[finite], x[finite], measure, options.cluster_unit)
    if measure == "detection":
        fixed_gamma = None if gamma_rows is None else float(gamma_rows.success.mean())
    else:
        fixed_gamma = options.correctness_gamma
    context = {
        "n_rows_left_out": int((~finite).sum()),  # clean clips on the SNR axis
        "gamma_source": gamma_source(measure, axis, fixed_gamma),
        "n_false_alarm_trials": None if gamma_rows is None else int(gamma_rows.success.size),
        "cluster_unit": options.cluster_unit,
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
    return {**context, **in_axis_units(analysis, axis)}


def fit_sensitivity_curve(rows: pd.DataFrame, axis: Axis, options: CurveOptions) -> dict[str, Any]:
    """The criterion-free curve: AUC (or Phi(d'/sqrt 2)) per level, gamma fixed at chance."""
    x = axis_values(rows, axis)
    score = rows["p_speech"].to_numpy(dtype=float)
    # The AUC ranks p_speech; a row without one (NaN) cannot be ranked and is left out.
    usable = np.isfinite(x) & (np.isfinite(score) if options.sensitivity == "auc" else True)
    context = {
        "n_rows_left_out": int((~usable).sum()),  # clean clips on the SNR axis, rows without p_speech
        "gamma_source": gamma_source("sensitivity", axis, CHANCE),
        "n_false_alarm_trials": None,
        "cluster_unit": options.cluster_unit,
    }
    used = rows[usable]
    scored = ScoredRows(
        x[usable],
        (used["label"] == SPEECH).to_numpy(),
        score[usable],
        (used["pred"].astype(str) == SPEECH).to_numpy(),
        curve_clusters(used, options.cluster_unit),
    )
    data, described = sensitivity_levels(scored, options.sensitivity)
    distinct_scores = np.unique(score[usable]).size
    if options.sensitivity == "auc" and distinct_scores <= 2:
        # A two-valued p_speech is a label: its AUC is the balanced accuracy at the system's own
        # threshold, which does move with the criterion.
        context["warning"] = f"p_speech takes {distinct_scores} values: this AUC is not criterion-free (analyze.sensitivity=dprime is)"
    model = PsychometricModel(sigmoid=options.sigmoid, fixed_gamma=CHANCE)
    n_levels = int((data.trials > 0).sum())
    if n_levels < model.n_parameters:
        return {**context, "skipped": f"{n_levels} levels on {axis} with both classes cannot identify {model.n_parameters} parameters"}
    resampled = cluster_resampled_sensitivity(scored, data.levels, options.sensitivity, options.n_bootstrap, options.seed) if options.cluster_bootstrap else None
    analysis = psychometric_analysis(
        fit_psychometric(data, model), options.threshold_probabilities, options.n_bootstrap, options.seed, resampled=resampled
    )
    analysis["counts"] = {**analysis["counts"], **described}
    return {**context, **in_axis_units(analysis, axis)}


def in_axis_units(analysis: dict[str, Any], axis: Axis) -> dict[str, Any]:
    """Thresholds with their value, tested range and reported interval in the axis's unit (ms
    on the duration axis, whose fit runs on log10 ms); a log-scale axis's column (``duration_ms``)
    keeps the raw crossing."""
    thresholds = []
    for threshold in analysis["thresholds"]:
        threshold = with_axis_units(threshold, axis)
        if is_log_scale(axis):
            threshold[axis] = None if threshold["x"] is None else float(10 ** threshold["x"])
        thresholds.append(threshold)
    return {**analysis, "thresholds": thresholds}


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
                    **curve_settings(measure, axis, options.sensitivity),
                    **fit_one_curve(rows, measure, axis, options),
                }
            )
    return curves


def psychometric_report(
    predictions: pd.DataFrame, options: CurveOptions = CurveOptions()
) -> dict[str, list[dict[str, Any]]]:
    """psychometric.json: {"detection_vs_snr_db": [...], "sensitivity_vs_duration_ms": [...], ...}."""
    return {
        f"{measure}_vs_{axis}": psychometric_curves(predictions, measure, axis, options)
        for measure in MEASURES
        for axis in [a.column for a in psychometric_axes()]
    }
