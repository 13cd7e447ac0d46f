"""Score clips with any scorer: batched audio loading, warm-up, per-clip latency, corrupt files
skipped and reported."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.audio.io import AudioError, load_audio
from qwen_vad.progress import progress
from qwen_vad.scoring.base import Scorer
from qwen_vad.scoring.latency import STAGES

log = logging.getLogger(__name__)


@dataclass
class ScoredClips:
    rows: pd.DataFrame  # manifest rows + p_speech (+ answer, answer_label, answer_rule) + <stage>_ms + latency_ms
    skipped: list[dict] = field(default_factory=list)  # clip_id, path, error


def score_clips(scorer: Scorer, clips: pd.DataFrame, dataset_dir: Path, warmup_batches: int = 1, desc: str = "score") -> ScoredClips:
    scored, skipped = [], []
    batches = [clips.iloc[i : i + scorer.batch_size] for i in range(0, len(clips), scorer.batch_size)]
    warmed = False
    with progress(len(clips), desc) as bar:
        for batch in batches:
            audio, load_seconds, kept = [], [], []
            for row in batch.itertuples(index=False):
                start = time.perf_counter()
                try:
                    audio.append(load_audio(dataset_dir / row.path))
                except AudioError as err:
                    skipped.append({"clip_id": row.clip_id, "path": row.path, "error": str(err)})
                    log.warning("skipping clip %s: %s", row.clip_id, err)
                    continue
                load_seconds.append(time.perf_counter() - start)
                kept.append(row._asdict())
            bar.update(len(batch))
            if not audio:
                continue
            if not warmed:
                # One-off costs (lazy init, allocator growth, kernel selection) stay out of latency.
                for _ in range(warmup_batches):
                    scorer.score(audio)
                warmed = True
            result = scorer.score(audio)
            frame = pd.DataFrame(kept)
            frame["p_speech"] = result.p_speech
            if result.labels is not None:
                frame["answer"], frame["answer_label"] = result.answers, result.labels
                frame["answer_rule"] = result.answer_rules
            if result.audio_tokens is not None:
                frame["audio_tokens"], frame["expected_audio_tokens"] = result.audio_tokens, result.expected_audio_tokens
            frame["audio_loading_ms"] = np.array(load_seconds) * 1000
            for stage in STAGES[1:]:
                frame[f"{stage}_ms"] = result.seconds.get(stage, 0.0) * 1000 / len(audio)
            frame["latency_ms"] = frame[[f"{s}_ms" for s in STAGES]].sum(axis=1)
            scored.append(frame)
    if skipped:
        log.warning("%d of %d clips skipped (unreadable audio)", len(skipped), len(clips))
    rows = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame(columns=[*clips.columns, "p_speech"])
    return ScoredClips(rows=rows, skipped=skipped)
