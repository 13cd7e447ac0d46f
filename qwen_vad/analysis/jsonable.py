"""Turn analysis results into values ``json.dumps(..., allow_nan=False)`` accepts.

Analysis functions return numpy scalars, NaN for "undefined" and inf for the clean condition
(``snr_db = inf``). JSON has none of these, so: NaN becomes null (undefined), +-inf become the
strings "inf" / "-inf" (a real value, not a missing one), numpy types become Python types,
DataFrames become lists of records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def json_float(value: float) -> float | str | None:
    """NaN -> None, +-inf -> "inf"/"-inf", anything else -> float."""
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def json_key(key: Any) -> str:
    """Mapping keys must be strings in JSON; floats keep their shortest spelling (5.0 -> "5")."""
    if isinstance(key, str):
        return key
    converted = to_jsonable(key)
    if isinstance(converted, float) and converted.is_integer():
        return str(int(converted))
    return str(converted)


def to_jsonable(value: Any) -> JSONValue:
    """Recursively convert ``value`` into plain JSON types (see module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return json_float(value)
    if isinstance(value, pd.DataFrame):
        return [to_jsonable(record) for record in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return [to_jsonable(item) for item in value.tolist()]
    if isinstance(value, np.ndarray):
        return [to_jsonable(item) for item in value.tolist()]
    if isinstance(value, Mapping):
        return {json_key(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"cannot convert {type(value).__name__} to JSON: {value!r}")
