"""A plain folder tree whose first-level sub-folders name the categories.

``root/speech/**/*.wav``, ``root/music/**/*.flac``, ... Any corpus that is not worth an adapter
of its own (GTZAN, FMA, a folder of recordings made in the lab) can be laid out like this.
Every format libsndfile reads is taken (``windows.AUDIO_EXTENSIONS``); other files, and files
lying directly in ``root`` (outside any category folder), are counted as skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.windows import (
    FileMeta,
    SkipLog,
    Windowing,
    list_audio_files,
    material_by_group,
    note_skip,
    relative_name,
    require_category,
    segments_from_files,
    seeded_order,
)
from qwen_vad.errors import ConfigError, MissingInputError

OUTSIDE_CATEGORIES = "outside the category folders"


def files_by_category(
    root: Path, skipped: SkipLog, category_names: tuple[str, ...] | None = None
) -> dict[str, list[Path]]:
    """Sorted audio files under each first-level sub-folder of ``root`` that holds any.

    ``category_names`` restricts the sub-folders looked at (MUSAN's fixed three); ``None``
    takes every sub-folder. Files that are not audio, and files directly in ``root``, are
    noted in ``skipped``.
    """
    entries = sorted(root.iterdir())
    for loose in (p for p in entries if p.is_file()):
        note_skip(skipped, relative_name(loose, root), OUTSIDE_CATEGORIES)
    folders = [p for p in entries if p.is_dir()]
    if category_names is not None:
        folders = [p for p in folders if p.name in category_names]
    listed = {folder.name: list_audio_files(folder, root, skipped) for folder in folders}
    return {name: files for name, files in listed.items() if files}


def group_of(relative_path: str, group_depth: int | None) -> str:
    """The leading ``group_depth`` components of the path (e.g. ``speech/spk1`` for depth 2);
    the whole path, i.e. the file, when no depth is given or the file sits less deep."""
    if group_depth is None:
        return relative_path
    return "/".join(relative_path.split("/")[:group_depth])


class FolderSource:
    """Segments from ``root/<category>/**/<audio files>``."""

    name = "folder"  # replaced by ``source_name``

    def __init__(
        self,
        root: str | Path,
        seed: int,
        segment_ms: int = 2000,
        max_windows: int = 3,
        min_ms: int = 1000,
        speech_categories: tuple[str, ...] = ("speech",),
        group_depth: int | None = None,
        source_name: str = "folder",
    ) -> None:
        """``speech_categories``: sub-folder names labelled SPEECH (every other one NONSPEECH).
        ``group_depth``: how many leading path components (counted from ``root``, category
        folder included) name a leakage group, e.g. 2 for ``root/speech/<speaker>/...``;
        ``None`` makes every file its own group. ``source_name`` tells several folder sources
        apart (it prefixes their groups and fills the ``source`` column)."""
        if group_depth is not None and group_depth < 1:
            raise ConfigError(f"group_depth must be at least 1 (or 0: every file its own group), got {group_depth}")
        self.root = Path(root)
        self.seed = seed
        self.windowing = Windowing(segment_ms, max_windows, min_ms)
        self.speech_categories = tuple(speech_categories)
        self.group_depth = group_depth
        self.name = source_name
        self.skipped = SkipLog()
        layout = f"{self.name} expects <root>/<category>/**/<audio file> (e.g. <root>/speech/a.wav)"
        if not self.root.is_dir():
            raise MissingInputError(f"{self.root}: no such folder; {layout}")
        self._files = files_by_category(self.root, self.skipped)
        if not self._files:
            raise MissingInputError(f"{self.root}: no audio files in any sub-folder; {layout}")

    def categories(self) -> dict[str, str]:
        return {name: SPEECH if name in self.speech_categories else NONSPEECH for name in self._files}

    def iter_segments(self, category: str) -> Iterator[Segment]:
        ordered = seeded_order(self._metas(category), self.seed, category)
        return segments_from_files(ordered, self.root, self.name, self.windowing, self.skipped)

    def group_material(self, category: str) -> dict[str, float]:
        return material_by_group(self._metas(category), self.windowing, self.root, self.skipped)

    def _metas(self, category: str) -> list[FileMeta]:
        labels = self.categories()
        require_category(category, labels, self.name)
        groups = [group_of(relative_name(path, self.root), self.group_depth) for path in self._files[category]]
        return [
            FileMeta(path, labels[category], category, f"{self.name}:{group}")
            for path, group in zip(self._files[category], groups, strict=True)
        ]
