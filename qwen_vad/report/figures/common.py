"""Small helpers the figure modules share: reading JSON numbers back, labelling conditions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from qwen_vad.conditions import axis_of, format_level

# metrics.json / psychometric.json write NaN as null and +-inf as "inf" / "-inf" (see
# qwen_vad.analysis.jsonable); figures need floats again.


def as_float(value: Any) -> float:
    """A JSON number back as a float: null -> NaN, "inf"/"-inf" -> +-inf."""
    if value is None:
        return math.nan
    return float(value)


def condition_label(condition: Mapping[str, Any]) -> str:
    """"200 ms, +5 dB" for {"duration_ms": 200, "snr_db": 5} (each axis's own format,
    qwen_vad.conditions; another column as column=value); "all clips" for {}."""
    parts = [format_level(column, value) if axis_of(column) else f"{column}={value}" for column, value in condition.items()]
    return ", ".join(parts) if parts else "all clips"
