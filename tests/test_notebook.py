"""notebooks/paper_figures.ipynb executes headless against run folders made here."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from qwen_vad.analyze import analyze
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.config import REPO_ROOT
from qwen_vad.data.__main__ import build
from qwen_vad.evaluate import evaluate

NOTEBOOK = REPO_ROOT / "notebooks" / "paper_figures.ipynb"
DATA = ["data.name=nbset", "data.per_cell=4", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,10.0,20.0]", "data.min_per_cell_split=1"]
FAST = ["analyze.n_bootstrap=50", "analyze.psychometric_bootstrap=50", "analyze.comparisons=[]"]
CELL_TIMEOUT_S = 120  # one cell draws at most a handful of figures: seconds, even on a busy machine


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two VAD baselines scored and analysed: real inputs, no model to load."""
    root = tmp_path_factory.mktemp("notebook")
    paths = [f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"]
    for stage, function, overrides in (
        ("data", build, ["exp=smoke"]),
        ("evaluate", evaluate, ["exp=d1"]),
        ("evaluate", evaluate, ["exp=d2"]),
        ("analyze", analyze, ["exp=d2", *FAST, "analyze.experiments=[d1,d2]"]),
    ):
        cfg, exp = compose_config([*overrides, *DATA, *paths])
        execute_stage(stage, function, cfg, exp)
    return root / "results"


def execute(monkeypatch: pytest.MonkeyPatch, results: Path, exp: str) -> nbformat.NotebookNode:
    monkeypatch.setenv("QWEN_VAD_RESULTS", str(results))
    monkeypatch.setenv("QWEN_VAD_EXP", exp)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    return notebook


def outputs_of(notebook: nbformat.NotebookNode) -> tuple[str, int]:
    """All printed text, and how many images the notebook displayed."""
    text, images = [], 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", ""))
            images += "image/png" in output.get("data", {})
    return "".join(text), images


def test_notebook_draws_the_figures_and_says_what_was_not_run(monkeypatch: pytest.MonkeyPatch, results_dir: Path) -> None:
    notebook = execute(monkeypatch, results_dir, "d2")
    text, images = outputs_of(notebook)
    assert "OPRO trajectory: not run" in text
    assert "fine-tuning dev curve: not run" in text
    # Two psychometric sets, heatmaps, confusion, ROC/PR, recall trade-off, reliability, latency,
    # degradation examples.
    assert images == 9


def test_notebook_without_an_analysis_fails_with_a_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no finished analyze run"):
        execute(monkeypatch, tmp_path, "paper")
