"""The condition axes of a dataset, declared once: duration, SNR, reverberation, filter.

Each axis says everything the harness needs to know about it: the manifest (and predictions)
column and its type, the configuration fields holding its levels (factorial design, one-axis
design) and the level it is held at while another axis varies, the degradation that renders a
level (a lazy ``"module:function"``, applied in ``render_step`` order), the part of a clip id
it contributes, how its levels read in tables, figures, the failure gallery and OPRO
exemplars, and whether it is one of the study's two design axes (``core``: the SNR x duration
grid) or a degradation held at a neutral level, and whether psychometric curves run along it.

Every module that handles conditions reads this table: the design, renderer and manifest
(qwen_vad.data), the data report, the analysis (breakdowns, cells, psychometric and pooled
curves, power planning), the report (tables, figures, failures, gallery filters) and the OPRO
exemplars. A new axis is one ``ConditionAxis`` entry, its degradation function, and the
configuration fields its entry names (``DataConfig`` / ``OneAxisConfig``).

Readers call the functions below at use time (never copy the table into a module constant), so
an axis registered later (a test's throwaway axis) reaches every one of them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

DURATION_COLUMN = "duration_ms"  # the clip's length: what cuts, containers and token counts read
SNR_COLUMN = "snr_db"  # the axis of the research plan's pooled psychometric curve
LEVEL_TYPES = (int, float, str)
PANDAS_DTYPES = {int: "int64", float: "float64"}  # str levels stay object columns


def _number(value: Any) -> float:
    """A level back as a float (JSON null -> NaN, "inf" -> inf)."""
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class ConditionAxis:
    name: str  # short name: table names (``by_<name>``) and messages
    column: str  # manifest and predictions column
    kind: type  # int | float | str: the type of a level (and so the column's dtype)
    unit: str  # "ms", "dB", "s", "" (thresholds on this axis are given in it)
    title: str  # what figures and the gallery call the axis ("SNR")
    label: str  # axis label with its unit, for figure axes and table captions ("SNR (dB)")
    factorial_levels: str  # DataConfig field: the factorial design's levels
    one_axis_levels: str  # OneAxisConfig field: the one-axis design's levels
    degrade: str  # "module:function" (audio, level, Rendering) -> audio
    render_step: int  # degradations apply in ascending step order, then the clip is peak-normalised
    key: Callable[[Any], str]  # the level's part of the clip id ("d200", "snrclean")
    format_level: Callable[[Any], str]  # a level as tables, figures and cards show it ("200 ms")
    # The undegraded level (None: no such level; for duration longer is only milder).
    neutral: Any = None
    # OneAxisConfig field with the level this axis is held at while another varies ("": neutral).
    one_axis_neutral: str = ""
    core: bool = False  # a design axis (SNR x duration grid), not a degradation held at neutral
    psychometric: bool = False  # psychometric curves run along it
    log_scale: bool = False  # curves are fitted on log10(level); thresholds given back in the unit
    milder: str = "higher"  # numeric axes: which end is less degraded (higher duration, higher SNR)
    check: str = ""  # "module:function" (levels) -> a problem ("" when fine), checked before a build
    describe: Callable[[Any], str] | None = None  # words for a non-neutral level (OPRO exemplars)

    def __post_init__(self) -> None:
        if self.kind not in LEVEL_TYPES:
            raise ValueError(f"condition axis {self.name}: kind must be one of int, float, str")
        if not self.core and self.neutral is None:
            raise ValueError(f"condition axis {self.name}: a degradation axis needs a neutral level")
        if self.milder not in ("higher", "lower"):
            raise ValueError(f"condition axis {self.name}: milder must be 'higher' or 'lower'")

    @property
    def dtype(self) -> str | None:
        return PANDAS_DTYPES.get(self.kind)

    def level(self, value: Any) -> Any:
        """A configured value as a level of this axis (YAML gives 1000 for 1000.0, ...)."""
        return self.kind(value)

    def degradation(self) -> Callable[..., Any]:
        return _resolve(self.degrade)

    def problem(self, levels: Iterable[Any]) -> str:
        """What is wrong with these levels ("" when nothing, or when the axis has no check)."""
        return _resolve(self.check)(list(levels)) if self.check else ""

    def is_neutral(self, value: Any) -> bool:
        """At the undegraded level (a missing value counts as neutral: the axis was not used)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return True
        if self.kind is str:
            return str(value) == str(self.neutral)
        return self.neutral is not None and _number(value) == _number(self.neutral)

    def ordered(self, levels: Iterable[Any]) -> list[Any]:
        """Levels as tables and figures list them: numbers ascending, text with neutral first."""
        distinct = list(dict.fromkeys(levels))
        if self.kind is str:
            return sorted(distinct, key=lambda v: (str(v) != str(self.neutral), str(v)))
        return sorted(distinct, key=_number)

    def mildest(self, levels: Iterable[Any]) -> Any:
        """The least degraded of these levels (longest, cleanest, driest, unfiltered)."""
        ordered = self.ordered(levels)
        return ordered[-1] if self.kind is not str and self.milder == "higher" else ordered[0]


def _resolve(spec: str) -> Callable[..., Any]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


# --------------------------------------------------------------------------------------------
# How the built-in axes read


def _duration_key(value: Any) -> str:
    return f"d{int(value)}"


def _snr_key(value: Any) -> str:
    return "snrclean" if math.isinf(_number(value)) else f"snr{_number(value):+g}"


def _reverb_key(value: Any) -> str:
    return f"rt{_number(value):g}"


def _duration_label(value: Any) -> str:
    return f"{_number(value):g} ms"


def _snr_label(value: Any) -> str:
    number = _number(value)
    return "clean" if math.isinf(number) and number > 0 else f"{number:+g} dB"


def _reverb_label(value: Any) -> str:
    return "dry" if _number(value) == 0 else f"RT60 {_number(value):g} s"


def _filter_label(value: Any) -> str:
    return "no filter" if value == "none" else str(value)


def _reverb_words(value: Any) -> str:
    return f"with reverberation (RT60 {_number(value):g} s)" if _number(value) > 0 else ""


FILTER_WORDS = {"bandpass": "band-pass filtered", "lowpass": "low-pass filtered", "highpass": "high-pass filtered"}


def _filter_words(value: Any) -> str:
    return FILTER_WORDS.get(str(value), "")


# Declaration order is the order of manifest columns, clip-id parts, the factorial product and
# the one-axis design's blocks; ``render_step`` is the order degradations are applied in.
AXES: dict[str, ConditionAxis] = {
    axis.column: axis
    for axis in (
        ConditionAxis(
            "duration", DURATION_COLUMN, int, "ms", "duration", "clip duration (ms)",
            factorial_levels="durations_ms", one_axis_levels="durations_ms", one_axis_neutral="neutral_duration_ms",
            # The cut comes after reverb (a clip carries the tail of what came before it) and
            # before the noise (the SNR is set over the clip itself).
            degrade="qwen_vad.data.degradations:cut", render_step=20, check="qwen_vad.data.degradations:check_durations",
            key=_duration_key, format_level=_duration_label, core=True, psychometric=True, log_scale=True,
        ),
        ConditionAxis(
            "snr", SNR_COLUMN, float, "dB", "SNR", "SNR (dB)",
            factorial_levels="snrs_db", one_axis_levels="snrs_db", one_axis_neutral="neutral_snr_db",
            degrade="qwen_vad.data.degradations:add_noise", render_step=30,
            key=_snr_key, format_level=_snr_label, neutral=math.inf, core=True, psychometric=True,
        ),
        ConditionAxis(
            "reverb", "reverb_rt60_s", float, "s", "reverberation", "reverberation RT60 (s)",
            factorial_levels="reverb_rt60_s", one_axis_levels="reverb_rt60_s",
            # On the whole segment, before the cut.
            degrade="qwen_vad.data.degradations:reverberate", render_step=10,
            key=_reverb_key, format_level=_reverb_label, neutral=0.0, milder="lower", describe=_reverb_words,
        ),
        ConditionAxis(
            "filter", "filter", str, "", "filter", "filter",
            factorial_levels="filters", one_axis_levels="filters",
            # The filter models the channel, so it acts on speech and noise alike: after the mix.
            degrade="qwen_vad.data.degradations:channel_filter", render_step=40, check="qwen_vad.data.degradations:check_filters",
            key=str, format_level=_filter_label, neutral="none", describe=_filter_words,
        ),
    )
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Readers


def axes() -> list[ConditionAxis]:
    return list(AXES.values())


def axis_columns() -> list[str]:
    return [axis.column for axis in AXES.values()]


def axis_of(column: str) -> ConditionAxis | None:
    return AXES.get(column)


def core_axes() -> list[ConditionAxis]:
    return [axis for axis in AXES.values() if axis.core]


def degradation_axes() -> list[ConditionAxis]:
    """The axes held at a neutral level unless a design varies them (reverb, filter, ...)."""
    return [axis for axis in AXES.values() if not axis.core]


def psychometric_axes() -> list[ConditionAxis]:
    return [axis for axis in AXES.values() if axis.psychometric]


def rendering_order() -> list[ConditionAxis]:
    return sorted(AXES.values(), key=lambda axis: axis.render_step)


def format_level(column: str, value: Any) -> str:
    """A level as the report shows it; a column that is no axis shows its value as is."""
    axis = AXES.get(column)
    return axis.format_level(value) if axis else str(value)


__all__ = [
    "AXES",
    "DURATION_COLUMN",
    "SNR_COLUMN",
    "ConditionAxis",
    "axes",
    "axis_columns",
    "axis_of",
    "core_axes",
    "degradation_axes",
    "format_level",
    "psychometric_axes",
    "rendering_order",
]
