"""A Hugging Face ``datasets`` dataset with an audio column and a label column.

``root`` is a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (the
offline way), or a hub id, loaded with ``load_dataset`` when the machine is online. Audio is
never decoded by ``datasets`` (its decoder needs torchcodec): the column is cast to
``Audio(decode=False)`` and the stored bytes or file are read with soundfile.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from datasets import Audio, ClassLabel, Dataset, DatasetDict, load_dataset, load_from_disk

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.audio.io import AudioError, to_mono_16k
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.windows import SkipLog, Windowing, cut_segments, note_skip, require_category, seeded_order
from qwen_vad.errors import BadInputError, MissingInputError

SAVE_HINT = "point root at a local copy written with Dataset.save_to_disk (or DatasetDict.save_to_disk)"


def load_split(root: str | Path, split: str) -> Dataset:
    """The ``split`` of a dataset saved on disk at ``root``, or else of the hub dataset ``root``."""
    path = Path(root).expanduser()
    if path.exists():
        try:
            loaded = load_from_disk(str(path))
        except FileNotFoundError as err:
            raise MissingInputError(f"{path}: not a dataset saved with save_to_disk ({err}); {SAVE_HINT}") from err
        if isinstance(loaded, DatasetDict):
            if split not in loaded:
                raise BadInputError(f"{path}: no split {split!r}; it has {sorted(loaded)}")
            return loaded[split]
        return loaded
    if path.is_absolute() or str(root).startswith((".", "~")):
        raise MissingInputError(f"{path}: no such folder; {SAVE_HINT}")
    try:
        return load_dataset(str(root), split=split)
    except Exception as err:  # offline, unknown id, missing split: datasets raises many types
        raise MissingInputError(
            f"hf: {root!r} is not a local folder and loading it from the Hugging Face hub failed ({err}); {SAVE_HINT}"
        ) from err


def decode_audio(value: dict[str, bytes | str | None], name: str) -> np.ndarray:
    """An ``Audio(decode=False)`` cell (``{"bytes": ..., "path": ...}``) as 16 kHz mono float32."""
    data, path = value.get("bytes"), value.get("path")
    if not data and not path:
        raise AudioError(f"{name}: the row holds neither audio bytes nor a path", "no audio in the row")
    try:
        audio, rate = sf.read(io.BytesIO(data) if data else str(path), dtype="float64", always_2d=False)
    except Exception as err:  # soundfile raises several types (LibsndfileError, RuntimeError, ...)
        raise AudioError(f"{name}: unreadable audio ({err})", "unreadable audio") from err
    return to_mono_16k(audio, rate, name=name)


def label_names(dataset: Dataset, column: str, values: pd.Series) -> pd.Series:
    """Label values as strings: a ClassLabel's names (so configs say "speech", not 1), else str().

    Missing labels (null, or ClassLabel's -1, which hub test splits use for hidden labels)
    become None: counting them as NONSPEECH would silently corrupt the dataset.
    """
    feature = dataset.features[column]
    if isinstance(feature, ClassLabel):
        return values.map(lambda index: None if pd.isna(index) or int(index) < 0 else feature.names[int(index)])
    return values.map(lambda value: None if pd.isna(value) else str(value))


class HfSource:
    """Rows labelled SPEECH when their label is one of ``speech_values``, NONSPEECH otherwise."""

    name = "hf"  # replaced by ``source_name``

    def __init__(
        self,
        root: str | Path,
        seed: int,
        segment_ms: int = 2000,
        max_windows: int = 3,
        min_ms: int = 1000,
        split: str = "train",
        audio_column: str = "audio",
        label_column: str = "label",
        speech_values: tuple[str, ...] = ("speech",),
        category_column: str | None = None,
        group_column: str | None = None,
        source_name: str = "hf",
    ) -> None:
        """``speech_values``: label values meaning SPEECH, written as strings (ClassLabel names,
        or e.g. ``"1"`` for a plain integer column). ``category_column``: gives each row's
        category; without it the label value is the category. ``group_column``: the leakage
        group (speaker, video, ...); without it every row is its own group. ``source_name``
        tells several hf sources apart (it prefixes groups and fills the ``source`` column)."""
        self.root = root
        self.seed = seed
        self.windowing = Windowing(segment_ms, max_windows, min_ms)
        self.split = split
        self.audio_column = audio_column
        self.name = source_name
        self.skipped = SkipLog()
        dataset = load_split(root, split)
        wanted = [c for c in (audio_column, label_column, category_column, group_column) if c is not None]
        missing = [c for c in wanted if c not in dataset.column_names]
        if missing:
            raise BadInputError(f"hf {root}: no columns {missing}; it has {dataset.column_names}")
        self._dataset = dataset.cast_column(audio_column, Audio(decode=False))
        self._rows = self._row_table(label_column, tuple(speech_values), category_column, group_column)

    def _row_table(
        self, label_column: str, speech_values: tuple[str, ...], category_column: str | None, group_column: str | None
    ) -> pd.DataFrame:
        """Label, category and group of every row, read from the metadata columns only."""
        columns = list(dict.fromkeys(c for c in (label_column, category_column, group_column) if c is not None))
        table = self._dataset.select_columns(columns).to_pandas()
        names = label_names(self._dataset, label_column, table[label_column])
        unlabelled = int(names.isna().sum())
        if unlabelled:
            note_skip(self.skipped, f"{self.split}/*", f"no value in label column {label_column!r}", f"{unlabelled} rows")
        row_names = pd.Series([f"{self.split}/{i}" for i in table.index], index=table.index)
        rows = pd.DataFrame(
            {
                "label": np.where(names.isin(speech_values), SPEECH, NONSPEECH),
                "category": table[category_column].astype(str) if category_column else names,
                "group": table[group_column].astype(str) if group_column else row_names,
            }
        )
        rows = rows[names.notna().to_numpy()]
        if rows.empty:
            raise BadInputError(f"hf {self.root}: no row of split {self.split!r} has a label in column {label_column!r}")
        mixed = sorted(c for c, labels in rows.groupby("category")["label"] if labels.nunique() > 1)
        if mixed:
            raise BadInputError(f"hf {self.root}: categories {mixed} mix SPEECH and NONSPEECH rows; a category needs one label")
        return rows

    def categories(self) -> dict[str, str]:
        first = self._rows.drop_duplicates("category").sort_values("category")
        return dict(zip(first["category"].tolist(), first["label"].tolist(), strict=True))

    def group_material(self, category: str) -> dict[str, float]:
        """Rows per group, each counted as one window (a row's length is known only by decoding)."""
        require_category(category, self.categories(), self.name)
        counts = self._rows.loc[self._rows["category"] == category, "group"].value_counts()
        return {f"{self.name}:{group}": n * self.windowing.segment_ms / 1000 for group, n in counts.items()}

    def iter_segments(self, category: str) -> Iterator[Segment]:
        require_category(category, self.categories(), self.name)
        selected = self._rows[self._rows["category"] == category]
        # (row index, label, group) in row order, then shuffled by seed.
        rows = list(zip(selected.index.tolist(), selected["label"].tolist(), selected["group"].tolist(), strict=True))
        return self._segments(category, seeded_order(rows, self.seed, category))

    def _segments(self, category: str, rows: list[tuple[int, str, str]]) -> Iterator[Segment]:
        for index, label, group in rows:
            name = f"{self.split}/{index}"
            try:
                audio = decode_audio(self._dataset[index][self.audio_column], name)
            except AudioError as err:
                note_skip(self.skipped, name, err.reason, str(err).removeprefix(f"{name}: "))
                continue
            segments, why = cut_segments(
                audio,
                name,
                label=label,
                category=category,
                source=self.name,
                group=f"{self.name}:{group}",
                windowing=self.windowing,
                pick=self.windowing.spread,
            )
            if not segments:
                note_skip(self.skipped, name, *why)
            yield from segments
