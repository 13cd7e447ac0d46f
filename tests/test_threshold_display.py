"""Thresholds as the report shows them: a number only inside the tested levels, censored
statements beyond them, honest seed aggregation; the matrix columns and the psychometric
table read from psychometric.json; figures that mark a censored threshold at the edge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.observers import PsychometricObserver, simulate_predictions
from qwen_vad.analysis.psychometric_curves import CurveOptions, psychometric_curves
from qwen_vad.report.collect import ReportInputs
from qwen_vad.report.figures import plot_psychometric_curves
from qwen_vad.report.load import Analysis
from qwen_vad.report.psychometric_table import psychometric_table
from qwen_vad.report.tables import matrix_cell, pooled_threshold
from qwen_vad.report.threshold_cells import aggregate_threshold_cells, threshold_cell

SNR = {"unit": "dB", "tested_range": [-5.0, 20.0], "p": 0.5, "parameters_at_bound": {}}


def inside(value: float, low: float, high: float, low_censored: bool = False, high_censored: bool = False, **extra) -> dict:
    interval = {"method": "cluster", "low": low, "high": high, "low_censored": low_censored, "high_censored": high_censored}
    return {**SNR, "status": "inside", "x": value, "value": value, "interval": interval, **extra}


def test_cells_by_hand() -> None:
    assert threshold_cell(inside(-2.34, -3.1, -1.46)) == "-2.3 [-3.1, -1.5]"
    assert threshold_cell(inside(-4.2, -5.0, -1.5, low_censored=True)) == "-4.2 [< -5, -1.5]"
    assert threshold_cell(inside(18.0, 14.0, 20.0, high_censored=True)) == "18.0 [14.0, > 20]"
    assert threshold_cell({**SNR, "status": "below_range", "x": -9.8, "value": None, "interval": None}) == "< -5 dB"
    assert threshold_cell({**SNR, "status": "above_range", "x": 43.8, "value": None, "interval": None}) == "> 20 dB"
    ms = {"unit": "ms", "tested_range": [20.0, 1000.0], "p": 0.75, "parameters_at_bound": {}}
    assert threshold_cell({**ms, "status": "above_range", "x": 3.4}) == "> 1000 ms"
    assert threshold_cell({**ms, "status": "inside", "x": 2.0, "value": 100.4, "interval": None}) == "100"
    assert threshold_cell({**SNR, "status": "not_reached", "x": None}) == "not reached"
    assert threshold_cell({**SNR, "status": "below_floor", "x": None, "parameters_at_bound": {"lambda": "upper"}}) == "undefined (floor >= 0.5)"
    at_bound = {**SNR, "status": "above_range", "x": 45.0, "parameters_at_bound": {"alpha": "upper", "log_beta": "lower"}}
    assert threshold_cell(at_bound) == "> 20 dB (alpha, beta at bound)"
    assert threshold_cell(None) == "not fitted"
    # psychometric.json from before thresholds had a status: never a number out of range.
    assert threshold_cell({"p": 0.5, "x": 43.8, "extrapolated": True}) == "beyond the tested levels"
    assert threshold_cell({"p": 0.5, "x": 3.25, "extrapolated": False}) == "3.2"


def test_seed_aggregation_counts_what_was_reached() -> None:
    reached = [inside(1.0, 0.0, 2.0), inside(2.0, 1.0, 3.0), inside(4.0, 3.0, 5.0)]
    above = {**SNR, "status": "above_range", "x": 30.0}
    never = {**SNR, "status": "not_reached", "x": None}
    assert aggregate_threshold_cells(reached) == "2.3 ± 1.5 (3/3 seeds reached)"
    # Censored seeds are counted, never averaged in; one reached seed shows no sd.
    assert aggregate_threshold_cells(reached[:2] + [above, never]) == "1.5 ± 0.7 (2/4 seeds reached; 1 > 20 dB, 1 not reached)"
    assert aggregate_threshold_cells([reached[0], above]) == "1.0 (1/2 seeds reached; 1 > 20 dB)"
    assert aggregate_threshold_cells([above, above]) == "> 20 dB (2/2 seeds)"
    assert aggregate_threshold_cells([above, never, None]) == "0/3 seeds reached (1 > 20 dB, 1 not fitted, 1 not reached)"
    assert aggregate_threshold_cells(reached[:1]) == "1.0 [0.0, 2.0]"  # one run: its interval


def analysed(dt50_db: float, seed: int) -> dict:
    """psychometric.json of one simulated system, as the analysis writes it (JSON round trip)."""
    observer = PsychometricObserver(alpha=dt50_db + 0.5, beta=3.0, false_alarm=0.1)
    frame = simulate_predictions(observer, np.array([-5.0, 0.0, 5.0, 10.0, 20.0]), "snr_db", 40, np.random.default_rng(seed))
    options = CurveOptions(n_bootstrap=60)
    curves = {f"{m}_vs_snr_db_pooled": psychometric_curves(frame, m, "snr_db", options) for m in ("detection", "correctness", "sensitivity")}
    return json.loads(json.dumps(to_jsonable(curves), allow_nan=False))


def test_matrix_and_psychometric_table_never_print_an_out_of_range_threshold(tmp_path: Path) -> None:
    psychometric = {"d2": analysed(3.0, 0), "a2[seed=1]": analysed(40.0, 1), "a2[seed=2]": analysed(40.0, 2)}
    analysis = Analysis(run_dir=tmp_path, metrics={"split": "test", "sources": {}, "systems": {}}, psychometric=psychometric, comparisons={})
    inputs = ReportInputs(analysis=analysis, runs={}, datasets={})
    dt50 = pooled_threshold(inputs, "d2", 0.5)
    assert dt50["status"] == "inside" and matrix_cell([dt50], 1, 1.0) == threshold_cell(dt50)
    assert matrix_cell([dt50], 1, 1.0).startswith(f"{dt50['value']:.1f} [")
    seeds = [pooled_threshold(inputs, f"a2[seed={s}]", 0.5) for s in (1, 2)]
    assert matrix_cell(seeds, 1, 1.0).startswith("> 20 dB (2/2 seeds")
    assert pooled_threshold(inputs, "b9", 0.5)["status"] == "not fitted" and matrix_cell([pooled_threshold(inputs, "b9", 0.5)], 1, 1.0) == "not fitted"
    assert matrix_cell([0.5, 0.7], 3, 1.0) == "0.600 ± 0.141 (n=2)" and matrix_cell([0.5, None], 3, 1.0) == "0.500 (1/2 seeds)"
    table = psychometric_table(psychometric, {"a2": ["a2[seed=1]", "a2[seed=2]"], "d2": ["d2"]})
    assert list(table["measure"]) == [
        "detection: P(answer SPEECH | SPEECH clip)", "accuracy: P(correct)", "criterion-free: AUC of p_speech (2AFC)",
    ] * 2  # fmt: skip
    a2_detection = table[(table["system"] == "a2") & table["measure"].str.startswith("detection")].iloc[0]
    assert a2_detection["50 %"].startswith("> 20 dB") and a2_detection["tested"] == "-5..20 dB"
    assert (table["refits not converged (param. / cluster)"] != "").all()


def test_figure_draws_a_censored_threshold_as_an_arrow_at_the_edge() -> None:
    """One system inside the grid, one whose DT50 and DT75 lie beyond 20 dB: the panel spans
    the tested levels only; the first gets measured diamonds, the second only open arrows at
    20 dB, no diamond, no interval bar."""
    psychometric = {"d2": analysed(3.0, 0), "a2": analysed(40.0, 1)}
    figure = plot_psychometric_curves(psychometric, "detection_vs_snr_db_pooled")
    ax = figure.axes[0]
    low, high = ax.get_xlim()
    assert -6.5 < low < -5 and 20 < high < 21.5  # tested -5..20 dB, padded by 5 %
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    diamonds = [line for line in lines if line.get_marker() == "D"]
    arrows = [line for line in lines if line.get_marker() == ">" and line.get_markersize() == 7]
    assert len(diamonds) == 2 and all(-5 <= line.get_xdata()[0] <= 20 for line in diamonds)  # d2's DT50, DT75
    a2 = psychometric["a2"]["detection_vs_snr_db_pooled"][0]
    assert [t["status"] for t in a2["thresholds"][:2]] == ["above_range", "above_range"]
    assert len(arrows) == 2 and all(line.get_xdata()[0] == 20.0 for line in arrows)
