"""Reading a batch's audio, and for a scorer that can, building its inputs, ahead of the model.

A scorer that splits its CPU work from its model (``input_preparer()`` + ``score_prepared``,
see qwen_vad.scoring.base) has each batch read and prepared by ``torch.utils.data.DataLoader``
workers (``evaluate.num_workers``) while the model scores the batch before it; the batches come
back in order, in page-locked memory when the scorer runs on a GPU. Any other scorer, and
``num_workers=0``, reads each batch in the scoring loop itself (the inline path): the same
``BatchReader`` does the same work, so both paths hand the model the same inputs. Unreadable
files are not an error here: each batch reports the clips it could not read, and the scoring
loop logs and lists them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.audio.io import AudioError, load_audio
from qwen_vad.distributed import world_size
from qwen_vad.errors import ConfigError
from qwen_vad.scoring.base import Scorer

# evaluate.num_workers=null: this many workers per process when the scorer runs on a GPU. Reading
# and featurising a batch of short clips takes one core about as long as the GPU's forward pass,
# so a few workers keep it fed; more only hold more prepared batches in memory.
GPU_INPUT_WORKERS = 4
PREFETCHED_BATCHES_PER_WORKER = 2  # torch's default: each worker keeps one batch ready beyond the next


@dataclass
class LoadedBatch:
    positions: np.ndarray  # rows (of the clips being scored) that were read, in batch order
    load_seconds: list[float]  # reading each of them
    skipped: list[dict] = field(default_factory=list)  # position, clip_id, path, error
    audio: list[np.ndarray] | None = None  # the waveforms, for a scorer that prepares nothing
    prepared: object | None = None  # what the scorer's input preparer built from them

    def pin_memory(self) -> LoadedBatch:
        """Called by the DataLoader's pinning thread: pins what the preparer built, if it can."""
        if self.prepared is not None and hasattr(self.prepared, "pin_memory"):
            self.prepared = self.prepared.pin_memory()
        return self


class BatchReader:
    """Batch ``i`` of ``batches`` read (and prepared with ``prepare``, when given): a map-style
    dataset for torch's DataLoader, picklable (no model in it) for its worker processes."""

    def __init__(self, clips: pd.DataFrame, folder: Path, batches: Sequence[np.ndarray], prepare: Callable | None = None) -> None:
        self.clip_ids, self.paths = clips["clip_id"].tolist(), clips["path"].tolist()
        self.folder, self.batches, self.prepare = folder, list(batches), prepare

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> LoadedBatch:
        audio, seconds, kept, skipped = [], [], [], []
        for position in self.batches[index]:
            start = time.perf_counter()
            try:
                audio.append(load_audio(self.folder / self.paths[position]))
            except AudioError as err:
                skipped.append({"position": int(position), "clip_id": self.clip_ids[position], "path": self.paths[position], "error": str(err)})
                continue
            seconds.append(time.perf_counter() - start)
            kept.append(int(position))
        batch = LoadedBatch(np.array(kept, dtype=np.int64), seconds, skipped)
        if self.prepare is None:
            batch.audio = audio
        elif audio:
            batch.prepared = self.prepare(audio)
        return batch


def input_preparer(scorer: Scorer) -> Callable | None:
    """The scorer's CPU-side input builder, or None when it scores from waveforms in one step."""
    make = getattr(scorer, "input_preparer", None)
    return make() if callable(make) and callable(getattr(scorer, "score_prepared", None)) else None


def runs_on_gpu(scorer: Scorer) -> bool:
    return str(getattr(scorer, "device", "cpu")).startswith("cuda")


def input_workers(requested: int | None, scorer: Scorer) -> int:
    """``evaluate.num_workers``, with null resolved: a few workers per process on a GPU, none on
    a CPU (there workers would take the cores the model's own forward pass runs on)."""
    if requested is not None:
        if requested < 0:
            raise ConfigError(f"evaluate.num_workers must be >= 0 or null (automatic), got {requested}")
        return requested
    if not runs_on_gpu(scorer):
        return 0
    return max(1, min(GPU_INPUT_WORKERS, (os.cpu_count() or 1) // world_size() - 1))


def read_batches(reader: BatchReader, num_workers: int, pin_memory: bool) -> Iterator[LoadedBatch]:
    """The reader's batches in order: inline, or from ``num_workers`` DataLoader workers."""
    if num_workers == 0 or len(reader) == 0:
        yield from (reader[i] for i in range(len(reader)))
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(
        reader, batch_size=None, shuffle=False, num_workers=min(num_workers, len(reader)), collate_fn=unchanged,
        pin_memory=pin_memory, prefetch_factor=PREFETCHED_BATCHES_PER_WORKER,
    )  # fmt: skip
    yield from loader


def unchanged(batch: LoadedBatch) -> LoadedBatch:
    """The DataLoader's collate step: a reader item is a whole batch already."""
    return batch
