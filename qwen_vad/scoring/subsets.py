"""Which clips of a split are scored: all of them, or a seeded label-balanced subset."""

from __future__ import annotations

import pandas as pd


def subset_clips(manifest: pd.DataFrame, split: str, max_clips: int, seed: int) -> pd.DataFrame:
    """The clips of one split; with ``max_clips`` > 0 a seeded subset, half of each label."""
    clips = manifest[manifest["split"] == split]
    if max_clips <= 0 or len(clips) <= max_clips:
        return clips.reset_index(drop=True)
    per_label = max(1, max_clips // 2)
    parts = [
        group.sample(n=min(per_label, len(group)), random_state=seed)
        for _, group in clips.groupby("label", sort=True)
    ]
    return pd.concat(parts).sort_index().reset_index(drop=True)
