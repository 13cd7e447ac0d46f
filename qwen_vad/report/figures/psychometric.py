"""Psychometric curves: the fitted function per system, the raw proportions it was fitted to
(marker area proportional to the clips at that level) and DT50 / DT75 with their bootstrap
intervals, one panel per level of the other condition axis (e.g. per clip duration).

Panels span the tested levels only. A threshold is drawn as a measured point (diamond with its
interval) only when it lies inside them (its ``status``, see
``qwen_vad.analysis.psychometric_thresholds``); an interval end past them stops at the edge
with an outward arrow; a threshold beyond them is an open arrow at the edge it passed, with no
interval; one the curve never reaches is not drawn."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from qwen_vad.analysis.psychometric import psychometric_value
from qwen_vad.analysis.psychometric_thresholds import is_log_scale
from qwen_vad.conditions import axis_of
from qwen_vad.report.figures.common import as_float, condition_label
from qwen_vad.report.style import (
    PANEL_SIZE,
    RC_PARAMS,
    SystemStyle,
    grid_shape,
    hide_unused,
    new_figure,
    save_figure,
    set_title,
    styled,
    system_styles,
)

Curve = Mapping[str, Any]  # one entry of a psychometric.json list (qwen_vad.analysis.psychometric_curves)
Panels = dict[str, list[tuple[str, Curve]]]  # panel title -> [(system, curve), ...]

MARKED_PROBABILITIES = (0.5, 0.75)  # DT50 and DT75, the thresholds the research plan reports
# The criterion-free curves start at chance (0.5): their threshold is where they reach 0.75.
MARKED_BY_MEASURE = {"sensitivity": (0.75,)}
THRESHOLD_PREFIX = {"sensitivity": "AUC"}
CENSORED_MARKERS = {"below_range": "<", "above_range": ">"}
THRESHOLD_MARKER = "D"  # no system style uses it (see style.py), so it never reads as a data point
DODGE_STEP = 0.015  # vertical offset between the threshold markers of neighbouring systems
MEASURE_TITLES = {"detection": "Speech detection", "correctness": "Correct answers", "sensitivity": "Criterion-free sensitivity"}
Y_LABELS = {"sensitivity": "AUC of p_speech, SPEECH vs NONSPEECH (2AFC)"}  # the analysis's label is long
LISTED_PANELS = 3  # a legend note names at most this many panels; more are counted
LEGEND_LABEL_CHARACTERS = 50  # longer legend labels wrap, so the legend fits the figure


@dataclass(frozen=True)
class Look:
    """What every panel of one figure draws alike."""

    styles: Mapping[str, SystemStyle]  # per system, in legend order (also the dodge order)
    probabilities: Sequence[float]  # the thresholds marked, e.g. DT50 and DT75
    size_scale: float  # marker area (pt^2) per clip at a level

    def dodge(self, system: str) -> float:
        """Vertical offset of a system's threshold markers, so CI bars do not hide each other."""
        slots = list(self.styles)
        return DODGE_STEP * (slots.index(system) - (len(slots) - 1) / 2)


def panels_of(psychometric: Mapping[str, Mapping[str, Sequence[Curve]]], curve_set: str) -> Panels:
    """One panel per condition (e.g. per duration), in the order the analysis wrote them
    (sorted by condition value)."""
    panels: Panels = {}
    for system, curve_sets in psychometric.items():
        for curve in curve_sets.get(curve_set, []):
            panels.setdefault(condition_label(curve["condition"]), []).append((system, curve))
    return panels


def is_fitted(curve: Curve) -> bool:
    return "skipped" not in curve and "counts" in curve


def clips_per_level(curve: Curve) -> list[float]:
    """Clips behind each level's proportion: the fit's trials, except for the criterion-free
    curves, whose trials are effective counts; there, the SPEECH and NONSPEECH clips."""
    counts = curve["counts"]
    if "n_speech" in counts:
        return [as_float(s) + as_float(n) for s, n in zip(counts["n_speech"], counts["n_nonspeech"])]
    return [as_float(v) for v in counts["trials"]]


def to_axis_units(levels: np.ndarray, axis: str) -> np.ndarray:
    """Fitted levels -> plotted values: the duration fit works on log10(ms), the plot in ms."""
    return np.power(10.0, levels) if is_log_scale(axis) else levels


def axis_label(axis: str) -> str:
    """"SNR (dB)", "clip duration (ms)" (qwen_vad.conditions)."""
    known = axis_of(axis)
    return known.label if known else axis


def axis_name(axis: str) -> str:
    """The axis label without its unit: "SNR", "clip duration"."""
    return axis_label(axis).split(" (")[0]


def marked_thresholds(curve: Curve, probabilities: Sequence[float]) -> list[Mapping[str, Any]]:
    """The thresholds to draw: inside the tested levels, or censored beyond them."""
    drawn = ("inside", *CENSORED_MARKERS)
    return [t for t in curve["thresholds"] if t["p"] in probabilities and t.get("status") in drawn]


def level_range(curves: Sequence[Curve]) -> tuple[float, float]:
    """The tested levels, padded by 5 %: the fit says nothing beyond them."""
    tested = [as_float(v) for c in curves for v in c["counts"]["level"]]
    low, high = min(tested), max(tested)
    pad = 0.05 * (high - low or 1.0)
    return low - pad, high + pad


def threshold_interval(threshold: Mapping[str, Any]) -> tuple[float, float]:
    """The cluster-bootstrap interval (it also covers variants of one clip failing together)
    when the analysis ran it, else the parametric one, in fit units; bounds may be +-inf."""
    interval = threshold.get("interval_cluster") or threshold["interval_parametric"]
    return as_float(interval["low"]), as_float(interval["high"])


def short_reason(reason: str) -> str:
    """The analysis's reason for not fitting a curve, shortened for a legend entry."""
    if re.match(r"gamma [\d.]+ leaves no room", reason):
        return "false-alarm rate too high"
    if "cannot identify" in reason:
        return "too few levels"
    return reason[:40]


def not_fitted_note(system: str, panels: Panels) -> str:
    """Which panels have no curve of ``system`` and why; empty when every curve was fitted."""
    missing = {
        title: curve["skipped"] for title, entries in panels.items() for name, curve in entries if name == system and "skipped" in curve
    }
    if not missing:
        return ""
    reasons = "; ".join(dict.fromkeys(short_reason(r) for r in missing.values()))
    if len(missing) == len(panels):
        where = "any condition"
    elif len(missing) <= LISTED_PANELS:
        where = ", ".join(missing)
    else:
        where = f"{len(missing)} of {len(panels)} conditions"
    return f" (not fitted in {where}: {reasons})"


def panel_description(curve_set: str, panels: Panels) -> str:
    """What the panels are, for the title: "one panel per clip duration", "pooled ..."."""
    if curve_set.endswith("_pooled"):
        return "pooled over the other axes"
    first_curve = next(iter(panels.values()))[0][1]
    others = list(first_curve["condition"])
    return f"one panel per {axis_name(others[0]) if len(others) == 1 and axis_of(others[0]) else 'condition of the other axes'}"


def draw_curve(ax: Axes, system: str, curve: Curve, x_range: tuple[float, float], look: Look) -> None:
    """Raw proportions (area by clips), the fitted function and the marked thresholds."""
    counts, axis, style = curve["counts"], curve["axis"], look.styles[system]
    levels = to_axis_units(np.array([as_float(v) for v in counts["level"]]), axis)
    proportion = [as_float(v) for v in counts["proportion"]]
    area = np.array(clips_per_level(curve)) * look.size_scale
    ax.scatter(levels, proportion, s=area, color=style.colour, marker=style.marker, alpha=0.55, linewidths=0)
    grid = np.linspace(*x_range, 200)
    p = curve["parameters"]
    fitted = psychometric_value(grid, p["alpha"], p["beta"], p["gamma"], p["lambda"], curve["sigmoid"])
    ax.plot(to_axis_units(grid, axis), fitted, color=style.colour, linestyle=style.linestyle)
    tested = (float(min(as_float(v) for v in counts["level"])), float(max(as_float(v) for v in counts["level"])))
    for threshold in marked_thresholds(curve, look.probabilities):
        draw_threshold(ax, threshold, axis, style, tested, look.dodge(system))


def draw_threshold(
    ax: Axes, threshold: Mapping[str, Any], axis: str, style: SystemStyle, tested: tuple[float, float], dodge: float
) -> None:
    """DT_p at level p (+ the system's ``dodge``): inside the tested levels a diamond with its
    CI bar, the bar stopped at the tested edges with an outward arrow where it goes on; beyond
    them an open arrow at the edge it passed, no bar."""
    y = threshold["p"] + dodge
    edge_marker = {"markersize": 7, "markerfacecolor": "white", "markeredgecolor": style.colour, "markeredgewidth": 1.4}
    status = threshold["status"]
    if status in CENSORED_MARKERS:
        x = tested[0] if status == "below_range" else tested[1]
        ax.plot(to_axis_units(np.array([x]), axis), [y], marker=CENSORED_MARKERS[status], linestyle="none", clip_on=False, **edge_marker)
        return
    low, high = threshold_interval(threshold)
    ends = np.clip([low, high], *tested)
    ax.plot(to_axis_units(ends, axis), [y, y], color=style.colour, linewidth=1.0, solid_capstyle="butt")
    for end, beyond, marker in ((ends[0], low < tested[0], "<"), (ends[1], high > tested[1], ">")):
        if beyond:
            ax.plot(to_axis_units(np.array([end]), axis), [y], marker=marker, markersize=4, color=style.colour, linestyle="none", clip_on=False)
    ax.plot(
        to_axis_units(np.array([threshold["x"]]), axis), [y], marker=THRESHOLD_MARKER, markersize=7, markerfacecolor=style.colour,
        markeredgecolor="black", markeredgewidth=0.8, linestyle="none", clip_on=False,
    )  # fmt: skip


def use_tested_durations_as_ticks(ax: Axes, curves: Sequence[Curve]) -> None:
    """A log axis in ms labelled at the tested durations ("200", not "2 x 10^2")."""
    durations = sorted({round(10 ** as_float(v)) for c in curves for v in c["counts"]["level"]})
    ax.set_xscale("log")
    ax.set_xticks(durations, [f"{d:g}" for d in durations])
    ax.xaxis.set_minor_formatter(NullFormatter())


def draw_panel(ax: Axes, title: str, entries: Sequence[tuple[str, Curve]], look: Look) -> None:
    """One condition (with at least one fitted curve): every fitted system's curve on a shared
    level range."""
    fitted = [(system, curve) for system, curve in entries if is_fitted(curve)]
    ax.set_title(title)
    ax.set_ylim(-0.03, 1.03)
    for p in look.probabilities:
        ax.axhline(p, color="0.6", linewidth=0.6, linestyle=":")
    x_range = level_range([curve for _, curve in fitted])
    for system, curve in fitted:
        draw_curve(ax, system, curve, x_range, look)
    axis = fitted[0][1]["axis"]
    if is_log_scale(axis):
        use_tested_durations_as_ticks(ax, [curve for _, curve in fitted])
    ax.set_xlim(*to_axis_units(np.array(x_range), axis))


def legend_handles(
    notes: Mapping[str, str], drawn: set[str], look: Look, trial_range: tuple[float, float], prefix: str = "DT"
) -> list[Line2D]:
    """Systems (with a note where curves are missing; faded when none is ``drawn``),
    threshold markers, marker sizes."""
    handles = []
    for system, note in notes.items():
        style = look.styles[system]
        line = {"color": style.colour, "linestyle": style.linestyle, "marker": style.marker}
        label = textwrap.fill(system + note, width=LEGEND_LABEL_CHARACTERS, subsequent_indent="  ")
        handles.append(Line2D([], [], **line, label=label, alpha=1.0 if system in drawn else 0.4))
    names = "/".join(f"{prefix}{round(p * 100)}" for p in look.probabilities)
    edge = {"markeredgecolor": "0.4", "markerfacecolor": "white", "markeredgewidth": 1.4, "linestyle": "none"}
    handles += [
        Line2D([], [], marker=THRESHOLD_MARKER, color="0.4", markeredgecolor="black", linewidth=1.0, label=f"{names} ± 95% CI (inside the tested levels)"),
        Line2D([], [], marker=">", **edge, label=f"{prefix} beyond the tested levels (censored, no value)"),
    ]
    for n in sorted(set(trial_range)):
        size = float(np.sqrt(n * look.size_scale))
        handles.append(Line2D([], [], marker="o", color="0.5", alpha=0.45, linestyle="none", markersize=size, label=f"n = {n:g} clips"))
    return handles


@styled
def plot_psychometric_curves(
    psychometric: Mapping[str, Mapping[str, Sequence[Curve]]],
    curve_set: str = "detection_vs_snr_db",
    probabilities: Sequence[float] | None = None,
) -> Figure | None:
    """``psychometric``: psychometric.json ({system: {curve_set: [curve, ...]}}); ``curve_set``
    e.g. "detection_vs_snr_db" (one panel per duration) or "correctness_vs_duration_ms";
    ``probabilities``: the thresholds marked (default DT50 and DT75; AUC75 for sensitivity).
    None when no system has a fitted curve in that set."""
    measure = curve_set.split("_vs_")[0]
    probabilities = probabilities or MARKED_BY_MEASURE.get(measure, MARKED_PROBABILITIES)
    panels = panels_of(psychometric, curve_set)
    fitted = [curve for entries in panels.values() for _, curve in entries if is_fitted(curve)]
    if not fitted:
        return None
    trials = [n for curve in fitted for n in clips_per_level(curve)]
    look = Look(system_styles(psychometric), probabilities, size_scale=60.0 / max(trials))  # largest level: 60 pt^2
    # Conditions without any fitted curve (one level only, as most are in a one-axis design)
    # get no empty panel; the legend notes say which systems were not fitted where.
    drawn = {title: entries for title, entries in panels.items() if any(is_fitted(curve) for _, curve in entries)}
    rows, cols = grid_shape(len(drawn), max_cols=2)
    # A lone panel (pooled curves) is drawn larger: it carries the figure's title and legend alone.
    fig, axes = new_figure(rows, cols, panel_size=PANEL_SIZE if len(drawn) > 1 else (5.0, 3.6), sharey=True)
    axis = fitted[0]["axis"]
    for ax, (title, entries) in zip(axes, drawn.items()):
        draw_panel(ax, title, entries, look)
        ax.set_xlabel(axis_label(axis))
    hide_unused(axes, len(drawn))
    y_label = Y_LABELS.get(measure, fitted[0]["measure"])
    fig.supylabel(y_label, fontsize=RC_PARAMS["axes.labelsize"])  # shared y: one label, never two overlapping
    set_title(fig, f"{MEASURE_TITLES.get(measure, measure)} vs {axis_name(axis)} ({panel_description(curve_set, panels)})")
    notes = {s: not_fitted_note(s, panels) for s in psychometric if psychometric[s].get(curve_set)}
    drawn_systems = {system for entries in drawn.values() for system, curve in entries if is_fitted(curve)}
    handles = legend_handles(notes, drawn_systems, look, (min(trials), max(trials)), THRESHOLD_PREFIX.get(measure, "DT"))
    fig.legend(handles=handles, loc="outside lower center", ncols=2 if fig.get_figwidth() >= 6 else 1)
    return fig


def psychometric_figure(
    psychometric: Mapping[str, Mapping[str, Sequence[Curve]]],
    out_dir: str | Path,
    curve_set: str = "detection_vs_snr_db",
    probabilities: Sequence[float] | None = None,
) -> list[Path]:
    """Writes ``psychometric_<curve_set>.pdf/.png``; [] when nothing was fitted."""
    figure = plot_psychometric_curves(psychometric, curve_set, probabilities)
    return save_figure(figure, out_dir, f"psychometric_{curve_set}")
