"""Psychometric curves: the fitted function per system, the raw proportions it was fitted to
(marker area proportional to the clips at that level) and DT50 / DT75 with their bootstrap
intervals, one panel per level of the other condition axis (e.g. per clip duration)."""

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
THRESHOLD_MARKER = "D"  # no system style uses it (see style.py), so it never reads as a data point
DODGE_STEP = 0.015  # vertical offset between the threshold markers of neighbouring systems
MEASURE_TITLES = {"detection": "Speech detection", "correctness": "Correct answers"}
AXIS_LABELS = {"snr_db": "SNR (dB)", "duration_ms": "clip duration (ms)"}
PANEL_NAMES = {("duration_ms",): "clip duration", ("snr_db",): "SNR"}
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


def to_axis_units(levels: np.ndarray, axis: str) -> np.ndarray:
    """Fitted levels -> plotted values: the duration fit works on log10(ms), the plot in ms."""
    return np.power(10.0, levels) if axis == "duration_ms" else levels


def marked_thresholds(curve: Curve, probabilities: Sequence[float]) -> list[Mapping[str, Any]]:
    return [t for t in curve["thresholds"] if t["p"] in probabilities and t["x"] is not None]


def level_range(curves: Sequence[Curve], probabilities: Sequence[float]) -> tuple[float, float]:
    """The tested levels, widened to show extrapolated thresholds up to half the tested span
    beyond them (further out the fit says little, and the tested levels would be squeezed
    into a corner), padded by 5 %."""
    tested = [as_float(v) for c in curves for v in c["counts"]["level"]]
    low, high = min(tested), max(tested)
    reach = 0.5 * (high - low)
    thresholds = [t["x"] for c in curves for t in marked_thresholds(c, probabilities)]
    low = min([low, *(max(x, low - reach) for x in thresholds)])
    high = max([high, *(min(x, high + reach) for x in thresholds)])
    pad = 0.05 * (high - low or 1.0)
    return low - pad, high + pad


def threshold_interval(threshold: Mapping[str, Any]) -> tuple[float, float]:
    """The cluster-bootstrap interval (it also covers variants of one clip failing together)
    when the analysis ran it, else the parametric one; bounds may be +-inf."""
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
    return f"one panel per {PANEL_NAMES.get(tuple(first_curve['condition']), 'condition of the other axes')}"


def draw_curve(ax: Axes, system: str, curve: Curve, x_range: tuple[float, float], look: Look) -> None:
    """Raw proportions (area by clips), the fitted function and the marked thresholds."""
    counts, axis, style = curve["counts"], curve["axis"], look.styles[system]
    levels = to_axis_units(np.array([as_float(v) for v in counts["level"]]), axis)
    proportion = [as_float(v) for v in counts["proportion"]]
    area = np.array([as_float(v) for v in counts["trials"]]) * look.size_scale
    ax.scatter(levels, proportion, s=area, color=style.colour, marker=style.marker, alpha=0.55, linewidths=0)
    grid = np.linspace(*x_range, 200)
    p = curve["parameters"]
    fitted = psychometric_value(grid, p["alpha"], p["beta"], p["gamma"], p["lambda"], curve["sigmoid"])
    ax.plot(to_axis_units(grid, axis), fitted, color=style.colour, linestyle=style.linestyle)
    for threshold in marked_thresholds(curve, look.probabilities):
        draw_threshold(ax, threshold, axis, style, x_range, look.dodge(system))


def draw_threshold(
    ax: Axes, threshold: Mapping[str, Any], axis: str, style: SystemStyle, x_range: tuple[float, float], dodge: float
) -> None:
    """DT_p as a diamond at level p (+ the system's ``dodge``) with a horizontal CI bar,
    clipped to the panel: an infinite bound means some resampled curves never reach p. A DT
    beyond the panel is an open triangle at the edge, pointing to where it lies."""
    low, high = np.clip(threshold_interval(threshold), *x_range)
    y = threshold["p"] + dodge
    ax.plot(to_axis_units(np.array([low, high]), axis), [y, y], color=style.colour, linewidth=1.0, solid_capstyle="butt")
    x, marker = threshold["x"], THRESHOLD_MARKER
    if not x_range[0] <= x <= x_range[1]:
        x, marker = (x_range[1], ">") if x > x_range[1] else (x_range[0], "<")
    face = "white" if threshold["extrapolated"] else style.colour
    ax.plot(
        to_axis_units(np.array([x]), axis), [y], marker=marker, markersize=7, markerfacecolor=face,
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
    x_range = level_range([curve for _, curve in fitted], look.probabilities)
    for system, curve in fitted:
        draw_curve(ax, system, curve, x_range, look)
    axis = fitted[0][1]["axis"]
    if axis == "duration_ms":
        use_tested_durations_as_ticks(ax, [curve for _, curve in fitted])
    ax.set_xlim(*to_axis_units(np.array(x_range), axis))


def legend_handles(notes: Mapping[str, str], drawn: set[str], look: Look, trial_range: tuple[float, float]) -> list[Line2D]:
    """Systems (with a note where curves are missing; faded when none is ``drawn``),
    threshold markers, marker sizes."""
    handles = []
    for system, note in notes.items():
        style = look.styles[system]
        line = {"color": style.colour, "linestyle": style.linestyle, "marker": style.marker}
        label = textwrap.fill(system + note, width=LEGEND_LABEL_CHARACTERS, subsequent_indent="  ")
        handles.append(Line2D([], [], **line, label=label, alpha=1.0 if system in drawn else 0.4))
    names = "/".join(f"DT{round(p * 100)}" for p in look.probabilities)
    edge = {"markeredgecolor": "black", "markerfacecolor": "white", "linestyle": "none"}
    handles += [
        Line2D([], [], marker=THRESHOLD_MARKER, color="0.4", markeredgecolor="black", linewidth=1.0, label=f"{names} ± 95% CI"),
        Line2D([], [], marker=THRESHOLD_MARKER, **edge, label="DT outside the tested levels"),
        Line2D([], [], marker=">", **edge, label="DT beyond the plotted range"),
    ]
    for n in sorted(set(trial_range)):
        size = float(np.sqrt(n * look.size_scale))
        handles.append(Line2D([], [], marker="o", color="0.5", alpha=0.45, linestyle="none", markersize=size, label=f"n = {n:g} clips"))
    return handles


@styled
def plot_psychometric_curves(
    psychometric: Mapping[str, Mapping[str, Sequence[Curve]]],
    curve_set: str = "detection_vs_snr_db",
    probabilities: Sequence[float] = MARKED_PROBABILITIES,
) -> Figure | None:
    """``psychometric``: psychometric.json ({system: {curve_set: [curve, ...]}}); ``curve_set``
    e.g. "detection_vs_snr_db" (one panel per duration) or "correctness_vs_duration_ms".
    None when no system has a fitted curve in that set."""
    panels = panels_of(psychometric, curve_set)
    fitted = [curve for entries in panels.values() for _, curve in entries if is_fitted(curve)]
    if not fitted:
        return None
    trials = [as_float(n) for curve in fitted for n in curve["counts"]["trials"]]
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
        ax.set_xlabel(AXIS_LABELS[axis])
    hide_unused(axes, len(drawn))
    fig.supylabel(fitted[0]["measure"], fontsize=RC_PARAMS["axes.labelsize"])  # shared y: one label, never two overlapping
    measure = curve_set.split("_vs_")[0]
    axis_name = AXIS_LABELS[axis].split(" (")[0]
    set_title(fig, f"{MEASURE_TITLES.get(measure, measure)} vs {axis_name} ({panel_description(curve_set, panels)})")
    notes = {s: not_fitted_note(s, panels) for s in psychometric if psychometric[s].get(curve_set)}
    drawn_systems = {system for entries in drawn.values() for system, curve in entries if is_fitted(curve)}
    handles = legend_handles(notes, drawn_systems, look, (min(trials), max(trials)))
    fig.legend(handles=handles, loc="outside lower center", ncols=2 if fig.get_figwidth() >= 6 else 1)
    return fig


def psychometric_figure(
    psychometric: Mapping[str, Mapping[str, Sequence[Curve]]],
    out_dir: str | Path,
    curve_set: str = "detection_vs_snr_db",
    probabilities: Sequence[float] = MARKED_PROBABILITIES,
) -> list[Path]:
    """Writes ``psychometric_<curve_set>.pdf/.png``; [] when nothing was fitted."""
    figure = plot_psychometric_curves(psychometric, curve_set, probabilities)
    return save_figure(figure, out_dir, f"psychometric_{curve_set}")
