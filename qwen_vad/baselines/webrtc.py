"""WebRTC VAD (``webrtcvad-wheels``): the share of frames it calls voiced."""

from __future__ import annotations

import numpy as np
import webrtcvad

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.baselines.frame_scorer import FrameVADScorer
from qwen_vad.config import Config
from qwen_vad.errors import ConfigError

VALID_FRAME_MS = (10, 20, 30)  # the only frame lengths the WebRTC VAD accepts


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def webrtc_frame_decisions(audio: np.ndarray, mode: int = 3, frame_ms: int = 30) -> np.ndarray:
    """One boolean per frame. The last partial frame (and a clip shorter than one frame) is
    zero-padded rather than dropped, so even a 20 ms clip gets a decision."""
    if mode not in (0, 1, 2, 3):
        raise ConfigError(f"WebRTC VAD mode (data.hygiene.webrtc_mode, baselines.webrtc_mode) must be 0-3, got {mode}")
    if frame_ms not in VALID_FRAME_MS:
        raise ConfigError(
            f"WebRTC VAD frames (data.hygiene.webrtc_frame_ms, baselines.webrtc_frame_ms) must be one of "
            f"{VALID_FRAME_MS} ms, got {frame_ms}"
        )
    vad = webrtcvad.Vad(mode)
    frame = SAMPLE_RATE * frame_ms // 1000
    pcm = to_pcm16(audio)
    n_frames = max(1, -(-pcm.size // frame))
    pcm = np.pad(pcm, (0, n_frames * frame - pcm.size))
    return np.array([vad.is_speech(pcm[i * frame : (i + 1) * frame].tobytes(), SAMPLE_RATE) for i in range(n_frames)])


def webrtc_activity(audio: np.ndarray, mode: int = 3, frame_ms: int = 30) -> float:
    """Share of voiced frames, 0..1."""
    return float(np.mean(webrtc_frame_decisions(audio, mode, frame_ms)))


def webrtc_scorer(cfg: Config) -> FrameVADScorer:
    """``evaluate.system=webrtc``: the share of voiced frames (baselines.webrtc_mode / _frame_ms)."""
    mode, frame_ms = cfg.baselines.webrtc_mode, cfg.baselines.webrtc_frame_ms
    return FrameVADScorer(f"webrtc-mode{mode}", lambda audio: webrtc_activity(audio, mode, frame_ms))
