"""Read what the figures need from run folders: the analysis JSON, the OPRO history and the
fine-tuning dev curve of the analysed systems, and the dataset they were scored on.

Everything starts from an analyze run, so the figures show exactly the systems (and runs)
the report's tables show. Relative paths inside run folders (``results/...``, ``data``) are
relative to where the stage ran, which for the documented commands is the repository root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from qwen_vad.config import REPO_ROOT
from qwen_vad.data.manifest import read_manifest
from qwen_vad.opro.history import HISTORY_FILE, SCORED, read_events
from qwen_vad.report.figures.training import OproTrace, StepValue
from qwen_vad.runs import latest_run

DEV_CURVE_METRIC = "balanced_accuracy"  # what the fine-tuning run selects its adapter on


@dataclass(frozen=True)
class Analysis:
    """The three files of one analyze run folder, parsed."""

    run_dir: Path
    metrics: dict  # {"split", "sources": {system: predictions path}, "systems": {system: {...}}}
    psychometric: dict  # {system: {"detection_vs_snr_db": [curve, ...], ...}}
    comparisons: dict

    @property
    def systems(self) -> dict:
        return self.metrics["systems"]

    def scoring_run(self, system: str) -> Path:
        """The run folder that wrote ``system``'s predictions."""
        return from_repo(self.metrics["sources"][system]).parent


def from_repo(path: str | Path) -> Path:
    """An absolute path as is; a relative one from the repository root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def read_analysis(run_dir: str | Path) -> Analysis:
    run_dir = from_repo(run_dir)
    files = {name: json.loads((run_dir / f"{name}.json").read_text()) for name in ("metrics", "psychometric", "comparisons")}
    return Analysis(run_dir=run_dir, **files)


def latest_analysis(results_dir: str | Path, exp: str) -> Analysis | None:
    """The newest finished analyze run of ``exp`` (e.g. "paper"), or None when there is none."""
    run_dir = latest_run(from_repo(results_dir), "analyze", exp)
    return read_analysis(run_dir) if run_dir is not None else None


def stage_of(run_dir: Path) -> str:
    # results/<stage>/<exp>/<stamp>
    return run_dir.parent.parent.name


def opro_trace(history_path: Path) -> OproTrace:
    """Scored candidates (step, train score) and the best dev score after each step, from an
    ``opro_history.jsonl`` (rejected and duplicate candidates have no score and are left out)."""
    events = read_events(history_path)
    candidates = [(e["step"], e["train_score"]) for e in events if e["event"] == "candidate" and e["status"] == SCORED]
    dev_best = [(e["step"], e["best_dev_score"]) for e in events if e["event"] == "step_done" and e["best_dev_score"] is not None]
    return OproTrace(candidates=candidates, dev_best=dev_best)


def opro_traces(analysis: Analysis) -> dict[str, OproTrace]:
    """The OPRO search behind each analysed system that came from an opro run."""
    runs = {name: analysis.scoring_run(name) for name in analysis.metrics["sources"]}
    return {
        name: opro_trace(run / HISTORY_FILE) for name, run in runs.items() if stage_of(run) == "opro" and (run / HISTORY_FILE).is_file()
    }


def finetune_dev_curve(run_dir: Path) -> list[StepValue]:
    """(step, dev balanced accuracy) from a finetune run's metrics.json "training" block."""
    training = json.loads((run_dir / "metrics.json").read_text()).get("training") or {}
    return [(point["step"], point[DEV_CURVE_METRIC]) for point in training.get("dev_curve", []) if point.get(DEV_CURVE_METRIC) is not None]


def finetune_curves(analysis: Analysis) -> dict[str, list[StepValue]]:
    """The dev curve behind each analysed system that came from a finetune run."""
    runs = {name: analysis.scoring_run(name) for name in analysis.metrics["sources"]}
    return {name: finetune_dev_curve(run) for name, run in runs.items() if stage_of(run) == "finetune" and (run / "metrics.json").is_file()}


def scored_dataset(analysis: Analysis) -> tuple[pd.DataFrame, Path] | None:
    """(manifest, folder) of the dataset the first analysed system was scored on (every row
    of the comparison shares it); None when the folder is gone."""
    for system in analysis.metrics["sources"]:
        config = OmegaConf.load(analysis.scoring_run(system) / "config.yaml")
        folder = from_repo(config.paths.data_dir) / config.data.name
        if (folder / "manifest.parquet").is_file():
            return read_manifest(folder), folder
    return None
