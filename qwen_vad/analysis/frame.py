"""The predictions frame (design.md section 3) as the analysis sees it.

Checks the columns every analysis needs, and derives the per-row quantities the metrics share:
correctness (an UNKNOWN answer is always wrong, never dropped), the confidence of the chosen
class, the cluster (base clip) each row belongs to, and which condition columns vary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from qwen_vad import LABELS, NONSPEECH, SPEECH
from qwen_vad.conditions import axis_columns

UNKNOWN = "UNKNOWN"  # an answer that could not be parsed as SPEECH or NONSPEECH
PREDICTIONS = (*LABELS, UNKNOWN)

REQUIRED_COLUMNS = ("clip_id", "label", "pred", "p_speech")
# Category is nested in the label (speech is only SPEECH; music, animals... only NONSPEECH), so
# a cell that includes it holds one class and its balanced accuracy degenerates to one recall.
# Factorial cells therefore use the other axes; category still gets its own breakdown.
CELL_EXCLUDED_COLUMNS = ("category",)
SYSTEM_COLUMNS = ("system", "prompt_id")


def validate_predictions(predictions: pd.DataFrame) -> None:
    """Raise ValueError on an empty frame, missing columns or values outside the contract."""
    if len(predictions) == 0:
        raise ValueError("predictions frame is empty: nothing to analyse")
    missing = [c for c in REQUIRED_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions frame lacks columns {missing}; it has {list(predictions.columns)}")
    bad_labels = sorted(set(predictions["label"].astype(str)) - set(LABELS))
    if bad_labels:
        raise ValueError(f"label must be one of {LABELS}; found {bad_labels}")
    bad_preds = sorted(set(predictions["pred"].astype(str)) - set(PREDICTIONS))
    if bad_preds:
        raise ValueError(f"pred must be one of {PREDICTIONS}; found {bad_preds}")
    p = predictions["p_speech"].to_numpy(dtype=float)
    outside = ~np.isnan(p) & ~((p >= 0) & (p <= 1))
    if outside.any():
        raise ValueError(f"p_speech must lie in [0, 1] (NaN allowed); {int(outside.sum())} rows do not")


def require_one_row_per_clip(predictions: pd.DataFrame) -> None:
    """Metrics of one system: several systems or prompts (or a clip scored twice) would mix."""
    for column in SYSTEM_COLUMNS:
        if column in predictions.columns and predictions[column].nunique(dropna=False) > 1:
            values = sorted(map(str, predictions[column].unique()))[:5]
            raise ValueError(f"frame mixes several values of {column!r} ({values}...); analyse each separately")
    duplicated = predictions["clip_id"][predictions["clip_id"].duplicated()]
    if len(duplicated):
        raise ValueError(f"{duplicated.nunique()} clip_ids appear more than once, e.g. {list(duplicated.unique()[:3])}")


def split_by_system(predictions: pd.DataFrame) -> Iterator[tuple[dict[str, str], pd.DataFrame]]:
    """Yield ({system, prompt_id}, rows) for each system/prompt pair in the frame."""
    keys = [c for c in SYSTEM_COLUMNS if c in predictions.columns]
    if not keys:
        yield {}, predictions
        return
    for values, rows in predictions.groupby(keys, sort=True, dropna=False):
        yield dict(zip(keys, map(str, values))), rows


def system_name(key: dict[str, str]) -> str:
    """A stable, readable name for a system/prompt pair ("silero", "qwen2-audio/baseline")."""
    return "/".join(key[c] for c in SYSTEM_COLUMNS if c in key) or "all"


def is_speech(predictions: pd.DataFrame) -> np.ndarray:
    return (predictions["label"] == SPEECH).to_numpy()


def is_correct(predictions: pd.DataFrame) -> np.ndarray:
    """pred == label; UNKNOWN never equals a label, so it always counts as wrong."""
    return (predictions["pred"].astype(str) == predictions["label"].astype(str)).to_numpy()


def chosen_class_confidence(predictions: pd.DataFrame) -> np.ndarray:
    """p of the class the system answered: p_speech for SPEECH, 1 - p_speech for NONSPEECH.

    NaN for UNKNOWN answers (no class was chosen) and for rows without p_speech; callers report
    how many rows this leaves out rather than inventing a confidence for them.
    """
    p = predictions["p_speech"].to_numpy(dtype=float)
    pred = predictions["pred"].astype(str).to_numpy()
    confidence = np.full(len(p), np.nan)
    confidence[pred == SPEECH] = p[pred == SPEECH]
    confidence[pred == NONSPEECH] = 1.0 - p[pred == NONSPEECH]
    return confidence


def cluster_codes(predictions: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's resampling cluster: its base clip (all variants of one clean
    clip are correlated), or the clip itself where base_clip_id is absent or empty."""
    clip = predictions["clip_id"].astype(str)
    if "base_clip_id" in predictions.columns:
        base = predictions["base_clip_id"]
        cluster = base.astype(str).where(base.notna(), "clip:" + clip)
    else:
        cluster = clip
    codes, _ = pd.factorize(cluster, sort=True)
    return codes


def condition_columns() -> list[str]:
    """The condition axes' columns (qwen_vad.conditions) and the sound category."""
    return [*axis_columns(), "category"]


def varying_condition_columns(predictions: pd.DataFrame, candidates: Sequence[str] | None = None) -> list[str]:
    """Condition columns that are present and take more than one value."""
    candidates = condition_columns() if candidates is None else candidates
    return [c for c in candidates if c in predictions.columns and predictions[c].nunique(dropna=False) > 1]


def default_cell_columns(predictions: pd.DataFrame) -> list[str]:
    """The axes of the factorial cell: varying condition columns, category excluded (see above)."""
    return [c for c in varying_condition_columns(predictions) if c not in CELL_EXCLUDED_COLUMNS]
