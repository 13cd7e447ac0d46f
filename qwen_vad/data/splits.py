"""Splits by leakage group, integer quotas, and the leakage audits (in a dataset and across two).

A leakage group (speaker, recording) lives in one split. Groups a source can list from its
metadata (every corpus) are assigned by ``assign_groups``: each split with a positive ratio gets
at least one group of every category, and the usable audio is shared out by the ratios. Groups
of an endless generated stream (the synthetic source), which cannot be listed, are placed by a
hash of (seed, group) on the ratios (``split_of_group``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping

import pandas as pd

from qwen_vad.config import SplitConfig
from qwen_vad.data.sources.base import origin_file
from qwen_vad.errors import ConfigError, MaterialShortage, UserError

SPLITS = ("train", "dev", "test")
# What the leakage audits compare: the group, the original file (per source: two corpora may
# both hold "speech/a.wav") and the clean base clip.
AUDITED = ("group", "origin_file", "base_clip_id")
# Groups named in an error message before "... and N more".
NAMED_GROUPS = 12


class LeakageError(UserError, ValueError):
    """Material shared between splits, or between a training set and an evaluation set."""


def split_ratios(cfg: SplitConfig) -> dict[str, float]:
    """``data.splits`` as {split: ratio}; a ratio of 0 means the dataset has no such split."""
    ratios = {split: float(getattr(cfg, split)) for split in SPLITS}
    if any(r < 0 for r in ratios.values()) or sum(ratios.values()) <= 0:
        raise ConfigError(f"data.splits: ratios must be >= 0 and not all 0, got {ratios}")
    return ratios


def active_splits(ratios: Mapping[str, float]) -> tuple[str, ...]:
    return tuple(s for s in SPLITS if ratios[s] > 0)


def split_of_group(group: str, seed: int, ratios: dict[str, float]) -> str:
    """The split a leakage group belongs to: a stable hash of (seed, group) placed on the
    cumulative ratios. Stable across processes and independent of the order groups are met,
    so every clip of a speaker or recording lands in the same split."""
    digest = hashlib.sha256(f"{seed}\0{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(ratios.values())
    edge = 0.0
    for split in SPLITS:
        edge += ratios[split] / total
        if u < edge:
            return split
    return SPLITS[-1]


def assign_groups(
    material: Mapping[str, Mapping[str, float]],
    seed: int,
    ratios: Mapping[str, float],
    cover: Collection[str] | None = None,
) -> dict[str, str]:
    """Each listed group's split, from ``material`` (category -> group -> usable seconds).

    Deterministic for a seed, whatever order the groups come in. A group offering several
    categories (a VoxConverse recording gives speech and gap windows) is one unit. Groups
    with no material are left out (a caller places them by ``split_of_group``).

    1. Coverage: every split with a positive ratio gets one group of each category in
       ``cover`` (default: all), scarcest categories first, smallest splits first; of the
       free groups, the one whose material is nearest the split's share of the category
       (ties: seeded order). A category with fewer groups than such splits raises a
       MaterialShortage listing its groups and where each went.
    2. Balance: the other groups, largest first (ties: seeded order), each to the split whose
       categories most lack material relative to the ratios.
    """
    splits = active_splits(ratios)
    total_ratio = sum(ratios[s] for s in splits)
    share = {s: ratios[s] / total_ratio for s in splits}
    per_group: dict[str, dict[str, float]] = defaultdict(dict)
    for category, groups in material.items():
        for group, seconds in groups.items():
            if seconds > 0:
                per_group[group][category] = seconds
    totals: dict[str, float] = defaultdict(float)
    for categories in per_group.values():
        for category, seconds in categories.items():
            totals[category] += seconds
    order = sorted(per_group, key=lambda g: hashlib.sha256(f"{seed}\0order\0{g}".encode()).digest())
    assignment: dict[str, str] = {}
    filled: dict[tuple[str, str], float] = defaultdict(float)

    def place(group: str, split: str) -> None:
        assignment[group] = split
        for category, seconds in per_group[group].items():
            filled[category, split] += seconds

    members = {c: [g for g in order if c in per_group[g]] for c in totals}
    wanted = [c for c in (material if cover is None else cover) if c in material]
    short: dict[str, list[str]] = {}
    for category in sorted(wanted, key=lambda c: (len(members.get(c, [])), c)):
        for split in sorted(splits, key=lambda s: (share[s], SPLITS.index(s))):
            if any(assignment.get(g) == split for g in members.get(category, [])):
                continue
            free = [g for g in members.get(category, []) if g not in assignment]
            if not free:
                short.setdefault(category, []).append(split)
                continue
            target = share[split] * totals[category]
            place(min(free, key=lambda g: abs(per_group[g][category] - target)), split)
    if short:
        raise MaterialShortage(coverage_message(short, members, assignment, splits))

    def relative_size(group: str) -> float:
        return sum(seconds / totals[c] for c, seconds in per_group[group].items())

    def lack(group: str, split: str) -> float:
        return sum(
            seconds / totals[c] * (share[split] - filled[c, split] / totals[c]) for c, seconds in per_group[group].items()
        )

    rank = {g: i for i, g in enumerate(order)}
    for group in sorted((g for g in order if g not in assignment), key=lambda g: (-relative_size(g), rank[g])):
        place(group, max(splits, key=lambda s: (lack(group, s), -SPLITS.index(s))))
    return assignment


def coverage_message(
    short: Mapping[str, list[str]], members: Mapping[str, list[str]], assignment: Mapping[str, str], splits: tuple[str, ...]
) -> str:
    problems = []
    for category, missing in short.items():
        groups = sorted(members.get(category, []))
        placed = name_groups([f"{g} -> {assignment[g]}" for g in groups])
        problems.append(
            f"category {category!r} has {len(groups)} leakage group(s) with usable audio "
            f"({placed or 'none'}), so the {'/'.join(missing)} split gets none of it"
        )
    first_missing = next(iter(short.values()))[0]
    return (
        "; ".join(problems)
        + f". Every split with a positive ratio in data.splits ({', '.join(splits)}) needs at least one group of each "
        "category, and a group (speaker, recording, or file) lives in one split only. Add material from more "
        "speakers or recordings, leave the category out (data.sources.<name>.categories), or set that split's "
        f"ratio to 0 (data.splits.{first_missing}=0)."
    )


def name_groups(groups: list[str]) -> str:
    """The first NAMED_GROUPS of ``groups`` for a message, then how many more there are."""
    named = ", ".join(groups[:NAMED_GROUPS])
    return named + (f", ... and {len(groups) - NAMED_GROUPS} more" if len(groups) > NAMED_GROUPS else "")


def quotas(n: int, ratios: dict[str, float]) -> dict[str, int]:
    """Split ``n`` into integer counts by largest remainder (they always sum to ``n``)."""
    total = sum(ratios.values())
    exact = {s: n * ratios[s] / total for s in SPLITS}
    counts = {s: int(exact[s]) for s in SPLITS}
    by_remainder = sorted(SPLITS, key=lambda s: (-(exact[s] - counts[s]), SPLITS.index(s)))
    for s in by_remainder[: n - sum(counts.values())]:
        counts[s] += 1
    return counts


def _audited(manifest: pd.DataFrame) -> pd.DataFrame:
    files = manifest["source"].astype(str) + "|" + manifest["origin"].map(origin_file)
    return manifest.assign(origin_file=files)


def audit_leakage(manifest: pd.DataFrame) -> dict[str, int]:
    """Assert that no leakage group, no origin file and no base clip spans two splits."""
    files = _audited(manifest)
    problems = []
    for column in AUDITED:
        splits_per_value = files.groupby(column)["split"].nunique()
        shared = splits_per_value[splits_per_value > 1]
        if len(shared):
            problems.append(f"{len(shared)} {column} value(s) in more than one split, e.g. {list(shared.index[:3])}")
    if problems:
        raise LeakageError("leakage audit failed: " + "; ".join(problems))
    return {column: int(files[column].nunique()) for column in AUDITED}


def held_out_groups(manifest: pd.DataFrame, splits: Collection[str] = ("dev", "test")) -> frozenset[str]:
    """The leakage groups of a dataset's ``splits``: what another dataset must leave out
    (``build_dataset(..., excluded_groups=...)``) to be trained on without leaking into them."""
    return frozenset(manifest.loc[manifest["split"].isin(list(splits)), "group"].astype(str))


def audit_cross_leakage(
    train_manifest: pd.DataFrame, eval_manifest: pd.DataFrame, eval_splits: Collection[str] = ("dev", "test")
) -> dict[str, int]:
    """Assert that nothing a training set holds (in any of its splits) is in the evaluation
    set's ``eval_splits``: no shared leakage group, origin file or base clip. Returns how many
    distinct values of each were compared on each side."""
    train = _audited(train_manifest)
    held_out = _audited(eval_manifest[eval_manifest["split"].isin(list(eval_splits))])
    problems, counts = [], {}
    for column in AUDITED:
        shared = sorted(set(train[column].astype(str)) & set(held_out[column].astype(str)))
        counts[f"train_{column}"] = int(train[column].nunique())
        counts[f"held_out_{column}"] = int(held_out[column].nunique())
        if shared:
            problems.append(f"{len(shared)} {column} value(s), e.g. {shared[:3]}")
    if problems:
        raise LeakageError(
            f"the training set shares material with the evaluation set's {'/'.join(eval_splits)} split(s): "
            + "; ".join(problems)
            + ". Build the training set without the evaluation set's held-out groups "
            "(build_dataset(..., excluded_groups=held_out_groups(eval_manifest)))."
        )
    return counts
