"""Accuracy against latency, with the Pareto frontier: the systems no other system beats on
both (at most as slow and at least as accurate, better on one)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from qwen_vad.report.figures.common import as_float
from qwen_vad.report.style import new_figure, save_figure, styled, system_styles

SystemMetrics = Mapping[str, Any]  # metrics.json["systems"][name]


def pareto_frontier(latency: Sequence[float], accuracy: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates (latency lower is better, accuracy
    higher is better), ordered by latency. A point is dominated by one at most as slow and
    at least as accurate that is strictly better on one of the two; equal points both stay."""
    points = list(zip(latency, accuracy))
    frontier = [
        i
        for i, (lat_i, acc_i) in enumerate(points)
        if not any(lat_j <= lat_i and acc_j >= acc_i and (lat_j < lat_i or acc_j > acc_i) for lat_j, acc_j in points)
    ]
    return sorted(frontier, key=lambda i: (points[i][0], -points[i][1]))


LABEL_OFFSETS = ((6, 4), (6, -11), (-6, 4), (-6, -11))  # points: right-above, right-below, left-...
CROWDED = 0.07  # labels whose points are closer than this (share of the axes) take another offset


def label_offsets(x: Sequence[float], y: Sequence[float]) -> list[tuple[int, int]]:
    """An offset per point (x, y in axes fractions) so that neighbouring labels do not print
    over each other: each point takes the first offset no nearby, already labelled point uses."""
    chosen: list[tuple[int, int]] = []
    for i in range(len(x)):
        taken = {chosen[j] for j in range(i) if math.hypot(x[i] - x[j], y[i] - y[j]) < CROWDED}
        chosen.append(next((o for o in LABEL_OFFSETS if o not in taken), LABEL_OFFSETS[0]))
    return chosen


def axes_fractions(ax: Axes, x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    """Data coordinates as fractions of the axes (log or linear, as the axes are set)."""
    points = ax.transAxes.inverted().transform(ax.transData.transform(np.column_stack([x, y])))
    return list(points[:, 0]), list(points[:, 1])


def latency_points(systems: Mapping[str, SystemMetrics]) -> dict[str, dict[str, float]]:
    """Median latency (ms) and balanced accuracy with its bootstrap interval, per system that
    recorded latency."""
    points = {}
    for name, metrics in systems.items():
        summary = metrics["summary"]
        median = as_float(summary["latency"].get("median_ms"))
        if not summary["latency"].get("n") or not math.isfinite(median) or median <= 0:
            continue
        interval = summary.get("bootstrap", {}).get("intervals", {}).get("balanced_accuracy", {})
        points[name] = {
            "latency_ms": median,
            "p95_ms": as_float(summary["latency"].get("p95_ms")),
            "balanced_accuracy": as_float(summary["balanced_accuracy"]),
            "low": as_float(interval.get("low")),
            "high": as_float(interval.get("high")),
        }
    return points


@styled
def plot_accuracy_vs_latency(systems: Mapping[str, SystemMetrics]) -> Figure | None:
    """Balanced accuracy (with bootstrap CI) against median per-clip latency on a log axis,
    the Pareto frontier as a staircase; None when no system recorded latency."""
    points = latency_points(systems)
    if not points:
        return None
    styles = system_styles(systems)
    names = list(points)
    latency = [points[n]["latency_ms"] for n in names]
    accuracy = [points[n]["balanced_accuracy"] for n in names]
    frontier = [names[i] for i in pareto_frontier(latency, accuracy)]
    fig, (ax,) = new_figure(1, 1, panel_size=(5.4, 3.8))
    ax.set_xscale("log")
    # The staircase: from each frontier system, accuracy holds until the next faster-but-better one.
    steps_x = [points[n]["latency_ms"] for n in frontier]
    steps_y = [points[n]["balanced_accuracy"] for n in frontier]
    ax.step(steps_x, steps_y, where="post", color="0.55", linewidth=1.0, linestyle="--", zorder=1, label="Pareto frontier")
    for name in names:
        p, style = points[name], styles[name]
        has_ci = math.isfinite(p["low"]) and math.isfinite(p["high"])
        yerr = [[p["balanced_accuracy"] - p["low"]], [p["high"] - p["balanced_accuracy"]]] if has_ci else None
        marker = {"marker": style.marker, "markersize": 7, "color": style.colour, "markeredgecolor": "black"}
        ax.errorbar(p["latency_ms"], p["balanced_accuracy"], yerr=yerr, **marker, capsize=2, linestyle="none", zorder=2, label=name)
    low_x, high_x = min(latency), max(latency)
    ax.set_xlim(low_x / 2, high_x * 2)  # a factor of 2 of room on the log axis for labels
    ax.axhline(0.5, color="0.7", linestyle=":", linewidth=0.8)
    ax.set_ylim(min(0.45, np.nanmin([points[n]["low"] for n in names] + accuracy) - 0.03), 1.02)
    # Labels last: their offsets depend on where the final axis limits put the points.
    for name, offset in zip(names, label_offsets(*axes_fractions(ax, latency, accuracy))):
        point = (points[name]["latency_ms"], points[name]["balanced_accuracy"])
        ax.annotate(name, point, xytext=offset, textcoords="offset points", fontsize=7.5, ha="left" if offset[0] > 0 else "right")
    # Ticks at 1-2-5 steps written as plain numbers: latencies span only a decade or two,
    # where matplotlib's default minor labels (3x10^-1, 4x10^-1) collide.
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("median latency per clip (ms, log scale)")
    ax.set_ylabel("balanced accuracy (test)")
    ax.set_title("Accuracy vs latency (bars: 95% bootstrap CI; dotted: chance)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def accuracy_latency_figure(systems: Mapping[str, SystemMetrics], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_accuracy_vs_latency(systems), out_dir, "accuracy_vs_latency")
