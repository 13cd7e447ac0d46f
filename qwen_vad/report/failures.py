"""Error analysis: the most confident wrong answers per cell, with their audio for listening."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.conditions import core_axes, degradation_axes
from qwen_vad.report.collect import ReportInputs
from qwen_vad.report.load import from_repo



def cell_columns() -> list[str]:
    """A failure cell: the label and the design axes (duration x SNR, qwen_vad.conditions)."""
    return ["label", *(axis.column for axis in core_axes())]


def degradation_columns() -> list[str]:
    """Shown beside each failure when the dataset has them (reverb, filter, ...)."""
    return [axis.column for axis in degradation_axes()]


def worst_failures(predictions: pd.DataFrame, per_cell: int) -> pd.DataFrame:
    """Wrong answers ranked by the confidence of the chosen class (UNKNOWN answers rank last)."""
    wrong = predictions[predictions["pred"] != predictions["label"]].copy()
    chosen_speech = wrong["pred"] == "SPEECH"
    wrong["confidence"] = np.where(chosen_speech, wrong["p_speech"], 1 - wrong["p_speech"])
    wrong.loc[~wrong["pred"].isin(["SPEECH", "NONSPEECH"]), "confidence"] = 0.0
    cells = [c for c in cell_columns() if c in wrong.columns]
    ranked = wrong.sort_values("confidence", ascending=False, kind="stable")
    return ranked.groupby(cells, sort=True, dropna=False).head(per_cell).sort_values([*cells, "confidence"], ascending=[True] * len(cells) + [False])


def write_failures(inputs: ReportInputs, out_dir: Path, per_cell: int, split: str) -> pd.DataFrame:
    """One table for all systems, the audio copied to ``out_dir/audio/<system>/``."""
    tables = []
    for name, run in sorted(inputs.runs.items()):
        predictions = pd.read_parquet(run.predictions_path)
        failures = worst_failures(predictions[predictions["split"] == split], per_cell)
        dataset = from_repo(run.config.paths.data_dir) / run.config.data.name
        manifest_paths = pd.read_parquet(dataset / "manifest.parquet", columns=["clip_id", "path"]).set_index("clip_id")["path"]
        copies = []
        for clip_id in failures["clip_id"]:
            source = dataset / manifest_paths[clip_id]
            target = out_dir / "audio" / name / f"{clip_id}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_file():
                shutil.copy2(source, target)
                copies.append(str(target.relative_to(out_dir.parent)))
            else:
                copies.append("missing")
        conditions = [c for c in [*cell_columns(), *degradation_columns()] if c in failures.columns]
        columns = ["clip_id", *conditions, "category", "pred", "p_speech", "threshold", "confidence"]
        tables.append(failures[columns].assign(system=name, audio=copies))
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["system", *[c for c in table.columns if c != "system"]]]
