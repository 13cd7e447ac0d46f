"""Everything a report shows, gathered from run folders: the analysis JSON and, for each
system, the scoring run it came from (its resolved config, prompt, threshold, dataset)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from omegaconf import DictConfig, OmegaConf

from qwen_vad.errors import MissingInputError
from qwen_vad.config import Config
from qwen_vad.prompts import PromptError, load_prompt
from qwen_vad.report.load import Analysis, from_repo, latest_analysis, read_analysis
from qwen_vad.scoring.predictions import SYSTEM_KIND_COLUMN
from qwen_vad.scoring.systems import LLM, SYSTEMS, recorded_kind


@dataclass(frozen=True)
class SystemRun:
    name: str  # as in the analysis (experiment, or experiment[seed=N])
    run_dir: Path
    stage: str  # evaluate | finetune | opro
    config: DictConfig  # the scoring run's resolved config.yaml
    system: str
    kind: str  # llm | vad (qwen_vad.scoring.systems), as the scoring run recorded it
    prompt_id: str
    prompt_text: str
    n_reported: int
    dev_balanced_accuracy: float | None

    @property
    def predictions_path(self) -> Path:
        return self.run_dir / "predictions.parquet"

    @property
    def is_llm(self) -> bool:
        return self.kind == LLM

    @property
    def scores_adapter(self) -> bool:
        """The LLM scored carries a LoRA adapter: trained by this run (finetune) or loaded
        (``model.adapter``, or B3's through ``model.adapter_from_finetune`` as B4 does)."""
        model = self.config.model
        return self.is_llm and (self.stage == "finetune" or bool(model.adapter) or bool(model.get("adapter_from_finetune")))

    @property
    def label(self) -> str:
        """"WebRTC VAD (webrtc-mode3)": the registered system's label (qwen_vad.scoring.systems)
        and what its run called itself; the run's own name for a system no longer registered."""
        entry = SYSTEMS.get(str(self.config.evaluate.system))
        return f"{entry.label} ({self.system})" if entry and not self.is_llm else self.system


@dataclass(frozen=True)
class ReportInputs:
    analysis: Analysis  # the analyze run's metrics, psychometric and comparisons JSON
    runs: dict[str, SystemRun]
    datasets: dict[str, dict]  # dataset name -> its report.json

    @property
    def metrics(self) -> dict:
        return self.analysis.metrics

    @property
    def psychometric(self) -> dict:
        return self.analysis.psychometric

    @property
    def comparisons(self) -> dict:
        return self.analysis.comparisons


def analysis_run(cfg: Config, exp: str) -> Analysis:
    """``runs=[ANALYZE_RUN]`` names the analysis to report; else the experiment's latest."""
    if cfg.runs:
        folder = Path(cfg.runs[0])
        if not (folder / "metrics.json").is_file():
            raise MissingInputError(f"runs: {folder} is not an analyze run folder (no metrics.json)")
        return read_analysis(folder)
    analysis = latest_analysis(cfg.paths.results_dir, exp)
    if analysis is None:
        raise MissingInputError(
            f"no finished analyze run for {exp!r} under {cfg.paths.results_dir}; run `python -m qwen_vad.analyze exp={exp}` first"
        )
    return analysis


def collect_inputs(cfg: Config, exp: str) -> ReportInputs:
    analysis = analysis_run(cfg, exp)
    runs = {name: system_run(name, analysis.scoring_run(name) / "predictions.parquet") for name in analysis.metrics["sources"]}
    datasets = {}
    for run in runs.values():
        report = from_repo(run.config.paths.data_dir) / run.config.data.name / "report.json"
        if report.is_file():
            datasets[run.config.data.name] = json.loads(report.read_text())
    return ReportInputs(analysis=analysis, runs=runs, datasets=datasets)


def system_run(name: str, predictions_path: Path) -> SystemRun:
    run_dir = predictions_path.parent
    config = OmegaConf.load(run_dir / "config.yaml")
    columns = ["split", "system", "prompt_id", SYSTEM_KIND_COLUMN]
    predictions = pd.read_parquet(predictions_path, columns=[c for c in columns if c in parquet_columns(predictions_path)])
    threshold_file = run_dir / "threshold.json"
    threshold = json.loads(threshold_file.read_text()) if threshold_file.is_file() else {}
    prompt_id = str(predictions["prompt_id"].iloc[0])
    kind = recorded_kind(predictions, predictions_path)
    return SystemRun(
        name=name,
        run_dir=run_dir,
        stage=run_dir.parent.parent.name,
        config=config,
        system=str(predictions["system"].iloc[0]),
        kind=kind,
        prompt_id=prompt_id,
        prompt_text=prompt_text(run_dir, config) if kind == LLM else "",
        n_reported=int((predictions["split"] == config.split).sum()),
        dev_balanced_accuracy=threshold.get("dev_balanced_accuracy"),
    )


def parquet_columns(path: Path) -> list[str]:
    return pq.read_schema(path).names


def prompt_text(run_dir: Path, config: DictConfig) -> str:
    """The prompt as the run used it: a copy in the run folder wins over prompts/."""
    for candidate in ("prompt.txt", "best_prompt.txt"):
        if (run_dir / candidate).is_file():
            return load_prompt(run_dir / candidate).text
    try:
        return load_prompt(str(config.decoding.prompt)).text
    except PromptError:
        return ""
