"""Thin wrapper around the espeak-ng binary: availability checks, synthesis, silence trimming."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess

import numpy as np
import soundfile as sf

from qwen_vad.audio.io import SAMPLE_RATE, to_mono_16k

ESPEAK_BINARY = "espeak-ng"


class EspeakNotFoundError(RuntimeError):
    """espeak-ng (or one of the voices the synthetic source needs) is not installed."""


def espeak_path() -> str:
    """Absolute path of espeak-ng on the current PATH (looked up on every call, never cached)."""
    path = shutil.which(ESPEAK_BINARY)
    if path is None:
        raise EspeakNotFoundError(
            f"the synthetic speech source needs the `{ESPEAK_BINARY}` binary, which is not on PATH; "
            f"install it with `apt-get install espeak-ng` (or `brew install espeak-ng` on macOS)"
        )
    return path


def _run(args: list[str]) -> bytes:
    result = subprocess.run([espeak_path(), *args], capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{ESPEAK_BINARY} {' '.join(args)} failed ({result.returncode}): {message}")
    return result.stdout


@functools.lru_cache(maxsize=1)
def installed_variants() -> frozenset[str]:
    """Names usable after '+' in a voice (m1, f3, klatt2, ...), from `espeak-ng --voices=variant`."""
    listing = _run(["--voices=variant"]).decode(errors="replace").splitlines()[1:]
    # Columns: Pty Language Age/Gender VoiceName File ...; the file column reads "!v/<name>".
    return frozenset(line.split()[4].split("/", 1)[1] for line in listing if len(line.split()) >= 5)


@functools.lru_cache(maxsize=1)
def installed_languages() -> frozenset[str]:
    """Language codes usable with `-v` (en-us, de, fr-fr, ...), from `espeak-ng --voices`."""
    listing = _run(["--voices"]).decode(errors="replace").splitlines()[1:]
    return frozenset(line.split()[1] for line in listing if len(line.split()) >= 2)


def synthesize(text: str, voice: str, words_per_minute: int, pitch: int) -> np.ndarray:
    """Speak ``text`` and return it as 16 kHz mono float32.

    espeak-ng silently falls back to its default voice for an unknown variant, so callers
    validate voices against ``installed_languages``/``installed_variants`` first.
    """
    wav = _run(["-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "--stdout", text])
    # espeak writes a streaming header (data size 0x7fffffff); soundfile reads up to the real end.
    audio, sample_rate = sf.read(io.BytesIO(wav), dtype="float64", always_2d=False)
    return to_mono_16k(audio, sample_rate, name=f"espeak-ng {voice}: {text[:40]!r}")


def trim_silence(audio: np.ndarray, threshold_db: float = -35.0, frame_ms: int = 10) -> np.ndarray:
    """Drop leading/trailing frames quieter than ``threshold_db`` relative to the loudest frame.

    espeak pads utterances with ~100-200 ms of digital silence; trimming it means a centre cut
    lands on voice rather than on that padding.
    """
    frame = SAMPLE_RATE * frame_ms // 1000
    n_frames = audio.size // frame
    if n_frames == 0:
        return audio
    energy = np.mean(audio[: n_frames * frame].reshape(n_frames, frame).astype(np.float64) ** 2, axis=1)
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (threshold_db / 10))
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]
