"""Load any format soundfile reads as 16 kHz mono float32; write 16 kHz wav files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy.io import wavfile

# Qwen2-Audio's feature extractor, WebRTC VAD and Silero VAD all work at 16 kHz.
SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """Unusable audio; the message always names the file. ``reason`` says what is wrong in a
    few words, the same for every file with this problem, so skipped files can be counted."""

    def __init__(self, message: str, reason: str = "unusable audio") -> None:
        super().__init__(message)
        self.reason = reason


def to_mono_16k(audio: np.ndarray, sample_rate: int, name: str = "<array>") -> np.ndarray:
    """Down-mix (channels last, as soundfile returns them) and resample to 16 kHz float32."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if audio.ndim != 1:
        raise AudioError(
            f"{name}: expected mono or (frames, channels) audio, got shape {audio.shape}", "unexpected array shape"
        )
    if audio.size == 0:
        raise AudioError(f"{name}: audio is empty", "empty audio")
    if not np.all(np.isfinite(audio)):
        raise AudioError(f"{name}: audio contains NaN or inf samples", "NaN or inf samples")
    if not np.any(audio):
        raise AudioError(f"{name}: audio is all zeros", "all-zero audio")
    if sample_rate != SAMPLE_RATE:
        # 'VHQ' keeps the pass band flat up to ~0.9 Nyquist; clips are short, so the cost is small.
        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="VHQ")
    return audio.astype(np.float32)


def load_audio(path: str | Path) -> np.ndarray:
    """Read ``path`` (wav/flac/ogg/...) and return 16 kHz mono float32 samples.

    Raises AudioError naming the file when it is missing, unreadable, empty, all-zero or
    holds NaN/inf samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file", "missing file")
    try:
        audio, sample_rate = sf.read(str(path), dtype="float64", always_2d=False)
    except Exception as err:  # soundfile raises several types (LibsndfileError, RuntimeError, ...)
        raise AudioError(f"{path}: unreadable audio ({err})", "unreadable audio") from err
    return to_mono_16k(audio, sample_rate, name=str(path))


def save_audio(path: str | Path, audio: np.ndarray) -> None:
    """Write 16 kHz mono float32 samples as a 32-bit float wav (lossless round trip).

    scipy rather than soundfile: libsndfile adds a PEAK chunk with a wall-clock timestamp to
    float wavs, so the same audio written a second later would not be the same bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, SAMPLE_RATE, np.asarray(audio, dtype=np.float32))
