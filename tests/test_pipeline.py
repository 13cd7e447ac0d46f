"""The main job, ``python -m qwen_vad.pipeline exp=smoke``, end to end at a small size: every
stage runs, the report holds every table and figure, its numbers equal the analysis JSON,
rows that were not run say so, and a second run skips every finished step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.report.tables import AUC75_COLUMN, DT50_COLUMN, DT75_COLUMN
from qwen_vad.report.threshold_cells import threshold_cell

REPO = Path(__file__).resolve().parents[1]
TABLES = ("comparison_matrix", "psychometric", "paired_comparisons", "by_snr", "by_duration", "category_errors", "prompts", "dataset", "failures")
FIGURES = (
    "psychometric_correctness_vs_snr_db_pooled", "psychometric_detection_vs_snr_db", "psychometric_sensitivity_vs_snr_db_pooled",
    "balanced_accuracy_heatmaps",
    "reliability_diagrams", "confusion_matrices", "accuracy_vs_latency", "roc_pr_curves", "recall_tradeoff",
    "degradation_examples", "opro_trajectory", "finetune_dev_curves",
)  # fmt: skip


def run_pipeline(root: Path, tiny_checkpoint: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, "-m", "qwen_vad.pipeline", "exp=smoke",
            f"paths.results_dir={root}/results", f"paths.data_dir={root}/data", f"model.name_or_path={tiny_checkpoint}",
            "data.per_cell=6", "data.min_per_cell_split=1",
            "finetune.max_steps=4", "finetune.eval_steps=2", "finetune.warmup_steps=1",
            "opro.max_steps=1", "opro.candidates_per_step=2", "opro.train_subset_size=16", "opro.dev_max_clips=16",
            "analyze.n_bootstrap=100", "analyze.psychometric_bootstrap=100",
        ],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("pipeline")
    first = run_pipeline(root, tiny_checkpoint)
    assert first.returncode == 0, first.stderr[-4000:]
    second = run_pipeline(root, tiny_checkpoint)
    assert second.returncode == 0, second.stderr[-4000:]
    return root, first, second


def latest(root: Path, stage: str, exp: str) -> Path:
    return sorted((root / "results" / stage / exp).iterdir())[-1]


def test_report_holds_every_table_and_figure(pipeline_run) -> None:
    root, first, _ = pipeline_run
    report = latest(root, "report", "paper")
    assert f"report.md: {report / 'report.md'}" in first.stdout
    markdown = (report / "report.md").read_text()
    assert "Pipeline check, not model quality" in markdown
    for table in TABLES:
        for suffix in (".csv", ".md", ".tex"):
            assert (report / "tables" / f"{table}{suffix}").is_file(), table
    for figure in FIGURES:
        assert (report / "figures" / f"{figure}.pdf").stat().st_size > 0, figure
        assert f"figures/{figure}.png" in markdown, figure
    assert "\\toprule" in (report / "tables" / "comparison_matrix.tex").read_text()
    assert list((report / "failures" / "audio").rglob("*.wav")), "failure audio is copied for listening"


def test_table_numbers_equal_the_analysis_json(pipeline_run) -> None:
    root, _, _ = pipeline_run
    analysis = json.loads((latest(root, "analyze", "paper") / "metrics.json").read_text())["systems"]
    matrix = pd.read_csv(latest(root, "report", "paper") / "tables" / "comparison_matrix.csv", dtype=str).set_index("row")
    assert set(analysis) == {"a1", "a2", "b1", "b2", "d1", "d2"}
    for name, block in analysis.items():
        row = matrix.loc[name.upper()]
        assert row["balanced accuracy"] == f"{block['headline']['balanced_accuracy']:.3f}"
        assert row["accuracy"] == f"{block['headline']['accuracy']:.3f}"
        assert row["NONSPEECH acc."] == f"{block['headline']['accuracy_nonspeech']:.3f}"
        assert row["ECE"] == f"{block['calibration']['ece']:.3f}"
    psychometric = json.loads((latest(root, "analyze", "paper") / "psychometric.json").read_text())
    for name in analysis:
        row = matrix.loc[name.upper()]
        for column, p, curve_set in ((DT50_COLUMN, 0.5, "detection"), (DT75_COLUMN, 0.75, "detection"), (AUC75_COLUMN, 0.75, "sensitivity")):
            curve = psychometric[name][f"{curve_set}_vs_snr_db_pooled"][0]
            entry = next((t for t in curve.get("thresholds", []) if t["p"] == p), None)
            assert row[column] == threshold_cell(entry if entry is not None else {"status": "not fitted"})
            # A number leads the cell only for a threshold inside the tested SNRs.
            leading_number = re.match(r"-?\d+\.\d", row[column])
            assert bool(leading_number) == (entry is not None and entry["status"] == "inside"), (name, column, row[column])
    for missing in ("B3", "B4", "C1"):
        assert (matrix.loc[missing, ["accuracy", "balanced accuracy", DT50_COLUMN, AUC75_COLUMN]] == "not run").all()
    paired = pd.read_csv(latest(root, "report", "paper") / "tables" / "paired_comparisons.csv", dtype=str)
    assert paired.loc[paired["comparison"] == "b4 vs b3", "ΔBA"].item() == "not run"


def test_every_stage_ran_once_and_the_rerun_skips_them(pipeline_run) -> None:
    root, _, _ = pipeline_run
    pipeline_runs = sorted((root / "results" / "pipeline" / "smoke").iterdir())
    first, second = (json.loads((p / "steps.json").read_text()) for p in pipeline_runs)
    assert [s["status"] for s in first] == ["ran"] * len(first)
    assert [s["step"] for s in first] == [
        "data:d1", "evaluate:d1", "evaluate:d2", "evaluate:a1", "finetune:b1", "finetune:b2", "opro:a2", "analyze:paper", "report:paper",
    ]  # fmt: skip
    assert [s["status"] for s in second] == ["skipped"] * len(second)
    assert [s["run"] for s in second] == [s["run"] for s in first]
    assert len(list((root / "results" / "finetune" / "b2").iterdir())) == 1
