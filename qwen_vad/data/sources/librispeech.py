"""LibriSpeech (openslr.org/12): read English speech, one speaker per chapter folder.

Layout: ``<root>/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac`` (the
``.trans.txt`` transcripts beside them are ignored), e.g. ``root/dev-clean/84/121123/...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from qwen_vad import SPEECH
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
from qwen_vad.errors import MissingInputError

LAYOUT = "LibriSpeech expects <root>/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac"
CATEGORY = "speech"
MISPLACED = "not at <split>/<speaker>/<chapter>/<file>"


class LibriSpeechSource:
    """Every utterance is SPEECH; the leakage group is the speaker (``librispeech:<speaker>``),
    since one speaker reads many chapters and a voice seen in training must not be tested."""

    name = "librispeech"

    def __init__(
        self,
        root: str | Path,
        seed: int,
        segment_ms: int = 2000,
        max_windows: int = 3,
        min_ms: int = 1000,
        splits: tuple[str, ...] | None = None,
    ) -> None:
        """``splits``: split folders to read (e.g. ``("dev-clean", "test-clean")``); ``None``
        reads every split folder under ``root``."""
        self.root = Path(root)
        self.seed = seed
        self.windowing = Windowing(segment_ms, max_windows, min_ms)
        self.skipped = SkipLog()
        if not self.root.is_dir():
            raise MissingInputError(f"{self.root}: no such folder; {LAYOUT}")
        split_folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        if splits is not None:
            missing = sorted(set(splits) - {p.name for p in split_folders})
            if missing:
                raise MissingInputError(f"{self.root}: no split folders {missing}; {LAYOUT}")
            split_folders = [p for p in split_folders if p.name in splits]
        # The depth is pinned, so stray audio elsewhere under root is not taken for speech (it is
        # counted as skipped, like the .trans.txt transcripts).
        self._files = []
        for folder in split_folders:
            for path in list_audio_files(folder, self.root, self.skipped):
                if len(path.relative_to(folder).parts) == 3:
                    self._files.append(path)
                else:
                    note_skip(self.skipped, relative_name(path, self.root), MISPLACED)
        if not self._files:
            raise MissingInputError(f"{self.root}: no audio files at <split>/<speaker>/<chapter>/; {LAYOUT}")

    def categories(self) -> dict[str, str]:
        return {CATEGORY: SPEECH}

    def iter_segments(self, category: str) -> Iterator[Segment]:
        ordered = seeded_order(self._metas(category), self.seed, category)
        return segments_from_files(ordered, self.root, self.name, self.windowing, self.skipped)

    def group_material(self, category: str) -> dict[str, float]:
        return material_by_group(self._metas(category), self.windowing, self.root, self.skipped)

    def _metas(self, category: str) -> list[FileMeta]:
        require_category(category, self.categories(), self.name)
        # <split>/<speaker>/<chapter>/<file>: the speaker is the grandparent folder.
        return [FileMeta(path, SPEECH, CATEGORY, f"{self.name}:{path.parent.parent.name}") for path in self._files]
