"""Condition designs: which clips a dataset holds, before any audio is touched.

A plan is a list of ``BaseClipPlan``: one clean base clip (label, category, split) and the
conditions (variants) made from it. ``factorial`` gives each base clip one cell of the
duration x SNR (x reverb x filter) grid; ``one_axis`` gives each base clip every level of one
axis at a time, the other axes at their neutral level.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.audio.degrade import FILTERS, NO_FILTER
from qwen_vad.config import DataConfig
from qwen_vad.data.splits import SPLITS, quotas, split_ratios
from qwen_vad.errors import ConfigError


@dataclass(frozen=True)
class Condition:
    duration_ms: int
    snr_db: float  # inf = clean
    reverb_rt60_s: float = 0.0
    filter: str = NO_FILTER

    @property
    def key(self) -> str:
        snr = "clean" if math.isinf(self.snr_db) else f"{self.snr_db:+g}"
        return f"d{self.duration_ms}_snr{snr}_rt{self.reverb_rt60_s:g}_{self.filter}"


@dataclass(frozen=True)
class BaseClipPlan:
    label: str
    category: str
    split: str
    conditions: tuple[Condition, ...]

    @property
    def hygiene_duration_ms(self) -> int:
        # Hygiene judges the longest cut: shorter variants are its centre.
        return max(c.duration_ms for c in self.conditions)


def factorial_conditions(cfg: DataConfig) -> list[Condition]:
    return [
        Condition(int(d), float(s), float(r), f)
        for d, s, r, f in itertools.product(cfg.durations_ms, cfg.snrs_db, cfg.reverb_rt60_s, cfg.filters)
    ]


def one_axis_conditions(cfg: DataConfig) -> list[Condition]:
    axes = cfg.one_axis
    neutral = Condition(axes.neutral_duration_ms, axes.neutral_snr_db)
    conditions = [Condition(int(d), neutral.snr_db) for d in axes.durations_ms]
    conditions += [Condition(neutral.duration_ms, float(s)) for s in axes.snrs_db]
    conditions += [Condition(neutral.duration_ms, neutral.snr_db, float(r)) for r in axes.reverb_rt60_s]
    conditions += [Condition(neutral.duration_ms, neutral.snr_db, 0.0, f) for f in axes.filters]
    # The neutral condition (1000 ms, clean, dry, unfiltered) is a level of the duration, reverb
    # and filter axes alike: the 22 conditions per axis are 20 distinct clips. Rendering it
    # once keeps identical audio from being counted three times in every metric.
    return list(dict.fromkeys(conditions))


def make_plan(cfg: DataConfig, categories: dict[str, list[str]]) -> list[BaseClipPlan]:
    """``categories`` maps each label to the categories available for it. NONSPEECH clips
    take the categories in turn within each split, so they are balanced across categories."""
    ratios = split_ratios(cfg.splits)
    for label in (SPEECH, NONSPEECH):
        if not categories.get(label):
            offered = ", ".join(f"{lab}: {cats}" for lab, cats in sorted(categories.items())) or "nothing"
            raise ConfigError(
                f"no source in data.sources offers {label} material (they offer {offered}); a dataset needs both "
                "labels: add a source with it, or check speech_categories / speech_labels / categories"
            )
    turn = {(label, split): itertools.cycle(categories[label]) for label in (SPEECH, NONSPEECH) for split in SPLITS}

    def plan(label: str, split: str, conditions: tuple[Condition, ...]) -> BaseClipPlan:
        return BaseClipPlan(label, next(turn[label, split]), split, conditions)

    if cfg.design == "factorial":
        check_conditions(cfg, factorial_conditions(cfg), "data")
        return [
            plan(label, split, (condition,))
            for condition in factorial_conditions(cfg)
            for label in (SPEECH, NONSPEECH)
            for split, count in quotas(cfg.per_cell, ratios).items()
            for _ in range(count)
        ]
    if cfg.design == "one_axis":
        conditions = tuple(one_axis_conditions(cfg))
        check_conditions(cfg, conditions, "data.one_axis")
        return [
            plan(label, split, conditions)
            for label in (SPEECH, NONSPEECH)
            for split, count in quotas(cfg.base_clips_per_class, ratios).items()
            for _ in range(count)
        ]
    raise ConfigError(f"data.design must be 'factorial' or 'one_axis', got {cfg.design!r}")


def check_conditions(cfg: DataConfig, conditions: Sequence[Condition], where: str) -> None:
    """Condition values that would fail only at render time, after hygiene, fail here."""
    if not conditions:
        raise ConfigError(f"{where}: no conditions; durations_ms, snrs_db, reverb_rt60_s and filters each need a value")
    unknown = sorted({c.filter for c in conditions} - {NO_FILTER, *FILTERS})
    if unknown:
        raise ConfigError(f"{where}.filters: unknown filter(s) {unknown}; valid: {', '.join([NO_FILTER, *FILTERS])}")
    if any(c.duration_ms <= 0 for c in conditions):
        raise ConfigError(f"{where}.durations_ms must be positive, got {sorted({c.duration_ms for c in conditions})}")
    longest = max(c.duration_ms for c in conditions)
    if 0 < cfg.container_ms < longest:
        raise ConfigError(f"data.container_ms={cfg.container_ms} is shorter than the longest clip ({longest} ms)")
