"""How long the model waits for its input: the batch loop reading audio and building inputs
inline vs in DataLoader workers (``evaluate.num_workers``), from wav files on disk to scores.

Both paths run ``qwen_vad.scoring.batches.score_clips`` as ``evaluate`` does (length-grouped
batches, one warm-up batch) on the same files, and read its loop timing: the time blocked on the
next batch (inline: reading and featurising it in the loop) against the time in the model step
and in the forward pass, as shares of the loop's wall time after warm-up. A worker process's
start-up is part of its first wait. Used by benchmarks/scoring_speed.py (CPU) and
benchmarks/gpu_run.py (GPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.audio.io import save_audio
from qwen_vad.scoring.base import Scorer
from qwen_vad.scoring.batches import score_clips


def write_clips(folder: Path, clips: list[np.ndarray]) -> pd.DataFrame:
    """The clips as 16 kHz wav files under ``folder``, and the manifest rows the loop reads."""
    rows = []
    for i, clip in enumerate(clips):
        path = f"clip{i:05d}.wav"
        save_audio(folder / path, clip)
        rows.append({"clip_id": f"c{i:05d}", "path": path})
    return pd.DataFrame(rows)


def compare_input_paths(scorer: Scorer, clips: pd.DataFrame, folder: Path, workers: int) -> dict:
    """Inline vs ``workers`` DataLoader workers: clips/s, the share of time waiting for input, and
    the largest p_speech difference between the two (0 up to float rounding: same inputs)."""
    measured, scores = {}, {}
    for name, num_workers in (("inline", 0), ("dataloader", workers)):
        scored = score_clips(scorer, clips, folder, warmup_batches=1, desc=f"input pipeline {name}", num_workers=num_workers)
        loop = scored.timing[0]
        busy = loop["wall_s"] - loop["warmup_s"]
        measured[name] = {
            "num_workers": num_workers,
            "clips": loop["clips"],
            "batches": loop["batches"],
            "clips_per_s": round(loop["clips"] / busy, 2),
            "seconds_after_warmup": round(busy, 3),
            "input_wait_s": loop["input_wait_s"],
            "input_wait_share": loop["input_wait_share"],
            "model_step_share": round(loop["scoring_s"] / busy, 4),
            "forward_share": round(loop["forward_s"] / busy, 4),
        }
        scores[name] = scored.rows["p_speech"].to_numpy()
    return {
        **measured,
        "speedup": round(measured["dataloader"]["clips_per_s"] / measured["inline"]["clips_per_s"], 2),
        "max_abs_p_speech_difference": float(np.max(np.abs(scores["dataloader"] - scores["inline"]))),
    }
