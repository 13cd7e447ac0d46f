"""The main job, ``python -m qwen_vad.pipeline exp=smoke``, end to end at a small size: every
stage and every row of the matrix (each on the tiny stand-in of its model's family, built by the
pipeline) runs on one test set and one dev set, the report holds every table and figure, its
numbers equal the analysis JSON and name the stand-ins, and a second run skips every finished step."""

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
TABLES = ("comparison_matrix", "psychometric", "paired_comparisons", "by_snr", "by_duration", "category_errors", "prompts", "input_warnings", "dataset", "failures")
ROWS = ("a1", "a2", "b1", "b2", "b3", "b4", "c1", "c2", "d1", "d2")
STEPS = [
    "data:d1", "data:b1", "evaluate:d1", "evaluate:d2", "evaluate:a1", "evaluate:c2", "finetune:b1", "finetune:b2",
    "finetune:b3", "opro:a2", "opro:b4", "opro:c1", "analyze:paper", "report:paper",
]  # fmt: skip
# The tiny checkpoint each row loads in place of its real model.
STAND_INS = {"a1": "qwen2_audio", "c1": "qwen3_omni", "c2": "qwen2_5_omni"}
FIGURES = (
    "psychometric_correctness_vs_snr_db_pooled", "psychometric_detection_vs_snr_db", "psychometric_sensitivity_vs_snr_db_pooled",
    "balanced_accuracy_heatmaps",
    "reliability_diagrams", "confusion_matrices", "accuracy_vs_latency", "roc_pr_curves", "recall_tradeoff",
    "degradation_examples", "opro_trajectory", "finetune_dev_curves",
)  # fmt: skip


SMALL = [
    "data.per_cell=6", "data.min_per_cell_split=1",
    "finetune.max_steps=4", "finetune.eval_steps=2", "finetune.warmup_steps=1",
    "opro.max_steps=1", "opro.candidates_per_step=2", "opro.train_subset_size=16", "opro.dev_max_clips=16",
    "analyze.n_bootstrap=100", "analyze.psychometric_bootstrap=100",
]  # fmt: skip


def paths(root: Path) -> list[str]:
    return [f"paths.results_dir={root}/results", f"paths.data_dir={root}/data", f"model.stand_in_dir={root}/checkpoints"]


def run_pipeline(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qwen_vad.pipeline", "exp=smoke", *paths(root), *SMALL],
        capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("pipeline")
    first = run_pipeline(root)
    assert first.returncode == 0, first.stderr[-4000:]
    second = run_pipeline(root)
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
    page = (report / "report.html").read_text()
    assert "Pipeline check, not model quality" in page and "<audio " in page
    for figure in FIGURES:
        assert f'src="figures/{figure}.png"' in page, figure


def test_table_numbers_equal_the_analysis_json(pipeline_run) -> None:
    root, _, _ = pipeline_run
    analysis = json.loads((latest(root, "analyze", "paper") / "metrics.json").read_text())["systems"]
    matrix = pd.read_csv(latest(root, "report", "paper") / "tables" / "comparison_matrix.csv", dtype=str).set_index("row")
    assert set(analysis) == set(ROWS)
    for name, block in analysis.items():
        row = matrix.loc[name.upper()]
        assert row["balanced accuracy"] == f"{block['headline']['balanced_accuracy']:.3f}"
        assert row["accuracy"] == f"{block['headline']['accuracy']:.3f}"
        assert row["NONSPEECH acc."] == f"{block['headline']['accuracy_nonspeech']:.3f}"
        assert row["ECE"] == f"{block['calibration']['ece']:.3f}"
        assert row["n dev"] == str(block["clips"]["dev"]) and row["n test"] == str(block["clips"]["test"])
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
    # The matrix lists every experiment that declares a row (experiments/*.yaml), in their order;
    # the pipeline runs each of them.
    assert list(matrix.index) == [row.upper() for row in ROWS]
    assert (matrix[["accuracy", "balanced accuracy", "n test"]] != "not run").all().all()
    paired = pd.read_csv(latest(root, "report", "paper") / "tables" / "paired_comparisons.csv", dtype=str).set_index("comparison")
    for comparison in ("b2 vs b1", "b3 vs b2", "b4 vs b3", "a2 vs a1"):
        assert paired.loc[comparison, "ΔBA"] not in ("not run", "not comparable"), comparison


def test_every_row_is_scored_on_one_test_set_and_one_dev_set(pipeline_run) -> None:
    root, _, _ = pipeline_run
    sources = json.loads((latest(root, "analyze", "paper") / "metrics.json").read_text())["sources"]
    assert set(sources) == set(ROWS)
    manifest = pd.read_parquet(root / "data" / "factorial" / "manifest.parquet")
    for split in ("dev", "test"):
        expected = set(manifest.loc[manifest["split"] == split, "clip_id"])
        for row, path in sources.items():
            predictions = pd.read_parquet(path)
            assert set(predictions.loc[predictions["split"] == split, "clip_id"]) == expected, (row, split)
    for row, path in sources.items():
        threshold = json.loads((Path(path).parent / "threshold.json").read_text())
        assert threshold["n_dev"] == (manifest["split"] == "dev").sum(), row  # A2 too: the full dev split
        assert (Path(path).parent / "prompt.txt").is_file() == (row not in ("d1", "d2")), row
    trained = json.loads((latest(root, "finetune", "b1") / "metrics.json").read_text())["training"]
    assert trained["train_dataset"]["name"] == "small"


def evaluate_again(root: Path, exp: str) -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "qwen_vad.evaluate", f"exp=[{exp},smoke]", *paths(root), *SMALL],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return latest(root, "evaluate", exp)


def same_scores(a: Path, b: Path) -> None:
    first, second = (pd.read_parquet(run / "predictions.parquet").set_index("clip_id").sort_index() for run in (a, b))
    assert first.index.equals(second.index)
    assert (first["p_speech"] - second["p_speech"]).abs().max() <= 1e-6
    assert first["prompt_id"].iloc[0] == second["prompt_id"].iloc[0] and (first["pred"] == second["pred"]).all()
    assert json.loads((a / "threshold.json").read_text())["threshold"] == pytest.approx(json.loads((b / "threshold.json").read_text())["threshold"])


@pytest.mark.parametrize("exp", ["a2", "c1"])
def test_evaluate_rescores_exactly_what_the_search_published(pipeline_run, exp: str) -> None:
    """OPRO's final scoring is the protocol every row goes through: the full dev split for the
    threshold, so re-scoring the published prompt gives the same threshold and predictions."""
    root, _, _ = pipeline_run
    same_scores(evaluate_again(root, exp), latest(root, "opro", exp))


def test_evaluate_b4_uses_b3s_adapter_and_the_searched_prompt(pipeline_run) -> None:
    root, _, _ = pipeline_run
    evaluated = evaluate_again(root, "b4")
    assert f"adapter from finetune run {latest(root, 'finetune', 'b3') / 'adapter'}" in (evaluated / "log.txt").read_text()
    assert set(pd.read_parquet(evaluated / "predictions.parquet")["system"]) == {"qwen2_audio+lora"}
    same_scores(evaluated, latest(root, "opro", "b4"))


def test_each_row_loads_the_stand_in_of_its_model_and_the_report_names_them(pipeline_run) -> None:
    root, _, _ = pipeline_run
    for exp, family in STAND_INS.items():
        stage = "opro" if exp == "c1" else "evaluate"
        assert set(pd.read_parquet(latest(root, stage, exp) / "predictions.parquet")["system"]) == {family}, exp
        assert f"as {family}" in (latest(root, stage, exp) / "log.txt").read_text()
    markdown = (latest(root, "report", "paper") / "report.md").read_text()
    for family, real in (("qwen2_audio", "Qwen/Qwen2-Audio-7B-Instruct"), ("qwen3_omni", "Qwen/Qwen3-Omni-30B-A3B-Instruct"),
                         ("qwen2_5_omni", "Qwen/Qwen2.5-Omni-7B")):  # fmt: skip
        assert f"`{root}/checkpoints/{family}` for {real}" in markdown
    licences = pd.read_csv(latest(root, "report", "paper") / "tables" / "licences.csv", dtype=str).set_index("system")
    assert licences.loc["c1", "model or VAD"] == "qwen3_omni (tiny stand-in for Qwen3-Omni-30B-A3B-Instruct)"
    assert "this project's own random checkpoint" in licences.loc["c1", "licence"]
    # B4 scores B3's adapter: the licence row says so, like B3's own row.
    assert licences.loc["b4", "model or VAD"].endswith("+ LoRA adapter trained by this harness (the base model's licence applies)")


def test_every_stage_ran_once_and_the_rerun_skips_them(pipeline_run) -> None:
    root, _, _ = pipeline_run
    pipeline_runs = sorted((root / "results" / "pipeline" / "smoke").iterdir())
    first, second = (json.loads((p / "steps.json").read_text()) for p in pipeline_runs)
    assert [s["status"] for s in first] == ["ran"] * len(first)
    assert [s["step"] for s in first] == STEPS
    assert [s["status"] for s in second] == ["skipped"] * len(second)
    assert [s["run"] for s in second] == [s["run"] for s in first]
    assert len(list((root / "results" / "finetune" / "b2").iterdir())) == 1
