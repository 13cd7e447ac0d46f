"""VAD hygiene: measure speech activity on clean clips and decide which to keep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qwen_vad import LABELS, SPEECH
from qwen_vad.audio.mix import peak_normalise
from qwen_vad.baselines.silero import SileroVAD
from qwen_vad.baselines.webrtc import webrtc_activity
from qwen_vad.config import HygieneConfig
from qwen_vad.errors import ConfigError


@dataclass(frozen=True)
class Activity:
    webrtc: float
    silero: float


class HygieneChecker:
    def __init__(self, cfg: HygieneConfig, peak_dbfs: float) -> None:
        self.cfg = cfg
        self.peak_dbfs = peak_dbfs
        self.silero = SileroVAD() if cfg.silero else None
        for label in LABELS:  # a misspelled VAD fails before any audio is read
            self.vads_for(label)

    def measure(self, clean_clips: Sequence[np.ndarray]) -> list[Activity]:
        # WebRTC's decisions depend on the absolute level (measured: white noise at -20 dBFS RMS
        # is 100 % "speech" in mode 3, at -40 dBFS almost none), so clips are judged at the
        # peak level they are written at.
        clips = [peak_normalise(clip, self.peak_dbfs) for clip in clean_clips]
        webrtc = [webrtc_activity(c, self.cfg.webrtc_mode, self.cfg.webrtc_frame_ms) for c in clips]
        silero = self.silero.activity(clips) if self.silero else [float("nan")] * len(clips)
        return [Activity(w, s) for w, s in zip(webrtc, silero, strict=True)]

    def rejection(self, label: str, activity: Activity) -> str | None:
        """Why a clip is rejected (e.g. ``"speech_low_silero"``), or None when it is kept."""
        if not self.cfg.enabled:
            return None
        checks = {"webrtc": activity.webrtc}
        if self.silero:
            checks["silero"] = activity.silero
        for vad in self.vads_for(label):
            value = checks[vad]
            if label == SPEECH and value < self.cfg.speech_min_activity:
                return f"speech_low_{vad}"
            if label != SPEECH and value > self.cfg.nonspeech_max_activity:
                return f"nonspeech_high_{vad}"
        return None

    def vads_for(self, label: str) -> list[str]:
        vads = self.cfg.speech_vads if label == SPEECH else self.cfg.nonspeech_vads
        unknown = [v for v in vads if v not in ("webrtc", "silero")]
        if unknown:
            raise ConfigError(f"data.hygiene: unknown VAD(s) {unknown}; valid: webrtc, silero")
        return [v for v in vads if v != "silero" or self.silero]
