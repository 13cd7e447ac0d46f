"""Splits by leakage group, integer quotas, and the leakage audit."""

from __future__ import annotations

import hashlib

import pandas as pd

from qwen_vad.data.sources.base import origin_file
from qwen_vad.errors import UserError

SPLITS = ("train", "dev", "test")


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


def quotas(n: int, ratios: dict[str, float]) -> dict[str, int]:
    """Split ``n`` into integer counts by largest remainder (they always sum to ``n``)."""
    total = sum(ratios.values())
    exact = {s: n * ratios[s] / total for s in SPLITS}
    counts = {s: int(exact[s]) for s in SPLITS}
    by_remainder = sorted(SPLITS, key=lambda s: (-(exact[s] - counts[s]), SPLITS.index(s)))
    for s in by_remainder[: n - sum(counts.values())]:
        counts[s] += 1
    return counts


class LeakageError(UserError, AssertionError):
    pass


def audit_leakage(manifest: pd.DataFrame) -> dict[str, int]:
    """Assert that no leakage group, no origin file and no base clip spans two splits."""
    files = manifest.assign(origin_file=manifest["origin"].map(origin_file))
    problems = []
    for column in ("group", "origin_file", "base_clip_id"):
        splits_per_value = files.groupby(column)["split"].nunique()
        shared = splits_per_value[splits_per_value > 1]
        if len(shared):
            problems.append(f"{len(shared)} {column} value(s) in more than one split, e.g. {list(shared.index[:3])}")
    if problems:
        raise LeakageError("leakage audit failed: " + "; ".join(problems))
    return {column: int(files[column].nunique()) for column in ("group", "origin_file", "base_clip_id")}


LEAKAGE_UNITS = ("group", "origin_file", "base_clip_id")


def audit_cross_leakage(
    training: pd.DataFrame, evaluation: pd.DataFrame, evaluation_splits: tuple[str, ...] = ("dev", "test")
) -> dict[str, int]:
    """Assert that no group, origin file or base clip of ``training`` occurs in the evaluation
    set's ``evaluation_splits``; the counts of distinct training units otherwise."""
    held_out = evaluation[evaluation["split"].isin(evaluation_splits)]
    train_units, held_units = _units(training), _units(held_out)
    problems = []
    for unit in LEAKAGE_UNITS:
        shared = sorted(train_units[unit] & held_units[unit])
        if shared:
            problems.append(f"{len(shared)} {unit} value(s), e.g. {shared[:3]}")
    if problems:
        raise LeakageError(
            f"cross-dataset leakage audit failed: the training set shares with the evaluation set's "
            f"{'/'.join(evaluation_splits)} splits " + "; ".join(problems)
        )
    return {unit: len(values) for unit, values in train_units.items()}


def _units(manifest: pd.DataFrame) -> dict[str, set[str]]:
    return {
        "group": set(manifest["group"].astype(str)),
        "origin_file": set(manifest["origin"].map(origin_file)),
        "base_clip_id": set(manifest["base_clip_id"].astype(str)),
    }
