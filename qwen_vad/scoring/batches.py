"""Score clips with any scorer: length-grouped batches, audio read (and inputs built) ahead of the
model, warm-up, per-clip latency, corrupt files skipped and reported, and with
``data_parallel=True`` the batches shared out among the processes of a multi-process launch.

Rows come back in the order of ``clips`` whatever the batching, with ``rank`` (the process that
scored the clip, 0 in a single process) and the per-stage latency of each clip: its batch's
stage seconds shared equally among the batch's clips, plus its own loading time. Stages a
loader worker ran (loading, feature extraction) count in the latency as they do inline: latency
is what each stage costs, throughput (``ScoredClips.timing``) what the loop achieved. The loop's
own timing per rank says how long the model waited for its next batch (``input_wait_s``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.distributed import gather_from_all, is_main_process, process_rank
from qwen_vad.progress import progress
from qwen_vad.scoring.base import BatchScores, Scorer
from qwen_vad.scoring.latency import STAGES
from qwen_vad.scoring.loading import BatchReader, LoadedBatch, input_preparer, read_batches, runs_on_gpu
from qwen_vad.scoring.sharding import clip_lengths, length_grouped_batches, this_ranks_batches

log = logging.getLogger(__name__)

RANK_COLUMN = "rank"
POSITION = "_position"  # a row's place in the clips scored, while the batches are out of order


@dataclass
class ScoredClips:
    rows: pd.DataFrame  # manifest rows + p_speech (+ answer, answer_label, answer_rule) + rank + <stage>_ms + latency_ms
    skipped: list[dict] = field(default_factory=list)  # clip_id, path, error
    timing: list[dict] = field(default_factory=list)  # the loop's timing, one entry per rank (LoopTiming)


@dataclass
class LoopTiming:
    """Where one process's scoring loop spent its wall time."""

    rank: int
    input_workers: int  # 0: read inline
    batches: int = 0
    clips: int = 0
    wall_s: float = 0.0  # the whole loop, warm-up included
    warmup_s: float = 0.0  # the untimed warm-up passes
    input_wait_s: float = 0.0  # blocked on the next batch (inline: reading and preparing it)
    scoring_s: float = 0.0  # in the scorer's model step (score / score_prepared), warm-up excluded
    forward_s: float = 0.0  # the forward-pass part of it, as the scorer reports it

    def as_dict(self) -> dict:
        rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}
        busy = self.wall_s - self.warmup_s
        return {**rounded, "input_wait_share": round(self.input_wait_s / busy, 4) if busy > 0 else None}


def score_clips(
    scorer: Scorer,
    clips: pd.DataFrame,
    dataset_dir: Path,
    warmup_batches: int = 1,
    desc: str = "score",
    num_workers: int = 0,
    data_parallel: bool = False,
) -> ScoredClips:
    """Score ``clips`` (manifest rows: clip_id, path, ...) from the files under ``dataset_dir``.

    ``num_workers`` > 0 reads and prepares batches in that many DataLoader workers for a scorer
    that can prepare its inputs apart from its model (qwen_vad.scoring.loading); other scorers
    read inline. ``data_parallel`` shares the batches out among the launch's processes and
    gathers every rank's rows on every rank; in one process it changes nothing.
    """
    clips = clips.reset_index(drop=True)
    batches = length_grouped_batches(clip_lengths(clips["path"].tolist(), dataset_dir), scorer.batch_size)
    if data_parallel:
        batches = this_ranks_batches(batches)
    prepare = input_preparer(scorer)
    workers = num_workers if prepare is not None else 0
    reader = BatchReader(clips, dataset_dir, batches, prepare)
    timing = LoopTiming(rank=process_rank(), input_workers=workers)
    frames, skipped = [], []
    warm = warmup_batches <= 0
    started = time.perf_counter()
    with progress(sum(len(b) for b in batches), desc, visible=is_main_process()) as bar:
        for batch in waited_for(read_batches(reader, workers, pin_memory=runs_on_gpu(scorer)), timing):
            for clip in batch.skipped:
                log.warning("skipping clip %s: %s", clip["clip_id"], clip["error"])
            skipped += batch.skipped
            bar.update(len(batch.positions) + len(batch.skipped))
            if not len(batch.positions):
                continue
            if not warm:
                # One-off costs (lazy init, allocator growth, kernel selection) stay out of latency.
                warm_start = time.perf_counter()
                for _ in range(warmup_batches):
                    model_step(scorer, batch)
                timing.warmup_s, warm = time.perf_counter() - warm_start, True
            step_start = time.perf_counter()
            result = model_step(scorer, batch)
            timing.scoring_s += time.perf_counter() - step_start
            timing.forward_s += result.seconds.get("forward", 0.0)
            timing.batches, timing.clips = timing.batches + 1, timing.clips + len(batch.positions)
            frames.append(scored_frame(clips, batch, result))
    timing.wall_s = time.perf_counter() - started
    local = ScoredClips(pd.concat(frames, ignore_index=True) if frames else None, skipped, [timing.as_dict()])
    scored = gathered(local) if data_parallel else local
    scored = in_clip_order(scored, clips)
    if scored.skipped:
        log.warning("%d of %d clips skipped (unreadable audio)", len(scored.skipped), len(clips))
    return scored


def waited_for(batches: Iterator[LoadedBatch], timing: LoopTiming) -> Iterator[LoadedBatch]:
    """The batches, with the time spent waiting for each added to ``timing.input_wait_s``."""
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        timing.input_wait_s += time.perf_counter() - start
        if batch is None:
            return
        yield batch


def model_step(scorer: Scorer, batch: LoadedBatch) -> BatchScores:
    return scorer.score(batch.audio) if batch.prepared is None else scorer.score_prepared(batch.prepared)


def scored_frame(clips: pd.DataFrame, batch: LoadedBatch, result: BatchScores) -> pd.DataFrame:
    frame = clips.iloc[batch.positions].reset_index(drop=True)
    frame["p_speech"] = result.p_speech
    if result.labels is not None:
        frame["answer"], frame["answer_label"] = result.answers, result.labels
        frame["answer_rule"] = result.answer_rules
    if result.audio_tokens is not None:
        frame["audio_tokens"], frame["expected_audio_tokens"] = result.audio_tokens, result.expected_audio_tokens
    frame[RANK_COLUMN] = process_rank()
    frame["audio_loading_ms"] = np.array(batch.load_seconds) * 1000
    for stage in STAGES[1:]:
        frame[f"{stage}_ms"] = result.seconds.get(stage, 0.0) * 1000 / len(batch.positions)
    frame["latency_ms"] = frame[[f"{s}_ms" for s in STAGES]].sum(axis=1)
    frame[POSITION] = batch.positions
    return frame


def gathered(local: ScoredClips) -> ScoredClips:
    """Every rank's rows, skipped clips and timing, on every rank."""
    parts = gather_from_all(local)
    frames = [p.rows for p in parts if p.rows is not None and len(p.rows)]
    return ScoredClips(
        pd.concat(frames, ignore_index=True) if frames else None,
        [clip for p in parts for clip in p.skipped],
        [entry for p in parts for entry in p.timing],
    )


def in_clip_order(scored: ScoredClips, clips: pd.DataFrame) -> ScoredClips:
    """Rows and skipped clips back in the order of ``clips``, without the loop's bookkeeping."""
    if scored.rows is None:
        rows = pd.DataFrame(columns=[*clips.columns, "p_speech", RANK_COLUMN])
    else:
        rows = scored.rows.sort_values(POSITION, kind="stable").drop(columns=POSITION).reset_index(drop=True)
    skipped = [{k: v for k, v in clip.items() if k != "position"} for clip in sorted(scored.skipped, key=lambda c: c["position"])]
    return ScoredClips(rows, skipped, scored.timing)
