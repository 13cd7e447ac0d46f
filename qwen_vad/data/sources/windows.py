"""Shared by the corpus adapters: list audio files, order them by seed, cut them into windows.

Every file-based source follows the same steps, so they live here once:
list the files (sorted, so the order does not depend on the file system), shuffle them with a
seeded generator, load one file at a time (only when its segments are asked for), cut it into
non-overlapping windows of ``segment_ms`` and record every file that had to be skipped.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from qwen_vad.audio.io import SAMPLE_RATE, AudioError, load_audio
from qwen_vad.data.sources.base import Segment

# Extensions soundfile (libsndfile >= 1.1) can read; anything else in a corpus folder
# (README, .trans.txt, ANNOTATIONS, .csv) is not audio.
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".opus", ".mp3", ".au", ".aiff", ".aif"})

# A window whose RMS is below -70 dBFS is digital silence or a few LSBs of dither. It cannot be
# mixed with noise at a target SNR (its power is ~0), and it is not an example of its category.
SILENCE_RMS_DBFS = -70.0

T = TypeVar("T")

# (offset in samples, window samples) pairs cut from one file's audio.
Windows = list[tuple[int, np.ndarray]]
# Chooses windows in audio that is at least one window long.
WindowPicker = Callable[[np.ndarray], Windows]


@dataclass(frozen=True)
class Windowing:
    """How a file is cut into segments.

    ``segment_ms``: length of each window. ``max_windows``: at most this many windows per file,
    so one long file cannot dominate a category. ``min_ms``: a file shorter than one window is
    used whole if it is at least this long, else skipped.
    """

    segment_ms: int = 2000
    max_windows: int = 3
    min_ms: int = 1000

    def __post_init__(self) -> None:
        if self.segment_ms <= 0:
            raise ValueError(f"segment_ms must be positive, got {self.segment_ms}")
        if self.max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, got {self.max_windows}")
        if not 0 < self.min_ms <= self.segment_ms:
            raise ValueError(f"min_ms must be in (0, segment_ms={self.segment_ms}], got {self.min_ms}")

    @property
    def segment_samples(self) -> int:
        return self.segment_ms * SAMPLE_RATE // 1000

    @property
    def min_samples(self) -> int:
        return self.min_ms * SAMPLE_RATE // 1000

    def spread(self, audio: np.ndarray) -> Windows:
        """Up to ``max_windows`` windows spread evenly over the file.

        Each window sits in the middle of its share of the file rather than at the start: the
        first and last seconds of recordings are often fade-ins, applause or silence, and
        spreading samples more of a long file than back-to-back windows would.
        """
        size = self.segment_samples
        count = min(self.max_windows, audio.size // size)
        share = audio.size / count
        offsets = [int((k + 0.5) * share) - size // 2 for k in range(count)]
        return [(offset, audio[offset : offset + size]) for offset in offsets]


def seeded_order(items: Sequence[T], seed: int, key: str) -> list[T]:
    """``items`` (already sorted) shuffled by ``seed``; ``key`` (e.g. the category) decorrelates
    the orders of lists of equal length. crc32, unlike ``hash()``, is the same in every process."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return [items[i] for i in rng.permutation(len(items))]


def list_audio_files(folder: Path) -> list[Path]:
    """Audio files anywhere below ``folder``, sorted by path."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to the corpus root, with forward slashes on every platform."""
    return path.relative_to(root).as_posix()


def format_origin(file: str, offset_samples: int) -> str:
    """``'audio/x.wav@1.500s'``: the file and the window's offset in seconds."""
    return f"{file}@{offset_samples / SAMPLE_RATE:.3f}s"


def is_silent(audio: np.ndarray) -> bool:
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return rms < 10 ** (SILENCE_RMS_DBFS / 20)


def note_skip(skipped: list[tuple[str, str]], file: str, reason: str) -> None:
    """Record a skipped file once, even when a category is iterated several times."""
    if (file, reason) not in skipped:
        skipped.append((file, reason))


def cut_segments(
    audio: np.ndarray,
    name: str,
    *,
    label: str,
    category: str,
    source: str,
    group: str,
    windowing: Windowing,
    pick: WindowPicker,
) -> tuple[list[Segment], str]:
    """The non-silent windows of one file (``name``: its path relative to the corpus root) as
    segments, or an empty list and the reason there are none."""
    if audio.size < windowing.segment_samples:
        if audio.size < windowing.min_samples:
            duration_ms = audio.size * 1000 // SAMPLE_RATE
            return [], f"shorter than {windowing.min_ms} ms ({duration_ms} ms)"
        windows = [(0, audio)]
    else:
        windows = pick(audio)
    # Copies, so a kept segment does not pin the whole (possibly minutes-long) file in memory.
    segments = [
        Segment(
            audio=window.copy(),
            label=label,
            category=category,
            source=source,
            group=group,
            origin=format_origin(name, offset),
        )
        for offset, window in windows
        if not is_silent(window)
    ]
    if not segments:
        return [], f"every window is below {SILENCE_RMS_DBFS:.0f} dBFS RMS (silence)"
    return segments, ""


@dataclass(frozen=True)
class FileMeta:
    """What a source knows about one file before loading it."""

    path: Path
    label: str
    category: str
    group: str


def segments_from_files(
    files: Sequence[FileMeta],
    root: Path,
    source: str,
    windowing: Windowing,
    skipped: list[tuple[str, str]],
    pick: WindowPicker | None = None,
) -> Iterator[Segment]:
    """Load the files one at a time, in the given order, and yield their windows as segments.

    Unreadable, empty, all-zero, too short or silent files are recorded in ``skipped`` as
    (path relative to ``root``, reason). ``pick`` defaults to ``windowing.spread``.
    """
    pick = pick or windowing.spread
    for meta in files:
        name = relative_name(meta.path, root)
        try:
            audio = load_audio(meta.path)
        except AudioError as err:
            note_skip(skipped, name, str(err))
            continue
        segments, reason = cut_segments(
            audio,
            name,
            label=meta.label,
            category=meta.category,
            source=source,
            group=meta.group,
            windowing=windowing,
            pick=pick,
        )
        if not segments:
            note_skip(skipped, name, reason)
        yield from segments


def require_category(category: str, categories: dict[str, str], source: str) -> None:
    """Fail with the valid choices when a config names a category the source does not have."""
    if category not in categories:
        raise ValueError(f"{source}: unknown category {category!r}; choose from {sorted(categories)}")
