"""Optional export of a built dataset as a ``datasets.DatasetDict`` with an Audio column."""

from __future__ import annotations

from pathlib import Path

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

    splits = {}
    for split in SPLITS:
        rows = manifest[manifest["split"] == split].reset_index(drop=True)
        audio = [{"path": p, "bytes": (dataset_folder / p).read_bytes()} for p in rows["path"]]
        frame = rows.assign(audio=audio, snr_db=rows["snr_db"].astype(float))
        splits[split] = Dataset.from_pandas(frame, preserve_index=False).cast_column(
            "audio", Audio(sampling_rate=SAMPLE_RATE, decode=False)
        )
    out = dataset_folder / HF_FOLDER
    DatasetDict(splits).save_to_disk(str(out))
    return out
