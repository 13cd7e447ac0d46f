"""The predictions frame of design.md section 3, from scored clips."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.data.manifest import manifest_columns
from qwen_vad.scoring.base import Scorer
from qwen_vad.scoring.thresholds import apply_threshold

# Manifest columns that do not travel into predictions (where the file is, how hygiene saw it).
NOT_IN_PREDICTIONS = ("path", "webrtc_activity", "silero_activity")
PREDICTION_HEAD = ("clip_id", "split", "label", "p_speech", "pred", "threshold", "system", "prompt_id")
# What kind of system wrote the predictions (qwen_vad.scoring.systems: llm | vad), so no reader
# has to guess it from the prompt id.
SYSTEM_KIND_COLUMN = "system_kind"


def predictions_frame(rows: pd.DataFrame, scorer: Scorer, threshold: float | None) -> pd.DataFrame:
    """design.md section 3: clip_id, split, label, p_speech, pred, threshold, system, prompt_id,
    every condition column of the manifest, latency_ms (+ per-stage latency, + raw answers)."""
    frame = rows.drop(columns=[c for c in NOT_IN_PREDICTIONS if c in rows.columns])
    if scorer.gives_labels:
        frame["pred"], frame["threshold"] = frame["answer_label"], np.nan
    else:
        frame["pred"], frame["threshold"] = apply_threshold(frame["p_speech"], threshold), threshold
    frame["system"], frame["prompt_id"] = scorer.system, scorer.prompt_id
    head = list(PREDICTION_HEAD)
    conditions = [c for c in manifest_columns() if c in frame.columns and c not in head]
    return frame[head + conditions + [c for c in frame.columns if c not in head and c not in conditions]]


def with_system_kind(predictions: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The frame with ``system_kind`` right after the head (what a scoring run writes)."""
    frame = predictions.drop(columns=[SYSTEM_KIND_COLUMN], errors="ignore")
    frame.insert(len(PREDICTION_HEAD), SYSTEM_KIND_COLUMN, kind)
    return frame


def is_speech_label(labels: pd.Series) -> np.ndarray:
    unknown = set(labels) - {SPEECH, NONSPEECH}
    if unknown:
        raise ValueError(f"unexpected labels {sorted(unknown)}")
    return (labels == SPEECH).to_numpy()
