"""Shared by the corpus adapters: list audio files, order them by seed, cut them into windows.

Every file-based source follows the same steps, so they live here once:
list the files (sorted, so the order does not depend on the file system), shuffle them with a
seeded generator, load one file at a time (only when its segments are asked for), cut it into
non-overlapping windows of ``segment_ms`` and record every file that had to be skipped.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np
import soundfile as sf

from qwen_vad.audio.io import SAMPLE_RATE, AudioError, load_audio
from qwen_vad.data.sources.base import Segment
from qwen_vad.errors import ConfigError
from qwen_vad.progress import progress

# Extensions besides the format's own name (".wav", ".flac", ...) that files of a libsndfile
# format commonly carry. RAW is left out: headerless audio needs a rate and layout no file says.
FORMAT_ALIASES: dict[str, tuple[str, ...]] = {
    "AIFF": (".aif", ".aifc"),
    "AU": (".snd",),
    "OGG": (".oga", ".opus"),  # Ogg Vorbis and Ogg Opus
    "NIST": (".sph",),  # NIST SPHERE (uncompressed; shorten-packed files fail and are counted)
    "IRCAM": (".sf",),
    "SVX": (".8svx", ".iff"),
    "MAT4": (".mat",),
    "MAT5": (".mat",),
    "WAVEX": (".wav",),
}


def readable_extensions(formats: Mapping[str, str]) -> frozenset[str]:
    """File extensions of the formats libsndfile reports (``soundfile.available_formats()``)."""
    extensions = set()
    for name in formats:
        if name != "RAW":
            extensions.add(f".{name.lower()}")
            extensions.update(FORMAT_ALIASES.get(name, ()))
    return frozenset(extensions)


# Every extension the installed libsndfile reads (1.2: wav, flac, ogg/oga/opus, mp3, caf, aiff,
# au, w64, rf64, ...). Anything else in a corpus folder (README, .trans.txt, .m4a) is not read,
# and counted with its extension as the reason.
AUDIO_EXTENSIONS = readable_extensions(sf.available_formats())

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
            raise ConfigError(f"segment_ms must be positive, got {self.segment_ms}")
        if self.max_windows < 1:
            raise ConfigError(f"max_windows_per_file must be at least 1, got {self.max_windows}")
        if not 0 < self.min_ms <= self.segment_ms:
            raise ConfigError(f"min_file_ms must be in (0, segment_ms={self.segment_ms}], got {self.min_ms}")

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


class SkippedFile(NamedTuple):
    """A corpus file that gave no segment. ``reason`` is short and shared by every file skipped
    for the same cause (the dataset report counts files per reason); ``detail`` is this file's."""

    file: str  # relative to the corpus root
    reason: str
    detail: str = ""


class SkipLog(list[SkippedFile]):
    """The files a source skipped, in the order met; each (file, reason) once, even when met
    again (a category iterated twice, a file found unreadable from its header and when loaded)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str]] = set()

    def note(self, file: str, reason: str, detail: str = "") -> None:
        if (file, reason) not in self._seen:
            self._seen.add((file, reason))
            self.append(SkippedFile(file, reason, detail))


def note_skip(skipped: SkipLog, file: str, reason: str, detail: str = "") -> None:
    skipped.note(file, reason, detail)


def not_read_reason(path: Path) -> str:
    return f"not a libsndfile format ({path.suffix.lower() or 'no extension'})"


def list_audio_files(folder: Path, root: Path | None = None, skipped: SkipLog | None = None) -> list[Path]:
    """Audio files anywhere below ``folder``, sorted by path. Other files are noted in
    ``skipped`` (named relative to ``root``) with their extension as the reason."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if skipped is not None:
        for path in files:
            if path.suffix.lower() not in AUDIO_EXTENSIONS:
                note_skip(skipped, relative_name(path, root or folder), not_read_reason(path))
    return [p for p in files if p.suffix.lower() in AUDIO_EXTENSIONS]


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to the corpus root, with forward slashes on every platform."""
    return path.relative_to(root).as_posix()


def format_origin(file: str, offset_samples: int) -> str:
    """``'audio/x.wav@1.500s'``: the file and the window's offset in seconds."""
    return f"{file}@{offset_samples / SAMPLE_RATE:.3f}s"


def is_silent(audio: np.ndarray) -> bool:
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return rms < 10 ** (SILENCE_RMS_DBFS / 20)


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
) -> tuple[list[Segment], tuple[str, str]]:
    """The non-silent windows of one file (``name``: its path relative to the corpus root) as
    segments, or an empty list and why there are none (reason, detail)."""
    if audio.size < windowing.segment_samples:
        if audio.size < windowing.min_samples:
            duration_ms = audio.size * 1000 // SAMPLE_RATE
            return [], (f"shorter than {windowing.min_ms} ms", f"{duration_ms} ms")
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
        return [], ("silent", f"every window is below {SILENCE_RMS_DBFS:.0f} dBFS RMS")
    return segments, ("", "")


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
    skipped: SkipLog,
    pick: WindowPicker | None = None,
) -> Iterator[Segment]:
    """Load the files one at a time, in the given order, and yield their windows as segments.

    Unreadable, empty, all-zero, too short or silent files are recorded in ``skipped`` (path
    relative to ``root``). ``pick`` defaults to ``windowing.spread``.
    """
    pick = pick or windowing.spread
    for meta in files:
        name = relative_name(meta.path, root)
        try:
            audio = load_audio(meta.path)
        except AudioError as err:
            note_skip(skipped, name, err.reason, str(err).removeprefix(f"{meta.path}: "))
            continue
        segments, why = cut_segments(
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
            note_skip(skipped, name, *why)
        yield from segments


def usable_seconds(path: Path, windowing: Windowing) -> tuple[float, tuple[str, str]]:
    """Seconds of ``path`` that windows will be cut from, read from the header only
    (``soundfile.info``): at most ``max_windows`` windows, nothing below ``min_ms``; 0 and why
    (reason, detail, as loading the file would say) when it gives none."""
    if not path.is_file():
        return 0.0, ("missing file", "")
    try:
        info = sf.info(str(path))
    except Exception as err:  # noqa: BLE001 - soundfile raises several types (LibsndfileError, ...)
        return 0.0, ("unreadable audio", str(err))
    seconds = info.frames / info.samplerate if info.samplerate > 0 else 0.0
    if seconds <= 0:
        return 0.0, ("empty audio", "")
    if seconds * 1000 < windowing.min_ms:
        return 0.0, (f"shorter than {windowing.min_ms} ms", f"{seconds * 1000:.0f} ms")
    return min(seconds, windowing.max_windows * windowing.segment_ms / 1000), ("", "")


def material_by_group(
    files: Sequence[FileMeta], windowing: Windowing, root: Path, skipped: SkipLog
) -> dict[str, float]:
    """Usable seconds per leakage group, from file headers (what the split assignment balances).
    Files that will give nothing are noted in ``skipped`` now, whether or not they are drawn."""
    material: dict[str, float] = {}
    with progress(len(files), f"headers of {root.name}", unit="file") as bar:
        for meta in files:
            seconds, why = usable_seconds(meta.path, windowing)
            if not seconds:
                note_skip(skipped, relative_name(meta.path, root), *why)
            material[meta.group] = material.get(meta.group, 0.0) + seconds
            bar.update()
    return material


def require_category(category: str, categories: dict[str, str], source: str) -> None:
    """Fail with the valid choices when a config names a category the source does not have."""
    if category not in categories:
        raise ConfigError(f"{source}: unknown category {category!r}; choose from {sorted(categories)}")
