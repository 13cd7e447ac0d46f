"""Where every number of a report came from: the scoring runs (folder, git commit), the datasets
they were scored on (build fingerprint) and the licence of each model and VAD scored."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from qwen_vad.data.store import BUILD_RECORD
from qwen_vad.licences import UNKNOWN_LICENCE, Licence, checkpoint_licence, checkpoint_name
from qwen_vad.models.stand_ins import checkpoint_loaded
from qwen_vad.report.collect import ReportInputs, SystemRun
from qwen_vad.report.load import from_repo
from qwen_vad.scoring.systems import SYSTEMS


def provenance_tables(inputs: ReportInputs) -> dict[str, tuple[pd.DataFrame, str]]:
    return {
        "provenance_runs": (run_table(inputs), "Scoring runs"),
        "provenance_datasets": (dataset_table(inputs), "Datasets"),
        "licences": (licence_table(inputs), "Licences of the models and VADs scored"),
    }


def run_table(inputs: ReportInputs) -> pd.DataFrame:
    rows = []
    for name, run in sorted(inputs.runs.items()):
        env_file = run.run_dir / "env.json"
        git = json.loads(env_file.read_text()).get("git", {}) if env_file.is_file() else {}
        commit = git.get("commit")
        rows.append({
            "system": name, "stage": run.stage, "run folder": str(run.run_dir),
            "git commit": str(commit)[:10] if commit else "unknown", "dirty": git.get("dirty", "unknown"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def dataset_table(inputs: ReportInputs) -> pd.DataFrame:
    """One row per dataset the runs were scored on, with its build fingerprint."""
    folders: dict[str, list[str]] = {}
    for name, run in sorted(inputs.runs.items()):
        folder = from_repo(run.config.paths.data_dir) / run.config.data.name
        folders.setdefault(str(folder), []).append(name)
    rows = []
    for folder, systems in folders.items():
        build_file = Path(folder) / BUILD_RECORD
        build = json.loads(build_file.read_text()) if build_file.is_file() else {}
        rows.append({
            "dataset": Path(folder).name, "fingerprint": build.get("fingerprint", "missing"), "data seed": build.get("seed", ""),
            "folder": folder, "systems": ", ".join(systems),
        })  # fmt: skip
    return pd.DataFrame(rows)


def licence_table(inputs: ReportInputs) -> pd.DataFrame:
    return pd.DataFrame([{"system": name, **scored_with(run)} for name, run in sorted(inputs.runs.items())])


def scored_with(run: SystemRun) -> dict[str, str]:
    """What scored the clips (checkpoint or VAD) and its licence; an adapter is the base model's."""
    cfg = run.config
    if run.is_llm:
        checkpoint, requested = checkpoint_loaded(cfg.model), str(cfg.model.name_or_path)
        licence = checkpoint_licence(str(from_repo(checkpoint)))  # a relative folder is the repository's
        what = checkpoint_name(checkpoint)
        if checkpoint != requested:
            what += f" (tiny stand-in for {checkpoint_name(requested)})"
        if run.scores_adapter:
            what += " + LoRA adapter trained by this harness (the base model's licence applies)"
    else:
        entry = SYSTEMS.get(str(cfg.evaluate.system))  # a run of a system no longer registered: unknown
        licence = entry.licence if entry else Licence(UNKNOWN_LICENCE, "")
        what = run.label
    return {"model or VAD": what, "licence": licence.terms, "terms": licence.source}
