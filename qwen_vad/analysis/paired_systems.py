"""Named comparisons between systems ("b3:b2"), paired by seed.

A system is a group of runs, one per seed (qwen_vad.analysis.sources). Two systems are compared
seed by seed: runs of the same seed are paired; a system with a single run (a VAD, the base
model) is paired with every seed of the other. Each pair gets the exact McNemar test and the
paired cluster-bootstrap ΔBA (qwen_vad.analysis.compare); the McNemar p-values of every pair of
every comparison form one Holm family. Per comparison, ΔBA is summarised as mean ± sd over seeds.

A comparison whose systems were scored on different clips (another dataset, another subset) is
listed as not comparable with the reason, never tested: pairing needs the same clips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qwen_vad.analysis.compare import align_on_clips, compare_family
from qwen_vad.analysis.sources import SystemGroup

BEST_LLM, BEST_VAD = "best_llm", "best_vad"


@dataclass(frozen=True)
class SeedPair:
    seed: int | None
    a: str  # prediction source names
    b: str


def pair_by_seed(a: SystemGroup, b: SystemGroup) -> list[SeedPair]:
    """Same-seed pairs; a single-run side pairs with every seed of the other; else none."""
    if len(b.seeds) == 1:
        (only,) = b.seeds.values()
        return [SeedPair(seed, name, only) for seed, name in a.seeds.items()]
    if len(a.seeds) == 1:
        (only,) = a.seeds.values()
        return [SeedPair(seed, only, name) for seed, name in b.seeds.items()]
    common = sorted(set(a.seeds) & set(b.seeds), key=lambda s: (s is None, s))
    return [SeedPair(seed, a.seeds[seed], b.seeds[seed]) for seed in common]


def best_systems(groups: Mapping[str, SystemGroup], dev_balanced_accuracy: Mapping[str, float | None], is_llm: Mapping[str, bool]) -> dict[str, str]:
    """best_llm / best_vad: the system (group) of each kind with the highest mean balanced
    accuracy on dev (never on the test split the comparison then tests on)."""
    chosen = {}
    for alias, want_llm in ((BEST_LLM, True), (BEST_VAD, False)):
        pool = {}
        for name, group in groups.items():
            values = [dev_balanced_accuracy.get(source) for source in group.seeds.values()]
            if values and all(v is not None for v in values) and all(is_llm[s] == want_llm for s in group.seeds.values()):
                pool[name] = float(np.mean(values))
        if pool:
            chosen[alias] = max(pool, key=pool.get)
    return chosen


def named_comparisons(
    specs: Sequence[str],
    groups: Mapping[str, SystemGroup],
    frames: Mapping[str, pd.DataFrame],
    aliases: Mapping[str, str],
    n_resamples: int,
    seed: int,
    level: float,
) -> dict:
    """``frames``: each prediction source's rows of the reported split."""
    planned, not_run, not_comparable = [], [], []
    for spec in specs:
        a_name, _, b_name = spec.partition(":")
        side_a, side_b = _groups_named(aliases.get(a_name, a_name), groups), _groups_named(aliases.get(b_name, b_name), groups)
        if not side_a or not side_b:
            not_run.append(spec)
            continue
        for a in side_a:
            for b in side_b:
                if a.name == b.name:
                    continue
                pairs = pair_by_seed(a, b)
                reason = _why_not_comparable(a, b, pairs, frames)
                if reason:
                    not_comparable.append({"spec": spec, "a": a.name, "b": b.name, "reason": reason})
                else:
                    planned.append((spec, a, b, pairs))
    # Each pair of runs is tested once, and once in the Holm family, however many specs name it.
    tested = list(dict.fromkeys((p.a, p.b) for _, _, _, pairs in planned for p in pairs))
    family = compare_family(frames, tested, n_resamples=n_resamples, seed=seed, level=level) if tested else {"comparisons": []}
    results = dict(zip(tested, family["comparisons"], strict=True))
    comparisons = []
    for spec, a, b, pairs in planned:
        per_seed = [dict(results[p.a, p.b], seed=p.seed) for p in pairs]
        differences = [-c["balanced_accuracy_difference"]["difference_b_minus_a"] for c in per_seed]
        comparisons.append(
            {
                "spec": spec,
                "a": a.name,
                "b": b.name,
                "seeds": per_seed,
                # a minus b, positive when the first-named system is better
                "difference_a_minus_b": {
                    "mean": float(np.mean(differences)),
                    "sd": float(np.std(differences, ddof=1)) if len(differences) > 1 else None,
                    "n_seeds": len(differences),
                },
                "significant_holm_seeds": sum(c["mcnemar"]["significant_holm"] for c in per_seed),
            }
        )
    return {
        "alpha": family.get("alpha", 0.05),
        "correction": "holm",
        "comparisons": comparisons,
        "not_comparable": not_comparable,
        "not_run": not_run,
        "resolved": dict(aliases),
        # Clips per cell needed to detect a few differences, per tested pair (analysis.power).
        "planning": family.get("planning"),
    }


def _groups_named(name: str, groups: Mapping[str, SystemGroup]) -> list[SystemGroup]:
    """A group by its own name, or every group (configuration) of an experiment."""
    if name in groups:
        return [groups[name]]
    return [g for g in groups.values() if g.experiment == name]


def _why_not_comparable(a: SystemGroup, b: SystemGroup, pairs: list[SeedPair], frames: Mapping[str, pd.DataFrame]) -> str:
    if not pairs:
        return f"no seed in common ({a.name}: seeds {sorted(a.seeds, key=str)}; {b.name}: seeds {sorted(b.seeds, key=str)})"
    for pair in pairs:
        try:
            align_on_clips(frames[pair.a], frames[pair.b], pair.a, pair.b)
        except ValueError as err:
            return str(err)
    return ""
