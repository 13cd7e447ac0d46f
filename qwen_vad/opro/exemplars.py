"""Example clips for the meta-prompt, described in words from the manifest.

The optimizer cannot hear audio, so an exemplar is a sentence: "a 200 ms clip at -5 dB SNR of
animal sounds -> NONSPEECH". OPRO shows exemplars the current best prompt gets wrong, so the
optimizer sees where the prompt fails; when it gets fewer wrong than asked for, correct clips
fill the rest.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qwen_vad import SPEECH
from qwen_vad.conditions import DURATION_COLUMN, SNR_COLUMN, degradation_axes

# Manifest categories in plain words (unknown categories are shown with spaces for underscores).
CATEGORY_WORDS = {
    "speech": "human speech",
    "music": "music",
    "animals": "animal sounds",
    "noise": "noise",
    "environment": "environmental sounds",
    "human_nonspeech": "non-speech human sounds (laughing, coughing, breathing)",
    "nonspeech_gap": "a pause between words, without speech",
}


def describe_clip(clip: pd.Series) -> str:
    """One clip's condition in words, e.g. "a 200 ms clip at -5 dB SNR of animal sounds", then
    each degradation axis (qwen_vad.conditions) the clip is not at the neutral level of."""
    snr = float(clip[SNR_COLUMN])
    level = "clean (no added noise)" if math.isinf(snr) else f"at {snr:g} dB SNR"
    category = str(clip["category"])
    parts = [f"a {int(clip[DURATION_COLUMN])} ms clip {level} of {CATEGORY_WORDS.get(category, category.replace('_', ' '))}"]
    for axis in degradation_axes():
        value = clip.get(axis.column)
        if not axis.is_neutral(value):
            words = axis.describe(value) if axis.describe else f"{axis.title} {axis.format_level(value)}"
            parts += [words] if words else []
    return ", ".join(parts)


def describe_exemplar(clip: pd.Series, predicted_speech: bool | None) -> str:
    """The clip, its true label and, when known, what the best prompt answered."""
    line = f"{describe_clip(clip)} -> {clip['label']}"
    if predicted_speech is None:
        return line
    answered = "SPEECH" if predicted_speech else "NONSPEECH"
    verdict = "wrong" if answered != clip["label"] else "right"
    return f"{line} (the best prompt so far answered {answered}: {verdict})"


def pick_exemplars(
    clips: pd.DataFrame, predicted_speech: np.ndarray | None, count: int, rng: np.random.Generator
) -> list[str]:
    """``count`` described clips, the misclassified ones first (all random without predictions)."""
    if count <= 0 or clips.empty:
        return []
    order = rng.permutation(len(clips))
    if predicted_speech is not None:
        wrong = predicted_speech != (clips["label"].to_numpy() == SPEECH)
        # A stable sort on "right" keeps the random order within the wrong and the right clips.
        order = order[np.argsort(~wrong[order], kind="stable")]
    chosen = order[:count]
    return [
        describe_exemplar(clips.iloc[i], None if predicted_speech is None else bool(predicted_speech[i]))
        for i in chosen
    ]
