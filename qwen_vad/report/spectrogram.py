"""Small spectrogram images of the failure clips, for the report's gallery.

Pixels only (no axes): one image per clip, low frequencies at the bottom, the same analysis and
dynamic range as the degradation-examples figure. Written with ``imsave`` rather than a
matplotlib figure, since a report can hold hundreds of failures.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd

from qwen_vad.audio.io import AudioError, load_audio
from qwen_vad.report.figures.conditions import DYNAMIC_RANGE_DB, power_db

AUDIO_FOLDER = Path("failures") / "audio"  # where report.failures copies the clips
FOLDER = Path("failures") / "spectrograms"
MISSING = "missing"


def write_spectrogram(audio: np.ndarray, path: Path) -> None:
    _, _, power = power_db(audio)
    top = float(power.max())
    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, power, cmap="magma", vmin=top - DYNAMIC_RANGE_DB, vmax=top, origin="lower")


def write_spectrograms(failures: pd.DataFrame, report_dir: Path) -> list[str]:
    """One PNG per failure, drawn from its audio copy ``failures/audio/<system>/<clip>.wav``
    into ``failures/spectrograms/<system>/<clip>.png``; the paths relative to ``report_dir``
    in the table's order ("missing" where the audio is)."""
    return [_draw(report_dir, audio) for audio in failures["audio"]]


def _draw(report_dir: Path, audio: str) -> str:
    if audio == MISSING:
        return MISSING
    try:
        samples = load_audio(report_dir / audio)
    except AudioError:
        return MISSING
    relative = FOLDER / Path(audio).relative_to(AUDIO_FOLDER).with_suffix(".png")
    write_spectrogram(samples, report_dir / relative)
    return relative.as_posix()
