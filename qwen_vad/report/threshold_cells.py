"""Psychometric thresholds as table cells: a number only where the data support one.

The analysis classifies every threshold against the tested levels (``status``, see
``qwen_vad.analysis.psychometric_thresholds``); this module turns one entry of a curve's
``thresholds`` list in psychometric.json, or one per seed, into text:

    inside        "-2.3 [-3.1, -1.5]"   value [95 % interval]; an end past the tested levels
                  "-4.2 [< -5, -1.5]"   is censored at that edge
    below_range   "< -5 dB"             beyond the lowest tested level: no number, no interval
    above_range   "> 20 dB", "> 1000 ms"
    not_reached   "not reached"         the fitted curve never reaches p
    below_floor   "undefined (floor >= 0.5)"   the curve never falls to p (p <= gamma)
    not fitted    "not fitted"          the curve could not be fitted (reason in the JSON)

and appends "(alpha at bound)" when an estimate sits on a bound that is a modelling device.
Text is plain ASCII apart from "±" (the LaTeX writer escapes it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

NOT_FITTED = "not fitted"
DIGITS = {"dB": 1, "ms": 0}  # a tenth of a dB; whole milliseconds
THRESHOLD_NOTE = (
    "Thresholds: a value with its 95 % bootstrap interval only when it lies inside the tested "
    "levels (an interval end past them shows as < or > that level); beyond them the cell says "
    "< lowest or > highest level tested, with no number; 'not reached': the fitted curve never "
    "gets there; 'undefined (floor >= p)': the curve starts above p (DT50 of a system whose "
    "false-alarm rate is 50 % or more); '(... at bound)': an estimate sits on the fit's box. "
    "Seeds: mean ± sd over the seeds whose threshold is inside the tested levels, with how many "
    "of all seeds that is."
)


def _number(value: float, unit: str) -> str:
    text = f"{value:.{DIGITS.get(unit, 1)}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # "-0.0" reads as 0.0


def _edge(value: Any, unit: str) -> str:
    """A tested level as written in a censored statement: "-5", "20", "1000"."""
    return f"{float(value):g}" if unit != "ms" else f"{float(value):.0f}"


def bound_note(entry: Mapping[str, Any]) -> str:
    hits = entry.get("parameters_at_bound") or {}
    names = [("beta" if name == "log_beta" else name) for name in hits]
    return f" ({', '.join(names)} at bound)" if names else ""


def _interval_text(entry: Mapping[str, Any], unit: str) -> str:
    interval = entry.get("interval")
    if not interval:
        return ""
    low, high = entry["tested_range"]
    lo = f"< {_edge(low, unit)}" if interval["low_censored"] else _number(float(interval["low"]), unit)
    hi = f"> {_edge(high, unit)}" if interval["high_censored"] else _number(float(interval["high"]), unit)
    return f" [{lo}, {hi}]"


def censored_text(entry: Mapping[str, Any]) -> str | None:
    """The text of a threshold that has no value (None for one inside the tested levels)."""
    status = entry.get("status")
    unit = entry.get("unit", "")
    if status == "below_range":
        return f"< {_edge(entry['tested_range'][0], unit)} {unit}".rstrip()
    if status == "above_range":
        return f"> {_edge(entry['tested_range'][1], unit)} {unit}".rstrip()
    if status == "not_reached":
        return "not reached"
    if status == "below_floor":
        return f"undefined (floor >= {entry['p']:g})"
    if status == NOT_FITTED:
        return NOT_FITTED
    if status is None:
        # psychometric.json written before thresholds carried a status: never show an
        # extrapolated value as a number.
        if entry.get("x") is None:
            return "not reached"
        return "beyond the tested levels" if entry.get("extrapolated") else None
    return None


def threshold_cell(entry: Mapping[str, Any] | None) -> str:
    """One threshold (an entry of a curve's ``thresholds``) as a cell; None: not fitted."""
    if entry is None:
        return NOT_FITTED
    text = censored_text(entry)
    if text is None:
        unit = entry.get("unit", "")
        value = entry.get("value", entry.get("x"))
        text = _number(float(value), unit) + _interval_text(entry, unit)
    # A curve that starts above p has no threshold whatever its bounds; elsewhere a bound matters.
    return text if entry.get("status") in (NOT_FITTED, "below_floor") else text + bound_note(entry)


def is_inside(entry: Mapping[str, Any] | None) -> bool:
    return entry is not None and censored_text(entry) is None


def aggregate_threshold_cells(entries: Sequence[Mapping[str, Any] | None]) -> str:
    """One threshold over seeds. One seed: its cell. Several: mean ± sd over the seeds whose
    threshold lies inside the tested levels ("k/n seeds reached"), and what the others said;
    a single such seed shows its value without an sd; none: what the seeds said, counted."""
    n = len(entries)
    if n == 0:
        return "n/a"
    if n == 1:
        return threshold_cell(entries[0])
    inside = [e for e in entries if is_inside(e)]
    others = Counter(censored_text(e) if e is not None else NOT_FITTED for e in entries if not is_inside(e))
    described = ", ".join(f"{count} {text}" for text, count in sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))
    at_bound = sum(1 for e in entries if e is not None and e.get("status") != "below_floor" and bound_note(e))
    bound = [f"{at_bound} at bound"] if at_bound else []
    if not inside:
        if len(others) == 1:
            return f"{next(iter(others))} ({'; '.join([f'{n}/{n} seeds', *bound])})"
        return f"0/{n} seeds reached ({'; '.join([described, *bound])})"
    unit = inside[0].get("unit", "")
    values = np.array([float(e.get("value", e.get("x"))) for e in inside])
    notes = [f"{len(inside)}/{n} seeds reached", *([described] if described else []), *bound]
    centre = _number(float(values.mean()), unit)
    spread = f" ± {_number(float(values.std(ddof=1)), unit)}" if len(values) > 1 else ""
    return f"{centre}{spread} ({'; '.join(notes)})"


def tested_range_text(entry: Mapping[str, Any] | None) -> str:
    """"-5..20 dB": the levels a threshold was measured over."""
    if not entry or "tested_range" not in entry:
        return ""
    low, high = entry["tested_range"]
    unit = entry.get("unit", "")
    return f"{_edge(low, unit)}..{_edge(high, unit)} {unit}".rstrip()
