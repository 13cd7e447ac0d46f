"""The dataset manifest (design.md section 2): one row per clip, parquet + csv.

Its condition columns are the condition axes' (qwen_vad.conditions), between the clip's
category and its base clip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qwen_vad.conditions import axes, axis_columns
from qwen_vad.errors import BadInputError, MissingInputError

IDENTITY_COLUMNS = ("clip_id", "path", "split", "label", "category")
PROVENANCE_COLUMNS = ("base_clip_id", "source", "group", "origin", "webrtc_activity", "silero_activity")

MANIFEST_PARQUET = "manifest.parquet"
MANIFEST_CSV = "manifest.csv"


def manifest_columns() -> tuple[str, ...]:
    return (*IDENTITY_COLUMNS, *axis_columns(), *PROVENANCE_COLUMNS)


def write_manifest(rows: list[dict], dataset_dir: Path) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(manifest_columns()))
    frame = frame.astype({axis.column: axis.dtype for axis in axes() if axis.dtype})
    frame.to_parquet(dataset_dir / MANIFEST_PARQUET, index=False)
    frame.to_csv(dataset_dir / MANIFEST_CSV, index=False)
    return frame


def read_manifest(dataset_dir: str | Path) -> pd.DataFrame:
    path = Path(dataset_dir) / MANIFEST_PARQUET
    if not path.is_file():
        raise MissingInputError(f"{path}: no manifest; build the dataset with `python -m qwen_vad.data exp=...`")
    frame = pd.read_parquet(path)
    missing = [c for c in manifest_columns() if c not in frame.columns]
    if missing:
        raise BadInputError(f"{path}: manifest lacks columns {missing}; rebuild the dataset (force=true)")
    return frame
