"""MUSAN (openslr.org/17): ``music/``, ``noise/`` and ``speech/``, each split into sub-corpora
folders of 16 kHz wav files, e.g. ``music/fma/music-fma-0000.wav``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.folder import files_by_category
from qwen_vad.data.sources.windows import (
    FileMeta,
    SkipLog,
    Windowing,
    material_by_group,
    note_skip,
    relative_name,
    require_category,
    segments_from_files,
    seeded_order,
)
from qwen_vad.errors import MissingInputError

CATEGORY_LABELS = {"music": NONSPEECH, "noise": NONSPEECH, "speech": SPEECH}
LAYOUT = "MUSAN expects <root>/music/<sub-corpus>/*.wav, <root>/noise/... and/or <root>/speech/..."


def vocal_music(music_folder: Path) -> set[str]:
    """Stems of the music files that the ``ANNOTATIONS`` files mark as having vocals.

    Each sub-corpus folder (``music/fma``, ``music/jamendo``, ...) holds an ``ANNOTATIONS`` file
    with lines ``<file stem> <genre> <vocals Y/N> <artist> ...`` (the format Kaldi's
    make_musan.py reads).
    """
    vocal: set[str] = set()
    for subcorpus in sorted(p for p in music_folder.iterdir() if p.is_dir()):
        annotations = subcorpus / "ANNOTATIONS"
        if not annotations.is_file():
            raise MissingInputError(
                f"{annotations}: missing; MUSAN ships one per music sub-corpus and it is needed to "
                "leave out music with vocals (or set include_vocal_music=True)"
            )
        for line in annotations.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2] == "Y":
                vocal.add(fields[0])
    return vocal


class MusanSource:
    """Categories music / noise / speech; every file is its own leakage group."""

    name = "musan"

    def __init__(
        self,
        root: str | Path,
        seed: int,
        segment_ms: int = 2000,
        max_windows: int = 3,
        min_ms: int = 1000,
        include_vocal_music: bool = False,
    ) -> None:
        """``include_vocal_music``: keep the music tracks with singing. Off by default: a sung
        voice is a human voice, so labelling it NONSPEECH would teach (and score) the model
        against the prompt's own definition of SPEECH ("human voice")."""
        self.root = Path(root)
        self.seed = seed
        self.windowing = Windowing(segment_ms, max_windows, min_ms)
        self.include_vocal_music = include_vocal_music
        self.skipped = SkipLog()
        if not self.root.is_dir():
            raise MissingInputError(f"{self.root}: no such folder; {LAYOUT}")
        self._files = files_by_category(self.root, self.skipped, tuple(CATEGORY_LABELS))
        if not self._files:
            raise MissingInputError(f"{self.root}: no audio files in music/, noise/ or speech/; {LAYOUT}")
        if "music" in self._files and not include_vocal_music:
            vocal = vocal_music(self.root / "music")
            music = self._files.pop("music")
            for path in (p for p in music if p.stem in vocal):
                note_skip(self.skipped, relative_name(path, self.root), "music with vocals (include_vocal_music=false)")
            instrumental = [p for p in music if p.stem not in vocal]
            if instrumental:
                self._files["music"] = instrumental

    def categories(self) -> dict[str, str]:
        return {name: CATEGORY_LABELS[name] for name in self._files}

    def iter_segments(self, category: str) -> Iterator[Segment]:
        ordered = seeded_order(self._metas(category), self.seed, category)
        return segments_from_files(ordered, self.root, self.name, self.windowing, self.skipped)

    def group_material(self, category: str) -> dict[str, float]:
        return material_by_group(self._metas(category), self.windowing, self.root, self.skipped)

    def _metas(self, category: str) -> list[FileMeta]:
        require_category(category, self.categories(), self.name)
        return [
            FileMeta(path, CATEGORY_LABELS[category], category, f"{self.name}:{relative_name(path, self.root)}")
            for path in self._files[category]
        ]
