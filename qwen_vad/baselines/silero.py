"""Silero VAD (the ``silero-vad`` package ships its model): per-window speech probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from qwen_vad.audio.io import SAMPLE_RATE

WINDOW = 512  # samples per window at 16 kHz: what the Silero v5+ model expects
SPEECH_PROBABILITY = 0.5  # Silero's own default decision threshold


class SileroVAD:
    """Scores clips in batches: each row keeps its own recurrent state, reset for every batch,
    so a clip is never influenced by the clip before it. A clip shorter than one window is
    zero-padded (never rejected), and no minimum-speech-duration filter is applied."""

    def __init__(self, batch_size: int = 64) -> None:
        from silero_vad import load_silero_vad  # imported here: loading the model costs ~0.3 s

        self.model = load_silero_vad(onnx=False)
        self.batch_size = batch_size

    @torch.no_grad()
    def window_probabilities(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per-window speech probabilities of every clip (ceil(len / 512) windows each)."""
        n_windows = [max(1, -(-clip.size // WINDOW)) for clip in clips]
        results: list[np.ndarray] = [np.empty(0)] * len(clips)
        # Batches of similar length waste little padding.
        order = sorted(range(len(clips)), key=lambda i: n_windows[i])
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            longest = max(n_windows[i] for i in rows)
            batch = np.zeros((len(rows), longest * WINDOW), dtype=np.float32)
            for r, i in enumerate(rows):
                batch[r, : clips[i].size] = clips[i]
            tensor = torch.from_numpy(batch)
            self.model.reset_states()
            probs = torch.cat(
                [self.model(tensor[:, w * WINDOW : (w + 1) * WINDOW], SAMPLE_RATE) for w in range(longest)], dim=1
            ).numpy()
            for r, i in enumerate(rows):
                results[i] = probs[r, : n_windows[i]].astype(np.float64)
        return results

    def activity(self, clips: Sequence[np.ndarray], threshold: float = SPEECH_PROBABILITY) -> list[float]:
        """Share of windows whose speech probability exceeds ``threshold``, per clip."""
        return [float(np.mean(p > threshold)) for p in self.window_probabilities(clips)]
