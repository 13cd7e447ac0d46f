"""The clips of one split as a torch Dataset, loaded once.

Training clips are short (0.2-1 s: 1,000-3,000 clips are well under 200 MB as float32), so they
are read from disk once instead of every epoch; unreadable files are skipped and reported the
way scoring reports them.

Each example carries the seed of its random choices (prompt draw, SpecAugment masks), derived
from (seed, epoch, index). Drawing them from torch's global generator instead would tie them to
when a batch is built: the dataloader builds the next batch ahead of time, and a resumed run
restores the global generator only after building its first batch, so a resumed run would
draw different masks than the uninterrupted one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch.utils.data import Dataset

from qwen_vad import SPEECH
from qwen_vad.audio.io import AudioError, load_audio
from qwen_vad.errors import BadInputError
from qwen_vad.scoring.predictions import is_speech_label

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledClip:
    clip_id: str
    audio: np.ndarray  # 16 kHz mono float32
    is_speech: bool


@dataclass(frozen=True)
class TrainingExample:
    clip: LabelledClip
    augmentation_seed: int  # seeds this example's prompt draw and SpecAugment masks


def augmentation_seed(seed: int, epoch: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


class ClipDataset(Dataset[TrainingExample]):
    def __init__(self, clips: list[LabelledClip], seed: int) -> None:
        self.clips, self.seed, self.epoch = clips, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Called by accelerate's dataloader at the start of every epoch (a resumed one too)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> TrainingExample:
        return TrainingExample(self.clips[index], augmentation_seed(self.seed, self.epoch, index))


@dataclass
class LoadedSplit:
    dataset: ClipDataset
    skipped: list[dict]  # clip_id, path, error


def load_split(manifest: pd.DataFrame, split: str, dataset_dir: Path, seed: int) -> LoadedSplit:
    """Every readable clip of ``split``; the split must hold both classes."""
    rows = manifest[manifest["split"] == split]
    labels = is_speech_label(rows["label"])
    if labels.all() or not labels.any():
        raise BadInputError(
            f"the {split} split must hold SPEECH and NONSPEECH clips; it holds {len(rows)} clips of one class "
            "(a split with ratio 0 in the dataset's data.splits holds none)"
        )
    clips, skipped = [], []
    for row in rows.itertuples(index=False):
        try:
            audio = load_audio(dataset_dir / row.path)
        except AudioError as err:
            skipped.append({"clip_id": row.clip_id, "path": row.path, "error": str(err)})
            log.warning("skipping %s clip %s: %s", split, row.clip_id, err)
            continue
        clips.append(LabelledClip(clip_id=row.clip_id, audio=audio, is_speech=row.label == SPEECH))
    if not clips:
        raise BadInputError(f"no readable {split} clip in {dataset_dir}; rebuild the dataset (force=true)")
    return LoadedSplit(dataset=ClipDataset(clips, seed), skipped=skipped)
