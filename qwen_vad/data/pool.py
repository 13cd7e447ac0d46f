"""Candidate segments per (category, split), drawn lazily from the sources' streams."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping

from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.registry import Source
from qwen_vad.data.splits import split_of_group


class MaterialShortage(RuntimeError):
    """A category ran out of material for a split."""


class CandidatePool:
    """Hands out clean segments of a category whose leakage group belongs to a given split.

    Each category's stream interleaves every source that offers it. A segment drawn for one
    split but belonging to another waits in that split's queue, so nothing is wasted and the
    order stays deterministic.
    """

    def __init__(
        self, sources: Mapping[str, Source], seed: int, ratios: dict[str, float], excluded_groups: frozenset[str] = frozenset()
    ) -> None:
        self.seed = seed
        self.ratios = ratios
        self.excluded_groups = excluded_groups  # held out: material of these groups is never used
        self.excluded = 0
        self.labels: dict[str, str] = {}
        offering: dict[str, list[Source]] = defaultdict(list)
        for source in sources.values():
            for category, label in source.categories().items():
                if self.labels.setdefault(category, label) != label:
                    raise ValueError(f"category {category!r} is {self.labels[category]} in one source and {label} in another")
                offering[category].append(source)
        self.streams = {category: _interleave([s.iter_segments(category) for s in srcs]) for category, srcs in offering.items()}
        self.waiting: dict[tuple[str, str], deque[Segment]] = defaultdict(deque)

    def categories_by_label(self) -> dict[str, list[str]]:
        by_label: dict[str, list[str]] = defaultdict(list)
        for category, label in sorted(self.labels.items()):
            by_label[label].append(category)
        return dict(by_label)

    def draw(self, category: str, split: str) -> Segment:
        queue = self.waiting[category, split]
        if queue:
            return queue.popleft()
        for segment in self.streams[category]:
            if segment.group in self.excluded_groups:
                self.excluded += 1
                continue
            segment_split = split_of_group(segment.group, self.seed, self.ratios)
            if segment_split == split:
                return segment
            self.waiting[category, segment_split].append(segment)
        raise MaterialShortage(f"category {category!r} has no more material for the {split} split")


class BackgroundPool:
    """Background noise for SNR mixing, in a fixed order; a finite corpus is cycled."""

    def __init__(self, source: Source) -> None:
        categories = list(source.categories())
        if not categories:
            raise ValueError(f"background source {source.name!r} offers no categories")
        self._segments = _cycle_if_finite(_interleave([source.iter_segments(c) for c in categories]))

    def next(self) -> Segment:
        return next(self._segments)


def _interleave(streams: list[Iterator[Segment]]) -> Iterator[Segment]:
    """Round-robin over streams until all are exhausted."""
    live = list(streams)
    while live:
        for stream in list(live):
            try:
                yield next(stream)
            except StopIteration:
                live.remove(stream)


def _cycle_if_finite(stream: Iterator[Segment]) -> Iterator[Segment]:
    seen: list[Segment] = []
    for segment in stream:
        seen.append(segment)
        yield segment
    if not seen:
        raise ValueError("background source yielded no audio")
    yield from itertools.cycle(seen)
