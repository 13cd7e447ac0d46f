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
FILTER_WORDS = {"bandpass": "band-pass filtered", "lowpass": "low-pass filtered", "highpass": "high-pass filtered"}


def describe_clip(clip: pd.Series) -> str:
    """One clip's condition in words, e.g. "a 200 ms clip at -5 dB SNR of animal sounds"."""
    snr = float(clip["snr_db"])
    level = "clean (no added noise)" if math.isinf(snr) else f"at {snr:g} dB SNR"
    category = str(clip["category"])
    parts = [f"a {int(clip['duration_ms'])} ms clip {level} of {CATEGORY_WORDS.get(category, category.replace('_', ' '))}"]
    if float(clip.get("reverb_rt60_s", 0.0) or 0.0) > 0:
        parts.append(f"with reverberation (RT60 {float(clip['reverb_rt60_s']):g} s)")
    if str(clip.get("filter", "none")) in FILTER_WORDS:
        parts.append(FILTER_WORDS[str(clip["filter"])])
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
