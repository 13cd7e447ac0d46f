"""The dataset manifest (design.md section 2): one row per clip, parquet + csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qwen_vad.errors import BadInputError, MissingInputError

MANIFEST_COLUMNS = (
    "clip_id", "path", "split", "label", "category", "duration_ms", "snr_db", "reverb_rt60_s",
    "filter", "base_clip_id", "source", "group", "origin", "webrtc_activity", "silero_activity",
)  # fmt: skip
# Columns that describe the condition of a clip; predictions carry them for the analyses.
CONDITION_COLUMNS = ("category", "duration_ms", "snr_db", "reverb_rt60_s", "filter", "base_clip_id")

MANIFEST_PARQUET = "manifest.parquet"
MANIFEST_CSV = "manifest.csv"


def write_manifest(rows: list[dict], dataset_dir: Path) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    frame = frame.astype({"duration_ms": "int64", "snr_db": "float64", "reverb_rt60_s": "float64"})
    frame.to_parquet(dataset_dir / MANIFEST_PARQUET, index=False)
    frame.to_csv(dataset_dir / MANIFEST_CSV, index=False)
    return frame


def read_manifest(dataset_dir: str | Path) -> pd.DataFrame:
    path = Path(dataset_dir) / MANIFEST_PARQUET
    if not path.is_file():
        raise MissingInputError(f"{path}: no manifest; build the dataset with `python -m qwen_vad.data exp=...`")
    frame = pd.read_parquet(path)
    missing = [c for c in MANIFEST_COLUMNS if c not in frame.columns]
    if missing:
        raise BadInputError(f"{path}: manifest lacks columns {missing}; rebuild the dataset (force=true)")
    return frame
