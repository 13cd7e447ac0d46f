"""Metrics, curves, breakdowns, cluster bootstrap and JSON conversion on hand-computed frames."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from qwen_vad.analysis.bootstrap import bootstrap_metric_intervals, cluster_sums, resampled_totals
from qwen_vad.analysis.breakdowns import condition_report
from qwen_vad.analysis.curves import precision_recall_curve, roc_curve, score_curves
from qwen_vad.analysis.frame import cluster_codes
from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.metrics import classification_metrics, wilson_interval
from qwen_vad.analysis.summary import headline, summarize_by_system, summarize_system

S, N, U = "SPEECH", "NONSPEECH", "UNKNOWN"


def frame(rows: list[tuple], columns: tuple[str, ...] = ("label", "pred", "p_speech")) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    df.insert(0, "clip_id", [f"clip{i:03d}" for i in range(len(df))])
    return df


# 5 SPEECH clips answered S, S, S, NS, UNKNOWN; 5 NONSPEECH clips answered NS x4, S.
HAND = frame(
    [
        (S, S, 0.9), (S, S, 0.8), (S, S, 0.6), (S, N, 0.3), (S, U, 0.5),
        (N, N, 0.1), (N, N, 0.2), (N, N, 0.4), (N, N, 0.3), (N, S, 0.7),
    ]
)  # fmt: skip


def test_hand_computed_classification_metrics() -> None:
    m = classification_metrics(HAND)
    # TP=3 FN=1 speech-UNKNOWN=1 | TN=4 FP=1 nonspeech-UNKNOWN=0
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["per_class"][S]["accuracy"] == pytest.approx(3 / 5)  # UNKNOWN counts as wrong
    assert m["per_class"][N]["accuracy"] == pytest.approx(4 / 5)
    assert m["balanced_accuracy"] == pytest.approx((3 / 5 + 4 / 5) / 2)
    assert m["per_class"][S]["precision"] == pytest.approx(3 / 4)  # TP / (TP + FP)
    assert m["per_class"][N]["precision"] == pytest.approx(4 / 5)  # TN / (TN + FN)
    assert m["per_class"][S]["f1"] == pytest.approx(2 * 0.75 * 0.6 / (0.75 + 0.6))  # = 2/3
    assert m["per_class"][N]["f1"] == pytest.approx(0.8)
    assert m["unknown_share"] == pytest.approx(1 / 10)
    assert m["confusion"] == {S: {S: 3, N: 1, U: 1}, N: {N: 4, S: 1, U: 0}}
    assert m["per_class"][S]["accuracy_wilson"] == pytest.approx(wilson_interval(3, 5))
    assert m["classes_present"] == [S, N]


def test_hand_computed_confidence_summary() -> None:
    c = classification_metrics(HAND)["confidence"]
    # Chosen-class confidence: 0.9 0.8 0.6 0.7 (NaN: UNKNOWN) | 0.9 0.8 0.6 0.7 0.7
    # correct:                  T   T   T   F                 | T   T   T   T   F
    assert c["mean_when_correct"] == pytest.approx((0.9 + 0.8 + 0.6 + 0.9 + 0.8 + 0.6 + 0.7) / 7)
    assert c["mean_when_wrong"] == pytest.approx(0.7)
    assert c["gap"] == pytest.approx(5.3 / 7 - 0.7)
    assert c["mean"] == pytest.approx(6.7 / 9)
    assert c["n_without_confidence"] == 1
    assert c["meets_gap_target"] is False  # 0.057 < 0.10


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    # Newcombe (1998), Stat Med 17:857-872, Table II, method 3 (Wilson score, no continuity
    # correction), to 4 decimals.
    [(81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605)), (0, 20, (0.0, 0.1611)), (1, 29, (0.0061, 0.1718))],
)
def test_wilson_interval_matches_newcombe(successes: int, trials: int, expected: tuple[float, float]) -> None:
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=5e-5)


def test_wilson_interval_without_trials_is_undefined() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_one_class_only() -> None:
    only_speech = frame([(S, S, 0.9), (S, N, 0.2), (S, S, 0.7), (S, U, 0.5)])
    m = classification_metrics(only_speech)
    assert m["classes_present"] == [S]
    assert m["balanced_accuracy"] == pytest.approx(2 / 4)  # = accuracy of the class present
    assert math.isnan(m["per_class"][N]["accuracy"])
    assert all(math.isnan(v) for v in m["per_class"][N]["accuracy_wilson"])
    assert m["per_class"][N]["precision"] == 0.0  # the one NONSPEECH answer was wrong
    curves = score_curves(only_speech)
    assert math.isnan(curves["roc"]["auc"]) and "both classes" in curves["roc"]["reason"]
    assert to_jsonable(m)["per_class"][N]["accuracy"] is None


def test_all_predictions_the_same() -> None:
    always_speech = frame([(S, S, 0.6), (S, S, 0.6), (N, S, 0.6), (N, S, 0.6), (N, S, 0.6)])
    m = classification_metrics(always_speech)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert math.isnan(m["per_class"][N]["precision"])  # nobody answered NONSPEECH
    assert m["per_class"][N]["f1"] == 0.0
    assert m["per_class"][S]["precision"] == pytest.approx(2 / 5)
    assert score_curves(always_speech)["roc"]["auc"] == pytest.approx(0.5)  # one tied score


def test_empty_and_malformed_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        classification_metrics(HAND.iloc[:0])
    with pytest.raises(ValueError, match="lacks columns"):
        classification_metrics(HAND.drop(columns="p_speech"))
    with pytest.raises(ValueError, match="pred must be one of"):
        classification_metrics(HAND.assign(pred="YES"))
    with pytest.raises(ValueError, match=r"p_speech must lie in \[0, 1\]"):
        classification_metrics(HAND.assign(p_speech=1.5))


def test_roc_and_pr_hand_example() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.4])
    positive = np.array([1, 1, 0, 1, 0, 0], bool)
    # Positive-over-negative pairs: 0.9 and 0.8 beat all 3 negatives, 0.6 beats 2 -> 8 of 9.
    assert roc_curve(positive, scores)["auc"] == pytest.approx(8 / 9)
    # Ranks 1, 2 and 4 are positives: precision 1, 1, 3/4 at recall 1/3, 2/3, 1.
    assert precision_recall_curve(positive, scores)["average_precision"] == pytest.approx((1 + 1 + 0.75) / 3)


def test_roc_counts_ties_half() -> None:
    roc = roc_curve(np.array([True, False, False]), np.array([0.8, 0.8, 0.3]))
    # The tied pair counts 1/2, the other pair 1: AUC = 1.5 / 2.
    assert roc["auc"] == pytest.approx(0.75)
    assert roc["fpr"].tolist() == [0.0, 0.5, 1.0] and roc["tpr"].tolist() == [0.0, 1.0, 1.0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40))
def test_roc_auc_equals_mann_whitney(pairs: list[tuple[bool, int]]) -> None:
    positive = np.array([p for p, _ in pairs])
    scores = np.array([s / 5 for _, s in pairs])  # few distinct values: many ties
    assume(positive.any() and not positive.all())
    u = mannwhitneyu(scores[positive], scores[~positive]).statistic
    assert roc_curve(positive, scores)["auc"] == pytest.approx(u / (positive.sum() * (~positive).sum()))


def test_curves_are_thinned_but_auc_uses_all_points() -> None:
    rng = np.random.default_rng(0)
    positive = rng.uniform(size=5000) < 0.5
    scores = rng.uniform(size=5000) + 0.3 * positive
    full, thin = roc_curve(positive, scores, max_points=None), roc_curve(positive, scores, max_points=100)
    assert len(thin["fpr"]) <= 100 < len(full["fpr"])
    assert thin["auc"] == full["auc"]
    assert (thin["fpr"][0], thin["fpr"][-1]) == (0.0, 1.0)


# Cells (snr_db, duration_ms); category is nested in the label and must not split cells.
CONDITIONS = frame(
    [
        (S, S, 0.9, 0.0, 200, "speech"), (S, N, 0.4, 0.0, 200, "speech"),
        (N, N, 0.1, 0.0, 200, "music"), (N, N, 0.2, 0.0, 200, "noise"),
        (S, S, 0.8, 0.0, 1000, "speech"), (N, S, 0.6, 0.0, 1000, "music"),
        (S, S, 0.9, math.inf, 200, "speech"), (S, S, 0.7, math.inf, 200, "speech"),
        (N, N, 0.3, math.inf, 200, "noise"),
        (S, U, 0.5, math.inf, 1000, "speech"),  # a cell with one class only
    ],
    ("label", "pred", "p_speech", "snr_db", "duration_ms", "category"),
)  # fmt: skip


def test_breakdowns_and_ba_conditions_by_hand() -> None:
    report = condition_report(CONDITIONS)
    cells = {(c["snr_db"], c["duration_ms"]): c for c in report["by_cell"]}
    assert set(cells) == {(0.0, 200), (0.0, 1000), (math.inf, 200), (math.inf, 1000)}
    assert cells[0.0, 200]["balanced_accuracy"] == pytest.approx((1 / 2 + 1) / 2)
    assert cells[0.0, 1000]["balanced_accuracy"] == pytest.approx((1 + 0) / 2)
    assert cells[math.inf, 200]["balanced_accuracy"] == pytest.approx(1.0)
    assert cells[math.inf, 1000]["balanced_accuracy"] == 0.0  # recall of the one class present
    ba = report["BA_conditions"]
    assert ba["cell_columns"] == ["duration_ms", "snr_db"]  # the condition axes in their declared order
    assert ba["value"] == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    assert ba["n_cells_used"] == 3 and ba["cells_missing_a_class"] == [{"snr_db": math.inf, "duration_ms": 1000}]
    by_snr = {r["snr_db"]: r for r in report["by_condition"]["snr_db"]}
    # snr 0: SPEECH answered S, NS, S -> 2/3; NONSPEECH answered N, N, S -> 2/3
    assert by_snr[0.0]["recall_speech"] == pytest.approx(2 / 3)
    assert by_snr[0.0]["recall_nonspeech"] == pytest.approx(2 / 3)
    assert by_snr[0.0]["accuracy"] == pytest.approx(4 / 6)
    # clean: SPEECH S, S, UNKNOWN -> 2/3; NONSPEECH N -> 1
    assert by_snr[math.inf]["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    by_category = {r["category"]: r for r in report["by_condition"]["category"]}
    assert by_category["music"]["accuracy"] == pytest.approx(1 / 2)
    assert by_category["noise"]["n"] == 2


def test_unobserved_combinations_are_not_cells() -> None:
    # One-axis style design: (snr 5, 1000 ms) is never produced, so it is not a cell.
    one_axis = frame(
        [(S, S, 0.9, 5.0, 200), (N, N, 0.1, 5.0, 200), (S, N, 0.4, 20.0, 200), (N, N, 0.1, 20.0, 200),
         (S, S, 0.8, 20.0, 1000), (N, S, 0.9, 20.0, 1000)],
        ("label", "pred", "p_speech", "snr_db", "duration_ms"),
    )  # fmt: skip
    report = condition_report(one_axis)
    assert len(report["by_cell"]) == 3
    assert report["BA_conditions"]["value"] == pytest.approx((1.0 + 0.5 + 0.5) / 3)


def test_without_condition_columns_the_whole_frame_is_one_cell() -> None:
    report = condition_report(HAND)
    assert report["by_condition"] == {}
    assert len(report["by_cell"]) == 1
    assert report["BA_conditions"]["value"] == pytest.approx(classification_metrics(HAND)["balanced_accuracy"])


def clustered_frame(n_clusters: int, rows_per_cluster: int, seed: int) -> pd.DataFrame:
    """Every row of a base clip shares its outcome: the extreme of within-clip correlation."""
    rng = np.random.default_rng(seed)
    correct = np.repeat(rng.uniform(size=n_clusters) < 0.5, rows_per_cluster)
    label = np.where(np.arange(n_clusters * rows_per_cluster) % 2 == 0, S, N)
    wrong = np.where(label == S, N, S)
    return pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(label.size)],
            "base_clip_id": np.repeat([f"b{i}" for i in range(n_clusters)], rows_per_cluster),
            "label": label,
            "pred": np.where(correct, label, wrong),
            "p_speech": 0.5,
        }
    )


def test_cluster_bootstrap_widens_intervals_for_correlated_rows() -> None:
    df = clustered_frame(n_clusters=200, rows_per_cluster=5, seed=0)
    clustered = bootstrap_metric_intervals(df, n_resamples=2000, seed=1)["intervals"]["accuracy"]
    unclustered = df.drop(columns="base_clip_id")
    by_row = bootstrap_metric_intervals(unclustered, n_resamples=2000, seed=1)["intervals"]["accuracy"]
    p = clustered["estimate"]
    # 200 independent units vs 1000: normal-approximation widths 2 * 1.96 * sqrt(p(1-p)/units).
    assert clustered["high"] - clustered["low"] == pytest.approx(2 * 1.96 * math.sqrt(p * (1 - p) / 200), rel=0.15)
    assert by_row["high"] - by_row["low"] == pytest.approx(2 * 1.96 * math.sqrt(p * (1 - p) / 1000), rel=0.15)


def test_bootstrap_estimates_match_metrics_and_are_seeded() -> None:
    df = CONDITIONS.assign(base_clip_id=[f"b{i // 2}" for i in range(len(CONDITIONS))])
    first = bootstrap_metric_intervals(df, n_resamples=300, seed=7)
    assert first == bootstrap_metric_intervals(df, n_resamples=300, seed=7)
    assert first != bootstrap_metric_intervals(df, n_resamples=300, seed=8)
    intervals = first["intervals"]
    metrics = classification_metrics(df)
    assert intervals["balanced_accuracy"]["estimate"] == pytest.approx(metrics["balanced_accuracy"])
    assert intervals["confidence_gap"]["estimate"] == pytest.approx(metrics["confidence"]["gap"])
    assert intervals["BA_conditions"]["estimate"] == pytest.approx(condition_report(df)["BA_conditions"]["value"])
    assert first["n_clusters"] == 5


def test_resampled_totals_draw_as_many_clusters_as_there_are() -> None:
    clusters = np.array([0, 0, 1, 2, 2, 2])
    per_cluster = cluster_sums(np.ones((6, 1)), clusters)  # rows per cluster: 2, 1, 3
    assert per_cluster[:, 0].tolist() == [2, 1, 3]
    counts = resampled_totals(np.eye(3), n_resamples=500, seed=0)  # times each cluster was drawn
    assert np.all(counts.sum(axis=1) == 3)
    assert counts.mean(axis=0) == pytest.approx([1, 1, 1], abs=0.15)


def test_cluster_falls_back_to_clip_where_base_clip_is_missing() -> None:
    df = pd.DataFrame({"clip_id": ["a", "b", "c"], "base_clip_id": ["x", None, "x"]})
    codes = cluster_codes(df)
    assert codes[0] == codes[2] != codes[1]


def test_bootstrap_of_ten_thousand_rows_is_fast() -> None:
    df = clustered_frame(n_clusters=2500, rows_per_cluster=4, seed=0)
    df["snr_db"] = np.tile([-5.0, 0.0, 5.0, 10.0], 2500)
    start = time.perf_counter()
    bootstrap_metric_intervals(df, n_resamples=1000, seed=0)
    assert time.perf_counter() - start < 5.0  # ~0.3 s on an idle core


def test_summary_serialises_to_strict_json() -> None:
    df = CONDITIONS.assign(system="silero", prompt_id="none", latency_ms=[5.0] * 9 + [math.nan])
    df.loc[0, "p_speech"] = math.nan  # a row without a score
    summary = summarize_system(df, n_bootstrap=50)
    text = json.dumps(to_jsonable(summary), allow_nan=False)
    assert '"inf"' in text  # clean SNR survives as a string key/value
    assert summary["n_without_score"] == 1
    assert summary["latency"]["n"] == 9
    row = headline(summary)
    assert row["accuracy"] == summary["accuracy"] and row["latency_median_ms"] == 5.0


def test_summary_refuses_mixed_systems_and_splits_them_by_system() -> None:
    two = pd.concat([HAND.assign(system="a", prompt_id="p"), HAND.assign(system="b", prompt_id="p")])
    with pytest.raises(ValueError, match="system"):
        summarize_system(two, n_bootstrap=0)
    by_system = summarize_by_system(two, n_bootstrap=0)
    assert sorted(by_system) == ["a/p", "b/p"]
    assert by_system["a/p"]["accuracy"] == pytest.approx(0.7)


def test_to_jsonable_conversions() -> None:
    value = {
        1.0: np.float32(0.5),
        math.inf: [np.nan, -np.inf, np.int64(3), np.bool_(True)],
        "frame": pd.DataFrame({"x": [1.0, np.nan]}),
    }
    assert to_jsonable(value) == {"1": 0.5, "inf": [None, "-inf", 3, True], "frame": [{"x": 1.0}, {"x": None}]}
    with pytest.raises(TypeError):
        to_jsonable(object())
