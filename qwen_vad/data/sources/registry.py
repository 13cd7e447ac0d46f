"""From ``data.sources`` / ``data.background`` config entries to source objects.

``data.sources`` is taken as given: the sources an experiment names are the only ones used. The
built-in synthetic source is used when (and only when) it is named or no source is named at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from qwen_vad import SPEECH
from qwen_vad.config import SourceConfig
from qwen_vad.data.sources.base import Segment
from qwen_vad.errors import ConfigError

# What an experiment without data.sources gets.
DEFAULT_SOURCE_NAME = "synthetic"


class Source(Protocol):
    """What the dataset builder needs from a corpus adapter."""

    name: str

    def categories(self) -> dict[str, str]:
        """category -> label, from metadata only (no audio decoding)."""

    def iter_segments(self, category: str) -> Iterator[Segment]:
        """Clean segments of one category, in a deterministic seeded order."""

    def group_material(self, category: str) -> dict[str, float] | None:
        """Usable seconds of audio per leakage group of one category, from metadata, so groups
        can be assigned to splits by material; None when the groups cannot be listed (an
        endless generated stream): they are then assigned by a hash."""


def effective_sources(sources: Mapping[str, SourceConfig]) -> dict[str, SourceConfig]:
    """The sources a dataset is built from: those named, or the synthetic one when none is."""
    return dict(sources) if sources else {DEFAULT_SOURCE_NAME: SourceConfig()}


def _windows(cfg: SourceConfig) -> dict:
    # Only pass a window count when the experiment sets one: each adapter's default suits its corpus.
    return {} if cfg.max_windows_per_file is None else {"max_windows": cfg.max_windows_per_file}


def _synthetic(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.synthetic import SyntheticSource

    return SyntheticSource(seed, segment_ms=cfg.segment_ms, background=background)


def _folder(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.folder import FolderSource

    return FolderSource(
        cfg.root, seed, segment_ms=cfg.segment_ms, min_ms=cfg.min_file_ms,
        speech_categories=tuple(cfg.speech_categories), group_depth=cfg.group_depth or None,
        source_name=name, **_windows(cfg),
    )  # fmt: skip


def _esc50(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.esc50 import Esc50Source

    return Esc50Source(cfg.root, seed, segment_ms=cfg.segment_ms, min_ms=cfg.min_file_ms, folds=tuple(cfg.folds), **_windows(cfg))


def _musan(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.musan import MusanSource

    return MusanSource(cfg.root, seed, segment_ms=cfg.segment_ms, min_ms=cfg.min_file_ms, **_windows(cfg))


def _librispeech(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.librispeech import LibriSpeechSource

    return LibriSpeechSource(
        cfg.root, seed, segment_ms=cfg.segment_ms, min_ms=cfg.min_file_ms, splits=tuple(cfg.subsets) or None, **_windows(cfg)
    )


def _voxconverse(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.voxconverse import VoxConverseSource

    return VoxConverseSource(
        cfg.root, seed, segment_ms=cfg.segment_ms, edge_margin_ms=cfg.edge_margin_ms,
        audio_dir=cfg.audio_dir, rttm_dir=cfg.rttm_dir, **_windows(cfg),
    )  # fmt: skip


def _hf(cfg: SourceConfig, seed: int, name: str, background: bool) -> Source:
    from qwen_vad.data.sources.hf import HfSource

    return HfSource(
        cfg.root, seed, segment_ms=cfg.segment_ms, min_ms=cfg.min_file_ms, split=cfg.split,
        audio_column=cfg.audio_column, label_column=cfg.label_column, speech_values=tuple(cfg.speech_labels),
        category_column=cfg.category_column or None, group_column=cfg.group_column or None,
        source_name=name, **_windows(cfg),
    )  # fmt: skip


OPENERS: dict[str, Callable[[SourceConfig, int, str, bool], Source]] = {
    "synthetic": _synthetic,
    "folder": _folder,
    "esc50": _esc50,
    "musan": _musan,
    "librispeech": _librispeech,
    "voxconverse": _voxconverse,
    "hf": _hf,
}


class CategorySubset:
    """A source restricted to some of its categories (``categories:`` in the config)."""

    def __init__(self, source: Source, keep: list[str], where: str) -> None:
        offered = source.categories()
        unknown = [c for c in keep if c not in offered]
        if unknown:
            raise ConfigError(f"{where}.categories: {unknown} are not offered; it offers {sorted(offered)}")
        self.inner, self.name = source, source.name
        self._categories = {c: offered[c] for c in keep}
        self.skipped = getattr(source, "skipped", [])

    def categories(self) -> dict[str, str]:
        return dict(self._categories)

    def iter_segments(self, category: str) -> Iterator[Segment]:
        return self.inner.iter_segments(category)

    def group_material(self, category: str) -> dict[str, float] | None:
        return self.inner.group_material(category)


def open_source(cfg: SourceConfig, seed: int, name: str, where: str, background: bool = False) -> Source:
    """``name`` (the key under data.sources) names folder and hf sources, so two folder
    corpora (say GTZAN and FMA) keep separate group namespaces."""
    if cfg.kind not in OPENERS:
        raise ConfigError(f"{where}.kind: unknown source kind {cfg.kind!r}; valid: {', '.join(OPENERS)}")
    if cfg.kind != "synthetic" and not cfg.root:
        raise ConfigError(f"{where}.root: a {cfg.kind} source needs the corpus folder")
    try:
        source = OPENERS[cfg.kind](cfg, seed, name, background)
    except ConfigError as err:  # an adapter's option check: say which config entry it was
        raise ConfigError(f"{where}: {err}") from None
    return CategorySubset(source, cfg.categories, where) if cfg.categories else source


def open_sources(cfgs: Mapping[str, SourceConfig], seed: int) -> dict[str, Source]:
    """The target sources of ``data.sources`` (see ``effective_sources``)."""
    return {name: open_source(cfg, seed, name, f"data.sources.{name}") for name, cfg in effective_sources(cfgs).items()}


def open_background(cfg: SourceConfig, seed: int) -> Source:
    """The background-noise pool. The synthetic kind has its own noise stream, disjoint from
    the targets; a corpus should be one the targets do not use (e.g. MUSAN noise). Speech in
    the background would put a voice under NONSPEECH clips, so it is refused."""
    source = open_source(cfg, seed, "background", "data.background", background=True)
    speech = sorted(c for c, label in source.categories().items() if label == SPEECH)
    if speech:
        others = sorted(c for c, label in source.categories().items() if label != SPEECH)
        raise ConfigError(
            f"data.background ({cfg.kind} at {cfg.root or '-'}) offers SPEECH categories {speech}: background "
            "noise is mixed under NONSPEECH clips too. Set data.background.categories to non-speech ones "
            f"({others or 'none offered'})."
        )
    return source
