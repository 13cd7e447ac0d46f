"""Reliability diagrams: accuracy against confidence of the chosen class per bin (from the
calibration block of metrics.json), before and after temperature scaling, with the share of
clips per bin underneath so a bin of three clips is not read like a bin of three hundred."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from qwen_vad.report.figures.common import as_float
from qwen_vad.report.style import SystemStyle, grid_shape, new_figure, save_figure, set_title, styled, system_styles

SystemMetrics = Mapping[str, Any]  # metrics.json["systems"][name]
Bin = Mapping[str, Any]  # one entry of calibration["bins"] (qwen_vad.analysis.calibration)


def non_empty(bins: Sequence[Bin]) -> list[Bin]:
    return [b for b in bins if b["count"] > 0]


def scaled_bins(metrics: SystemMetrics) -> list[Bin]:
    """Test-split bins after temperature scaling (fitted on dev); [] when it was not run."""
    scaling = metrics.get("temperature_scaling")
    return non_empty(scaling["test"]["after"]["bins"]) if scaling else []


def draw_bins(ax: Axes, bins: Sequence[Bin], heights: Sequence[float], style: SystemStyle) -> None:
    """Bars spanning each confidence bin."""
    lower = [b["lower"] for b in bins]
    width = [b["upper"] - b["lower"] for b in bins]
    ax.bar(lower, heights, width=width, align="edge", color=style.colour, alpha=0.75, edgecolor="white", linewidth=0.5)


def draw_reliability(ax: Axes, bins: Sequence[Bin], after: Sequence[Bin], style: SystemStyle) -> None:
    """Bars: accuracy per confidence bin as scored; points: the same after temperature scaling."""
    draw_bins(ax, non_empty(bins), [as_float(b["accuracy"]) for b in non_empty(bins)], style)
    ax.plot([0, 1], [0, 1], color="0.4", linestyle=":", linewidth=0.8)
    if after:
        confidence, accuracy = [as_float(b["mean_confidence"]) for b in after], [as_float(b["accuracy"]) for b in after]
        ax.plot(confidence, accuracy, marker="o", markersize=3.5, color="black", linewidth=0.8)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), ylabel="accuracy in bin")
    ax.tick_params(labelbottom=False)


def draw_bin_counts(ax: Axes, bins: Sequence[Bin], style: SystemStyle) -> None:
    """Share of the clips in each bin: a bin of three clips must not read like one of three hundred."""
    total = sum(b["count"] for b in bins) or 1
    draw_bins(ax, bins, [b["count"] / total for b in bins], style)
    ax.set(xlim=(0, 1), xlabel="confidence of the chosen answer", ylabel="clips")
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")


def panel_title(name: str, calibration: Mapping[str, Any], metrics: SystemMetrics) -> str:
    """System, ECE and MCE as scored, and the ECE after temperature scaling when it ran."""
    title = f"{name}: ECE {as_float(calibration['ece']):.3f}, MCE {as_float(calibration['mce']):.2f}"
    scaling = metrics.get("temperature_scaling")
    if scaling:
        title += f"\nafter T = {scaling['temperature']:.3g}: ECE {as_float(scaling['test']['after']['ece']):.3f}"
    return title


def panel_pair(axes: Sequence[Axes], index: int, cols: int) -> tuple[Axes, Axes]:
    """The diagram and the histogram under it of the index-th system: each grid row of
    systems is two figure rows."""
    row, col = divmod(index, cols)
    return axes[2 * row * cols + col], axes[(2 * row + 1) * cols + col]


@styled
def plot_reliability_diagrams(systems: Mapping[str, SystemMetrics]) -> Figure | None:
    """One reliability diagram (and bin-share histogram) per system with a confidence;
    None when no system has one."""
    calibrated = {name: m for name, m in systems.items() if m["calibration"]["n"] > 0}
    if not calibrated:
        return None
    styles = system_styles(systems)
    rows, cols = grid_shape(len(calibrated))
    fig, axes = new_figure(2 * rows, cols, panel_size=(3.0, 1.6), height_ratios=[3, 1] * rows)
    for index, (name, metrics) in enumerate(calibrated.items()):
        top, bottom = panel_pair(axes, index, cols)
        calibration = metrics["calibration"]
        draw_reliability(top, calibration["bins"], scaled_bins(metrics), styles[name])
        draw_bin_counts(bottom, calibration["bins"], styles[name])
        bottom.sharex(top)
        top.set_title(panel_title(name, calibration, metrics))
    for index in range(len(calibrated), rows * cols):
        for ax in panel_pair(axes, index, cols):
            ax.set_visible(False)
    handles = [
        Patch(color="0.5", alpha=0.75, label="as scored (bars)"),
        Line2D([], [], color="black", marker="o", markersize=3.5, linewidth=0.8, label="after temperature scaling (T fitted on dev)"),
        Line2D([], [], color="0.4", linestyle=":", label="perfect calibration"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3 if cols > 1 else 1)
    set_title(fig, "Reliability diagrams, test split (confidence = p of the answered class)")
    return fig


def reliability_figure(systems: Mapping[str, SystemMetrics], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_reliability_diagrams(systems), out_dir, "reliability_diagrams")
