"""Optional export of a built dataset as a ``datasets.DatasetDict`` with an Audio column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.data.splits import SPLITS

HF_FOLDER = "hf"


def export_hf(dataset_folder: Path, manifest: pd.DataFrame) -> Path:
    """Save ``<dataset>/hf`` (load it back with ``datasets.load_from_disk``).

    The audio bytes are embedded, so the export is self-contained. The column is declared
    with ``decode=False``: decoding is left to the reader (our own loaders use soundfile).
    """
    from datasets import Audio, Dataset, DatasetDict

    rows = manifest.reset_index(drop=True)
    audio = [{"path": p, "bytes": (dataset_folder / p).read_bytes()} for p in rows["path"]]
    # One table first, split after: an empty split then still has the full schema.
    table = Dataset.from_pandas(rows.assign(audio=audio), preserve_index=False).cast_column(
        "audio", Audio(sampling_rate=SAMPLE_RATE, decode=False)
    )
    indices = {split: np.flatnonzero(rows["split"].to_numpy() == split) for split in SPLITS}
    # An empty split is left out: datasets saves it with no shard and then cannot load it back.
    splits = {split: table.select(idx) for split, idx in indices.items() if idx.size}
    out = dataset_folder / HF_FOLDER
    DatasetDict(splits).save_to_disk(str(out))
    return out
