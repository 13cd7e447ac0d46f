"""What every source yields: clean segments with their label, category and leakage group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qwen_vad import LABELS


@dataclass(frozen=True)
class Segment:
    """A clean stretch of audio that clips are cut from.

    ``group`` is the leakage unit (speaker for speech corpora, recording for sound corpora):
    every clip cut from segments of one group lands in the same split. ``origin`` names the
    original file and offset, e.g. ``"audio/1-100032-A-0.wav@0.000s"``, so the leakage audit
    can also check that no file is shared between splits.
    """

    audio: np.ndarray  # float32, mono, 16 kHz
    label: str  # SPEECH / NONSPEECH
    category: str  # speech, music, animals, noise, environment, human_nonspeech, ...
    source: str  # source corpus name, e.g. "esc50", "synthetic"
    group: str
    origin: str

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"segment from {self.origin}: label must be one of {LABELS}, got {self.label!r}")
        if self.audio.ndim != 1 or self.audio.size == 0:
            raise ValueError(f"segment from {self.origin}: audio must be a non-empty 1-D array")


def origin_file(origin: str) -> str:
    """The file part of an origin string (``'a/b.wav@1.500s'`` -> ``'a/b.wav'``)."""
    return origin.rsplit("@", 1)[0]
