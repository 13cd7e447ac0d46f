"""The score a prompt gets during the search: ``BA_clip + lambda * BA_conditions``.

Predictions are the constrained A/B answer itself (SPEECH when p_speech >= 0.5): the search
compares prompts, and a threshold tuned per prompt would reward prompts for being easy to
re-threshold rather than for the answers they produce. The dev-learned threshold of the
evaluation protocol is applied once, to the final prompt.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qwen_vad.analysis.breakdowns import balanced_accuracy_over_cells, breakdown_by_cell
from qwen_vad.analysis.frame import default_cell_columns
from qwen_vad.analysis.metrics import rates_from_counts, outcome_counts
from qwen_vad.scoring.thresholds import apply_threshold

ANSWER_THRESHOLD = 0.5  # p(speech letter) >= p(nonspeech letter)


def prediction_frame(clips: pd.DataFrame, p_speech: np.ndarray) -> pd.DataFrame:
    """The clips' manifest rows with the constrained answer as ``pred``."""
    frame = clips.reset_index(drop=True).copy()
    frame["p_speech"] = np.asarray(p_speech, dtype=float)
    frame["pred"] = apply_threshold(frame["p_speech"], ANSWER_THRESHOLD)
    return frame


def balanced_accuracy(frame: pd.DataFrame) -> float:
    return float(rates_from_counts(outcome_counts(frame))["balanced_accuracy"])


def conditions_balanced_accuracy(frame: pd.DataFrame) -> float:
    """BA_conditions: the mean balanced accuracy over the factorial cells holding both classes."""
    columns = default_cell_columns(frame)
    return float(balanced_accuracy_over_cells(breakdown_by_cell(frame, columns), columns)["value"])


def reward(clips: pd.DataFrame, p_speech: np.ndarray, conditions_weight: float) -> float:
    """``BA_clip + conditions_weight * BA_conditions``; BA_conditions is skipped when the weight is 0."""
    frame = prediction_frame(clips, p_speech)
    value = balanced_accuracy(frame)
    if conditions_weight:
        by_conditions = conditions_balanced_accuracy(frame)
        if math.isnan(by_conditions):
            raise ValueError(
                "opro.reward_lambda > 0 needs factorial cells holding both classes in the scoring subset; "
                "none does (raise opro.train_subset_size)"
            )
        value += conditions_weight * by_conditions
    return value


def reward_scale(conditions_weight: float) -> float:
    """The largest reward, to show scores to the optimizer on a 0-100 scale."""
    return 1.0 + conditions_weight
