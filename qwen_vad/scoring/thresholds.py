"""The decision threshold on p_speech, learned on dev (maximum balanced accuracy)."""

from __future__ import annotations

import numpy as np

from qwen_vad.errors import BadInputError
from qwen_vad import NONSPEECH, SPEECH


def learn_threshold(p_speech: np.ndarray, is_speech: np.ndarray) -> dict[str, float]:
    """The threshold t (predict SPEECH when p >= t) with the best balanced accuracy on these
    scores. Candidates are the midpoints between consecutive distinct scores (plus both ends);
    ties go to the candidate nearest 0.5, the threshold of an unbiased two-way choice."""
    p_speech, is_speech = np.asarray(p_speech, float), np.asarray(is_speech, bool)
    if is_speech.all() or not is_speech.any():
        raise BadInputError("learning a threshold needs SPEECH and NONSPEECH clips in the dev split; the dev split holds one class only (check data.splits and the dataset report)")
    values = np.unique(p_speech)
    candidates = np.concatenate([[values[0] - 1e-9], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-9]])
    speech_scores, other_scores = np.sort(p_speech[is_speech]), np.sort(p_speech[~is_speech])
    # Recall of each class at every candidate, by binary search on the sorted scores.
    speech_recall = 1 - np.searchsorted(speech_scores, candidates, side="left") / speech_scores.size
    other_recall = np.searchsorted(other_scores, candidates, side="left") / other_scores.size
    balanced = (speech_recall + other_recall) / 2
    best = np.flatnonzero(np.isclose(balanced, balanced.max(), rtol=0, atol=1e-12))
    choice = best[np.argmin(np.abs(candidates[best] - 0.5))]
    return {"threshold": float(candidates[choice]), "dev_balanced_accuracy": float(balanced[choice])}


def apply_threshold(p_speech: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(np.asarray(p_speech) >= threshold, SPEECH, NONSPEECH)
