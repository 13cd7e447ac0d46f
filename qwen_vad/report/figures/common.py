"""Small helpers the figure modules share: reading JSON numbers back, labelling conditions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# metrics.json / psychometric.json write NaN as null and +-inf as "inf" / "-inf" (see
# qwen_vad.analysis.jsonable); figures need floats again.


def as_float(value: Any) -> float:
    """A JSON number back as a float: null -> NaN, "inf"/"-inf" -> +-inf."""
    if value is None:
        return math.nan
    return float(value)


def is_clean(snr_db: Any) -> bool:
    return math.isinf(as_float(snr_db)) and as_float(snr_db) > 0


def snr_label(snr_db: Any) -> str:
    return "clean" if is_clean(snr_db) else f"{as_float(snr_db):+g} dB"


CONDITION_LABELS = {
    "duration_ms": lambda v: f"{as_float(v):g} ms",
    "snr_db": snr_label,
    "reverb_rt60_s": lambda v: "dry" if as_float(v) == 0 else f"RT60 {as_float(v):g} s",
    "filter": lambda v: "no filter" if v == "none" else str(v),
}
AXIS_NAMES = {"duration_ms": "duration", "snr_db": "SNR", "reverb_rt60_s": "reverberation", "filter": "filter"}


def condition_label(condition: Mapping[str, Any]) -> str:
    """"200 ms, +5 dB" for {"duration_ms": 200, "snr_db": 5}; "all clips" for {}."""
    parts = [CONDITION_LABELS.get(column, lambda v, c=column: f"{c}={v}")(value) for column, value in condition.items()]
    return ", ".join(parts) if parts else "all clips"
