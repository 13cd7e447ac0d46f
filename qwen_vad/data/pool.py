"""Candidate segments per (category, split), drawn lazily from the sources' streams."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Mapping

from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.registry import Source
from qwen_vad.data.splits import assign_groups, name_groups, split_of_group
from qwen_vad.errors import ConfigError, MaterialShortage

__all__ = ["BackgroundPool", "CandidatePool", "MaterialShortage"]


class CandidatePool:
    """Hands out clean segments of a category whose leakage group belongs to a given split.

    Each category's stream interleaves every source that offers it. A segment drawn for one
    split but belonging to another waits in that split's queue, so nothing is wasted and the
    order stays deterministic. Groups of sources that can list them are assigned to splits up
    front (``assign_groups``); the others by hash. Segments of ``excluded_groups`` (another
    dataset's held-out groups) are never handed out, and are counted.
    """

    def __init__(
        self,
        sources: Mapping[str, Source],
        seed: int,
        ratios: dict[str, float],
        excluded_groups: frozenset[str] = frozenset(),
    ) -> None:
        self.seed = seed
        self.ratios = ratios
        self.excluded_groups = excluded_groups
        self.labels: dict[str, str] = {}
        offering: dict[str, list[Source]] = defaultdict(list)
        for key, source in sources.items():
            for category, label in source.categories().items():
                if self.labels.setdefault(category, label) != label:
                    raise ConfigError(
                        f"category {category!r} is {self.labels[category]} in one source and {label} in data.sources.{key}; "
                        "a category needs one label (rename the folder, or set speech_categories / speech_labels)"
                    )
                offering[category].append(source)
        self.material, endless = listed_material(offering, excluded_groups)
        self.assignment = assign_groups(self.material, seed, ratios, cover=[c for c in self.material if c not in endless])
        self.streams = {c: _interleave([s.iter_segments(c) for s in srcs]) for c, srcs in offering.items()}
        self.waiting: dict[tuple[str, str], deque[Segment]] = defaultdict(deque)
        self.handed_out: Counter[tuple[str, str]] = Counter()  # (category, split) -> segments
        self.excluded: Counter[tuple[str, str]] = Counter()  # (source, category) -> segments left out
        self.excluded_met: set[str] = set()

    def categories_by_label(self) -> dict[str, list[str]]:
        by_label: dict[str, list[str]] = defaultdict(list)
        for category, label in sorted(self.labels.items()):
            by_label[label].append(category)
        return dict(by_label)

    def split_of(self, group: str) -> str:
        assigned = self.assignment.get(group)
        return assigned if assigned is not None else split_of_group(group, self.seed, self.ratios)

    def draw(self, category: str, split: str) -> Segment:
        queue = self.waiting[category, split]
        if queue:
            self.handed_out[category, split] += 1
            return queue.popleft()
        for segment in self.streams[category]:
            if segment.group in self.excluded_groups:
                self.excluded[segment.source, category] += 1
                self.excluded_met.add(segment.group)
                continue
            segment_split = self.split_of(segment.group)
            if segment_split == split:
                self.handed_out[category, split] += 1
                return segment
            self.waiting[category, segment_split].append(segment)
        raise MaterialShortage(self.shortage_message(category, split))

    def shortage_message(self, category: str, split: str) -> str:
        listed = self.material.get(category, {})
        groups = sorted(g for g, seconds in listed.items() if seconds > 0 and self.assignment.get(g) == split)
        seconds = sum(listed[g] for g in groups)
        found = "no group of it is there"
        if groups:
            found = f"its {len(groups)} group(s) there ({name_groups(groups)}; {seconds:.0f} s usable)"
        return (
            f"category {category!r} ran out of material for the {split} split: {found} gave "
            f"{self.handed_out[category, split]} segment(s), all taken or rejected"
        )

    def split_groups(self) -> list[dict]:
        """Listed groups and usable seconds per (category, split), for the dataset report."""
        rows: dict[tuple[str, str], dict] = {}
        for category, groups in sorted(self.material.items()):
            for group, seconds in groups.items():
                if group in self.assignment:
                    row = rows.setdefault((category, self.assignment[group]), {"groups": 0, "usable_s": 0.0})
                    row["groups"] += 1
                    row["usable_s"] += seconds
        return [
            {"category": c, "split": s, "groups_listed": row["groups"], "usable_s": round(row["usable_s"], 1)}
            for (c, s), row in sorted(rows.items())
        ]


def listed_material(
    offering: Mapping[str, list[Source]], excluded_groups: frozenset[str]
) -> tuple[dict[str, dict[str, float]], set[str]]:
    """Usable seconds per category and group of the sources that can list their groups, and
    the categories an endless source also offers (those never run out in any split)."""
    material: dict[str, dict[str, float]] = defaultdict(dict)
    endless: set[str] = set()
    for category, sources in offering.items():
        for source in sources:
            listed = source.group_material(category)
            if listed is None:
                endless.add(category)
                continue
            for group, seconds in listed.items():
                if group not in excluded_groups:
                    material[category][group] = material[category].get(group, 0.0) + seconds
    return dict(material), endless


class BackgroundPool:
    """Background noise for SNR mixing, in a fixed order; a finite corpus is cycled."""

    def __init__(self, source: Source) -> None:
        categories = list(source.categories())
        if not categories:
            raise ConfigError(f"data.background: source {source.name!r} offers no categories")
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
        raise MaterialShortage("data.background: the background source yielded no usable audio (see its skipped files)")
    yield from itertools.cycle(seen)
