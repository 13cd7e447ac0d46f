"""Which clips share a batch, and which process of a multi-process launch scores which batch.

Batches are grouped by clip length: a batch costs what its longest clip costs (the short-clip
encoder runs on the frames the longest clip needs, and every row is padded to the longest
input), so clips are sorted by length, longest first (a batch too large for the device fails at
the start, not after an hour), ties in manifest order, and cut into batches. The batch loop
puts its outputs back in manifest order. The lengths come from the files' headers, so the plan
is known before any audio is read; a file whose header cannot be read counts as empty and is
reported by the loader when it fails to read it.

Under ``torchrun`` / ``accelerate launch`` the batches, the same for any number of processes,
are dealt out in turn: batch i to rank i mod N. Each batch is exactly the batch one process
would score, which is why N processes give one process's scores; neighbouring batches have
similar lengths, so every rank gets a similar share of the work. The ranks' results are
gathered on every rank (qwen_vad.distributed.gather_from_all), so all of them can take the same
decisions (the threshold, OPRO's next step); rank 0 writes the outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.distributed import gather_from_all, process_rank, world_size

T = TypeVar("T")


def clip_lengths(paths: Sequence[str], folder: Path) -> np.ndarray:
    """Samples each file holds at 16 kHz, from its header; 0 when the header cannot be read."""
    lengths = np.zeros(len(paths), dtype=np.int64)
    for i, path in enumerate(paths):
        try:
            info = sf.info(str(folder / path))
        except Exception:  # noqa: BLE001 - any unreadable file: the loader reports it when it reads it
            continue
        lengths[i] = round(info.frames * SAMPLE_RATE / info.samplerate) if info.samplerate else 0
    return lengths


def length_grouped_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Positions of the clips in each batch: longest clips first, equal lengths in their order."""
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return consecutive_batches(order, batch_size)


def consecutive_batches(positions: Sequence[int] | np.ndarray, batch_size: int) -> list[np.ndarray]:
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    positions = np.asarray(positions, dtype=np.int64)
    return [positions[i : i + batch_size] for i in range(0, len(positions), batch_size)]


def this_ranks_batches(batches: Sequence[T]) -> list[T]:
    """The batches this process scores: every N-th, starting at its rank (all of them in one process)."""
    return list(batches[process_rank() :: world_size()])


def score_across_ranks(score: Callable[[list[T]], np.ndarray], items: Sequence[T], batch_size: int) -> np.ndarray:
    """``score(items)`` for a scorer that batches its input as consecutive runs of ``batch_size``
    (OPRO's audio-cache scorer), with the batches shared out among the processes: each rank scores
    its batches, and every rank gets every item's score, in order. One process: ``score(items)``."""
    if world_size() == 1:
        return np.asarray(score(list(items)), dtype=float)
    mine = this_ranks_batches(consecutive_batches(np.arange(len(items)), batch_size))
    positions = np.concatenate(mine) if mine else np.empty(0, dtype=np.int64)
    # A rank's batches laid end to end are cut by the scorer into those same batches: only the
    # last batch overall can be short, and it is the last one of its rank.
    local = np.asarray(score([items[i] for i in positions]), dtype=float) if len(positions) else np.empty(0)
    scores = np.full(len(items), np.nan)
    for where, values in gather_from_all((positions, local)):
        scores[where] = values
    return scores
