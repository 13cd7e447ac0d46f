"""Condition designs: which clips a dataset holds, before any audio is touched.

A plan is a list of ``BaseClipPlan``: one clean base clip (label, category, split) and the
conditions (variants) made from it. ``factorial`` gives each base clip one cell of the grid of
every condition axis (qwen_vad.conditions: duration x SNR x reverb x filter); ``one_axis``
gives each base clip every level of one axis at a time, the other axes at their neutral level.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.conditions import DURATION_COLUMN, ConditionAxis, axes
from qwen_vad.config import DataConfig, OneAxisConfig
from qwen_vad.data.splits import SPLITS, quotas, split_ratios
from qwen_vad.errors import ConfigError


@dataclass(frozen=True)
class Condition:
    """One level of every condition axis: ((column, level), ...) in the axes' order."""

    levels: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, levels: Mapping[str, Any]) -> Condition:
        return cls(tuple((axis.column, levels[axis.column]) for axis in axes()))

    def __getitem__(self, column: str) -> Any:
        return dict(self.levels)[column]

    def columns(self) -> dict[str, Any]:
        """The condition as manifest columns."""
        return dict(self.levels)

    @property
    def duration_ms(self) -> int:
        return self[DURATION_COLUMN]

    @property
    def key(self) -> str:
        """The condition's part of a clip id, e.g. ``d200_snr+5_rt0_none``."""
        return "_".join(axis.key(self[axis.column]) for axis in axes())


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


def factorial_levels(axis: ConditionAxis, cfg: DataConfig) -> list[Any]:
    return [axis.level(v) for v in getattr(cfg, axis.factorial_levels)]


def one_axis_levels(axis: ConditionAxis, cfg: OneAxisConfig) -> list[Any]:
    return [axis.level(v) for v in getattr(cfg, axis.one_axis_levels)]


def one_axis_neutral(axis: ConditionAxis, cfg: OneAxisConfig) -> Any:
    """The level an axis is held at while another varies."""
    return axis.level(getattr(cfg, axis.one_axis_neutral) if axis.one_axis_neutral else axis.neutral)


def factorial_conditions(cfg: DataConfig) -> list[Condition]:
    grid = [[(axis.column, level) for level in factorial_levels(axis, cfg)] for axis in axes()]
    return [Condition(cell) for cell in itertools.product(*grid)]


def one_axis_conditions(cfg: DataConfig) -> list[Condition]:
    neutral = {axis.column: one_axis_neutral(axis, cfg.one_axis) for axis in axes()}
    conditions = [
        Condition.of({**neutral, axis.column: level}) for axis in axes() for level in one_axis_levels(axis, cfg.one_axis)
    ]
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
        check_conditions(cfg, factorial_conditions(cfg), "data", lambda axis: axis.factorial_levels)
        return [
            plan(label, split, (condition,))
            for condition in factorial_conditions(cfg)
            for label in (SPEECH, NONSPEECH)
            for split, count in quotas(cfg.per_cell, ratios).items()
            for _ in range(count)
        ]
    if cfg.design == "one_axis":
        conditions = tuple(one_axis_conditions(cfg))
        check_conditions(cfg, conditions, "data.one_axis", lambda axis: axis.one_axis_levels)
        return [
            plan(label, split, conditions)
            for label in (SPEECH, NONSPEECH)
            for split, count in quotas(cfg.base_clips_per_class, ratios).items()
            for _ in range(count)
        ]
    raise ConfigError(f"data.design must be 'factorial' or 'one_axis', got {cfg.design!r}")


def check_conditions(cfg: DataConfig, conditions: Sequence[Condition], where: str, field_of) -> None:
    """Condition values that would fail only at render time, after hygiene, fail here.
    ``field_of(axis)``: the configuration field the design reads the axis's levels from."""
    if not conditions:
        fields = ", ".join(field_of(axis) for axis in axes())
        raise ConfigError(f"{where}: no conditions; {fields} each need a value")
    for axis in axes():
        problem = axis.problem(_levels(conditions, axis))
        if problem:
            raise ConfigError(f"{where}.{field_of(axis)}: {problem}")
    longest = max(c.duration_ms for c in conditions)
    if 0 < cfg.container_ms < longest:
        raise ConfigError(f"data.container_ms={cfg.container_ms} is shorter than the longest clip ({longest} ms)")


def _levels(conditions: Sequence[Condition], axis: ConditionAxis) -> Iterator[Any]:
    return (c[axis.column] for c in conditions)
