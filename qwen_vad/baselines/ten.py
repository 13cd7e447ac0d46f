"""TEN VAD (``ten-vad``, a small frame-level neural VAD; needs Debian's libc++1)."""

from __future__ import annotations

import numpy as np

from qwen_vad.baselines.frame_scorer import FrameVADScorer
from qwen_vad.baselines.webrtc import to_pcm16
from qwen_vad.config import Config


def ten_vad_probabilities(audio: np.ndarray, hop: int = 256) -> np.ndarray:
    """Per-frame speech probabilities; a fresh detector per clip, so no state leaks between
    clips. The last partial frame is zero-padded."""
    from ten_vad import TenVad  # imported here: it loads a shared library

    vad = TenVad(hop_size=hop, threshold=0.5)
    pcm = to_pcm16(audio)
    n_frames = max(1, -(-pcm.size // hop))
    pcm = np.pad(pcm, (0, n_frames * hop - pcm.size))
    return np.array([vad.process(pcm[i * hop : (i + 1) * hop])[0] for i in range(n_frames)], dtype=float)


def ten_vad_scorer(cfg: Config) -> FrameVADScorer:
    """``evaluate.system=ten_vad``: the clip's highest frame probability (baselines.ten_vad_hop)."""
    hop = cfg.baselines.ten_vad_hop
    return FrameVADScorer("ten-vad", lambda audio: float(np.max(ten_vad_probabilities(audio, hop))))
