"""``python -m qwen_vad.analyze`` on real predictions: a VAD baseline and the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.analyze import analyze
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.evaluate import evaluate

DATA = ["data.name=anaset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,10.0,20.0]", "data.min_per_cell_split=1"]
FAST = ["analyze.n_bootstrap=100", "analyze.psychometric_bootstrap=100"]


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    root = tmp_path_factory.mktemp("analyze")
    paths = [f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"]
    cfg, exp = compose_config(["exp=smoke", *DATA, *paths])
    execute_stage("data", build, cfg, exp)
    for overrides in (["exp=d2"], ["exp=a1", f"model.name_or_path={tiny_checkpoint}", "model.dtype=fp32"]):
        cfg, exp = compose_config([*overrides, *DATA, *paths])
        execute_stage("evaluate", evaluate, cfg, exp)
    return root


def run_analyze(root: Path, *extra: str):
    cfg, exp = compose_config(["exp=a1", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results", *FAST, *extra])
    return execute_stage("analyze", analyze, cfg, exp)


def test_metrics_and_psychometrics_of_two_systems(scored: Path) -> None:
    run = run_analyze(scored, "analyze.experiments=[a1,d2]", "analyze.comparisons=[a1:d2,b2:b1]")
    metrics = json.loads(run.path("metrics.json").read_text())
    assert set(metrics["systems"]) == {"a1", "d2"}
    for name in ("a1", "d2"):
        predictions = pd.read_parquet(metrics["sources"][name])
        test = predictions[predictions["split"] == "test"]
        block = metrics["systems"][name]
        assert block["headline"]["accuracy"] == pytest.approx((test["pred"] == test["label"]).mean())
        assert block["threshold"] == pytest.approx(test["threshold"].iloc[0])
        assert block["summary"]["n"] == len(test)
        assert "temperature" in block["temperature_scaling"]
        interval = block["summary"]["bootstrap"]["intervals"]["balanced_accuracy"]
        low, high = interval["low"], interval["high"]
        assert low <= block["headline"]["balanced_accuracy"] <= high
    psychometric = json.loads(run.path("psychometric.json").read_text())
    assert set(psychometric) == {"a1", "d2"}
    assert {"detection_vs_snr_db", "detection_vs_duration_ms", "sensitivity_vs_snr_db", "sensitivity_vs_snr_db_pooled"} <= set(psychometric["d2"])
    pooled = [psychometric[n][s][0] for n in ("a1", "d2") for s in ("detection_vs_snr_db_pooled", "sensitivity_vs_snr_db_pooled")]
    assert "thresholds" in pooled[-1]  # Silero's criterion-free curve is fitted
    for curve in pooled:
        if "thresholds" in curve:
            assert curve["cluster_unit"] == "base_clip" and set(curve["share_refits_not_converged"]) == {"parametric", "cluster"}
            for threshold in curve["thresholds"]:
                # Only a threshold inside the tested SNRs (0..20 dB here) carries a value and an interval.
                assert threshold["tested_range"] == [0.0, 20.0]
                if threshold["status"] == "inside":
                    assert 0.0 <= threshold["value"] <= 20.0 and threshold["interval"]["method"] == "cluster"
                else:
                    assert threshold["value"] is None and threshold["interval"] is None
    comparisons = json.loads(run.path("comparisons.json").read_text())
    assert [(c["a"], c["b"]) for c in comparisons["comparisons"]] == [("a1", "d2")]
    assert comparisons["not_run"] == ["b2:b1"]
    assert 0 <= comparisons["comparisons"][0]["seeds"][0]["mcnemar"]["p_value_holm"] <= 1
    # a1 and d2 have one run each: one pair, and the best systems are chosen on dev.
    assert comparisons["resolved"] == {"best_llm": "a1", "best_vad": "d2"}
    assert metrics["systems"]["a1"]["dev"]["n"] == metrics["systems"]["a1"]["clips"]["dev"] > 0


def test_runs_scored_on_different_clips_are_not_compared(scored: Path, tmp_path: Path) -> None:
    d2 = sorted((scored / "results" / "evaluate" / "d2").iterdir())[-1]
    a1 = sorted((scored / "results" / "evaluate" / "a1").iterdir())[-1]
    trimmed = tmp_path / "evaluate" / "a1" / "20990101-000000"
    trimmed.mkdir(parents=True)
    predictions = pd.read_parquet(a1 / "predictions.parquet")
    predictions[predictions["clip_id"] != predictions["clip_id"].iloc[-1]].to_parquet(trimmed / "predictions.parquet")
    run = run_analyze(scored, f"runs=[{d2},{trimmed}]", f"analyze.comparisons=[a1@{trimmed.name}:d2@{d2.name}]")
    comparisons = json.loads(run.path("comparisons.json").read_text())
    assert comparisons["comparisons"] == []
    (entry,) = comparisons["not_comparable"]
    assert (entry["a"], entry["b"]) == (f"a1@{trimmed.name}", f"d2@{d2.name}") and "different clip sets" in entry["reason"]


def test_leakage_groups_as_the_cluster_unit_and_a_bad_choice(scored: Path) -> None:
    run = run_analyze(scored, "analyze.experiments=[d2]", "analyze.comparisons=[]", "analyze.psychometric_cluster=group", "analyze.sensitivity=dprime")
    curve = json.loads(run.path("psychometric.json").read_text())["d2"]["sensitivity_vs_snr_db_pooled"][0]
    assert curve["cluster_unit"] == "group" and curve["sensitivity"] == "dprime"
    assert "d_prime" in curve["counts"]
    with pytest.raises(ValueError, match="analyze.psychometric_cluster must be one of"):
        run_analyze(scored, "analyze.experiments=[d2]", "analyze.psychometric_cluster=speaker")


def test_missing_runs_are_a_clear_error(tmp_path: Path) -> None:
    cfg, exp = compose_config(["exp=a1", f"paths.results_dir={tmp_path}", *FAST])
    with pytest.raises(FileNotFoundError, match="no finished scoring run"):
        execute_stage("analyze", analyze, cfg, exp)
