"""Where each system is right and wrong, from metrics.json: balanced accuracy per SNR x
duration cell, confusion matrices, ROC and precision-recall curves, and the trade-off between
SPEECH and NONSPEECH recall."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from qwen_vad import LABELS, NONSPEECH, SPEECH
from qwen_vad.conditions import DURATION_COLUMN, SNR_COLUMN, axis_of, degradation_axes, format_level
from qwen_vad.report.figures.common import as_float
from qwen_vad.report.style import CMAP_SEQUENTIAL, grid_shape, hide_unused, new_figure, save_figure, set_title, styled, system_styles

SystemMetrics = Mapping[str, Any]  # metrics.json["systems"][name] (qwen_vad.analyze.system_metrics)

ONE_CLASS_MARK = "†"
ISO_BALANCED_ACCURACIES = (0.5, 0.6, 0.7, 0.8, 0.9)  # 0.5: chance, the anti-diagonal


# --------------------------------------------------------------------------------------------
# Balanced accuracy per SNR x duration cell


@dataclass(frozen=True)
class CellGrid:
    snrs: list[float]  # rows, high to low (clean first)
    durations: list[float]  # columns, short to long
    balanced_accuracy: np.ndarray  # rows x columns, NaN where the design has no clips
    one_class: np.ndarray  # cells holding one class only (their BA is that class's recall)


def snr_duration_grid(cells: Sequence[Mapping[str, Any]]) -> CellGrid | None:
    """The SNR x duration grid of a system's by_cell records; None when the cells do not
    vary over both SNR and duration."""
    # The degradation axes are held at their undegraded level, so a one-axis design (which
    # varies reverb or filter with SNR and duration neutral) does not fold several cells into one square.
    neutral = [c for c in cells if all(axis.is_neutral(c.get(axis.column)) for axis in degradation_axes())]
    if not neutral or SNR_COLUMN not in neutral[0] or DURATION_COLUMN not in neutral[0]:
        return None
    snrs = sorted({as_float(c[SNR_COLUMN]) for c in neutral}, reverse=True)
    durations = sorted({as_float(c[DURATION_COLUMN]) for c in neutral})
    grid = np.full((len(snrs), len(durations)), np.nan)
    one_class = np.zeros(grid.shape, bool)
    for cell in neutral:
        row, col = snrs.index(as_float(cell[SNR_COLUMN])), durations.index(as_float(cell[DURATION_COLUMN]))
        grid[row, col] = as_float(cell["balanced_accuracy"])
        one_class[row, col] = cell["n_speech"] == 0 or cell["n_nonspeech"] == 0
    return CellGrid(snrs, durations, grid, one_class)


def draw_heatmap(ax: Axes, title: str, cells: CellGrid) -> AxesImage:
    """Annotated cells, SNR rows (high at the top) by duration columns."""
    snrs, durations, grid, one_class = cells.snrs, cells.durations, cells.balanced_accuracy, cells.one_class
    # Cells without clips show the hatched background: no colour of the scale (cividis is
    # grey near 0.5) may stand for "no data".
    hatched = {"facecolor": "white", "edgecolor": "0.7", "hatch": "///", "linewidth": 0, "zorder": 0}
    ax.add_patch(Rectangle((-0.5, -0.5), len(durations), len(snrs), **hatched))
    image = ax.imshow(grid, cmap=CMAP_SEQUENTIAL, vmin=0.0, vmax=1.0, aspect="auto", zorder=1)
    for (row, col), value in np.ndenumerate(grid):
        if np.isnan(value):
            continue
        text = f"{value:.2f}" + (ONE_CLASS_MARK if one_class[row, col] else "")
        ax.text(col, row, text, ha="center", va="center", fontsize=7, color="black" if value > 0.6 else "white", zorder=2)
    ax.set_xticks(range(len(durations)), [f"{d:g}" for d in durations])
    ax.set_yticks(range(len(snrs)), [format_level(SNR_COLUMN, s) for s in snrs])
    ax.set_xlabel(axis_of(DURATION_COLUMN).label)
    ax.set_ylabel(axis_of(SNR_COLUMN).title)
    ax.grid(False)
    ax.set_title(title + (f" ({ONE_CLASS_MARK} one class only: its recall)" if one_class.any() else ""))
    return image


@styled
def plot_balanced_accuracy_heatmaps(systems: Mapping[str, SystemMetrics]) -> Figure | None:
    """One SNR x duration heatmap of balanced accuracy per system (test split, from by_cell);
    None when no system's cells span both axes."""
    grids = {name: g for name, m in systems.items() if (g := snr_duration_grid(m["summary"]["by_cell"])) is not None}
    if not grids:
        return None
    n_snrs = max(len(g.snrs) for g in grids.values())
    n_durations = max(len(g.durations) for g in grids.values())
    # Cells wide enough for "0.50" whether the design has 4 durations or 8.
    panel_size = (max(3.0, 0.5 * n_durations + 1.2), max(2.6, 0.3 * n_snrs + 1.2))
    fig, axes = new_figure(*grid_shape(len(grids)), panel_size=panel_size)
    for ax, (name, grid) in zip(axes, grids.items()):
        image = draw_heatmap(ax, name, grid)
    hide_unused(axes, len(grids))
    fig.colorbar(image, ax=axes[: len(grids)], label="balanced accuracy", shrink=0.9)
    set_title(fig, "Balanced accuracy per SNR x duration cell (chance = 0.5; hatched: no clips)")
    return fig


def balanced_accuracy_heatmap_figure(systems: Mapping[str, SystemMetrics], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_balanced_accuracy_heatmaps(systems), out_dir, "balanced_accuracy_heatmaps")


# --------------------------------------------------------------------------------------------
# Confusion matrices


def answer_columns(systems: Mapping[str, SystemMetrics]) -> list[str]:
    """SPEECH, NONSPEECH, and UNKNOWN when any system gave an unparseable answer."""
    unknown = any(m["summary"]["confusion"][label].get("UNKNOWN", 0) for m in systems.values() for label in LABELS)
    return [*LABELS, "UNKNOWN"] if unknown else list(LABELS)


def draw_confusion(ax: Axes, name: str, confusion: Mapping[str, Mapping[str, int]], columns: list[str]) -> AxesImage:
    """Cells coloured by the share of the true class, annotated with count and share."""
    counts = np.array([[confusion[truth].get(answer, 0) for answer in columns] for truth in LABELS], float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    image = ax.imshow(shares, cmap=CMAP_SEQUENTIAL, vmin=0.0, vmax=1.0)
    for (row, col), count in np.ndenumerate(counts):
        share = shares[row, col]
        ax.text(col, row, f"{count:.0f}\n{share:.0%}", ha="center", va="center", fontsize=8, color="black" if share > 0.6 else "white")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("answer")
    ax.set_ylabel("true label")
    ax.grid(False)
    ax.set_title(name)
    return image


@styled
def plot_confusion_matrices(systems: Mapping[str, SystemMetrics]) -> Figure | None:
    """Counts and row shares of (true label, answer) per system; None without systems."""
    if not systems:
        return None
    columns = answer_columns(systems)
    fig, axes = new_figure(*grid_shape(len(systems)), panel_size=(2.9, 2.4))
    for ax, (name, metrics) in zip(axes, systems.items()):
        image = draw_confusion(ax, name, metrics["summary"]["confusion"], columns)
    hide_unused(axes, len(systems))
    fig.colorbar(image, ax=axes[: len(systems)], label="share of the true class", shrink=0.9)
    set_title(fig, "Confusion matrices (test split; count and share of each true class)")
    return fig


def confusion_matrix_figure(systems: Mapping[str, SystemMetrics], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_confusion_matrices(systems), out_dir, "confusion_matrices")


# --------------------------------------------------------------------------------------------
# ROC and precision-recall curves


def operating_point(metrics: SystemMetrics) -> tuple[float, float]:
    """(false-positive rate, true-positive rate) of the answers at the dev-learned threshold."""
    per_class = metrics["summary"]["per_class"]
    return 1.0 - as_float(per_class[NONSPEECH]["recall"]), as_float(per_class[SPEECH]["recall"])


def has_curves(metrics: SystemMetrics) -> bool:
    return "fpr" in metrics["summary"]["roc"] and "precision" in metrics["summary"]["pr"]


@styled
def plot_roc_pr_curves(systems: Mapping[str, SystemMetrics]) -> Figure | None:
    """ROC (with each system's operating point) and precision-recall curves of p_speech,
    SPEECH positive; None when no system has both classes scored."""
    with_curves = {name: m for name, m in systems.items() if has_curves(m)}
    if not with_curves:
        return None
    styles = system_styles(systems)
    fig, (roc_ax, pr_ax) = new_figure(1, 2, panel_size=(3.5, 4.3))
    for name, metrics in with_curves.items():
        style, roc, pr = styles[name], metrics["summary"]["roc"], metrics["summary"]["pr"]
        roc_label = f"{name} (AUC {as_float(roc['auc']):.2f})"
        roc_ax.plot(roc["fpr"], roc["tpr"], color=style.colour, linestyle=style.linestyle, label=roc_label)
        roc_ax.plot(*operating_point(metrics), marker=style.marker, color=style.colour, markeredgecolor="black", linestyle="none")
        pr_label = f"{name} (AP {as_float(pr['average_precision']):.2f})"
        pr_ax.plot(pr["recall"], pr["precision"], color=style.colour, linestyle=style.linestyle, drawstyle="steps-post", label=pr_label)
    roc_ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=0.8, label="chance")
    roc_ax.set(xlabel="false-positive rate (NONSPEECH called SPEECH)", ylabel="true-positive rate (SPEECH recall)")
    roc_ax.set_title("ROC (markers: dev-learned threshold)")
    first = next(iter(with_curves.values()))["summary"]
    prevalence = first["per_class"][SPEECH]["n"] / first["n"]
    pr_ax.axhline(prevalence, color="0.6", linestyle=":", linewidth=0.8, label="chance (SPEECH share)")
    pr_ax.set(xlabel="recall (SPEECH)", ylabel="precision (SPEECH)", title="Precision-recall")
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        # Below the axes: inside, the legend of nine systems would cover the curves.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2)
    set_title(fig, "ROC and precision-recall curves of p(SPEECH), test split")
    return fig


def roc_pr_figure(systems: Mapping[str, SystemMetrics], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_roc_pr_curves(systems), out_dir, "roc_pr_curves")


# --------------------------------------------------------------------------------------------
# SPEECH recall vs NONSPEECH recall


def recall_with_interval(metrics: SystemMetrics, label: str) -> tuple[float, tuple[float, float] | None]:
    """The recall of one class and its cluster-bootstrap interval (None when the analysis ran
    no bootstrap or the interval is undefined)."""
    value = as_float(metrics["summary"]["per_class"][label]["recall"])
    key = "recall_speech" if label == SPEECH else "recall_nonspeech"
    interval = metrics["summary"].get("bootstrap", {}).get("intervals", {}).get(key)
    if interval is None or interval["low"] is None:
        return value, None
    return value, (as_float(interval["low"]), as_float(interval["high"]))


def draw_iso_balanced_accuracy(ax: Axes) -> None:
    """Lines of equal balanced accuracy, (x + y) / 2 = c, labelled where they leave the top."""
    x = np.linspace(0, 1, 2)
    for level in ISO_BALANCED_ACCURACIES:
        ax.plot(x, 2 * level - x, color="0.8", linewidth=0.7, linestyle=":", zorder=0)
        ax.text(2 * level - 1.0, 1.01, f"BA {level:g}", fontsize=6.5, color="0.45", ha="center", va="bottom")
    ax.plot(x, x, color="0.6", linewidth=0.8, linestyle="-.", zorder=0, label="equal recall")


@styled
def plot_recall_tradeoff(systems: Mapping[str, SystemMetrics]) -> Figure | None:
    """Each system's (NONSPEECH recall, SPEECH recall) at its threshold, with bootstrap
    intervals, and the trade-off its score allows (the ROC curve as recalls); None when empty."""
    if not systems:
        return None
    styles = system_styles(systems)
    fig, (ax,) = new_figure(1, 1, panel_size=(5.2, 4.4))
    draw_iso_balanced_accuracy(ax)
    for name, metrics in systems.items():
        style, roc = styles[name], metrics["summary"]["roc"]
        if "fpr" in roc:  # every threshold: NONSPEECH recall is 1 - FPR, SPEECH recall is TPR
            sweep = {"color": style.colour, "linestyle": style.linestyle, "linewidth": 0.9, "alpha": 0.6}
            ax.plot(1 - np.array(roc["fpr"], float), roc["tpr"], **sweep)
        (x, x_ci), (y, y_ci) = recall_with_interval(metrics, NONSPEECH), recall_with_interval(metrics, SPEECH)
        x_err = None if x_ci is None else [[x - x_ci[0]], [x_ci[1] - x]]
        y_err = None if y_ci is None else [[y - y_ci[0]], [y_ci[1] - y]]
        marker = {"marker": style.marker, "color": style.colour, "markeredgecolor": "black"}
        ax.errorbar(x, y, xerr=x_err, yerr=y_err, **marker, capsize=2, linestyle="none", label=name)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal")
    ax.set_xlabel("NONSPEECH recall (share of non-speech clips answered NONSPEECH)")
    ax.set_ylabel("SPEECH recall (share of speech clips answered SPEECH)")
    ax.set_title("SPEECH vs NONSPEECH recall at the dev-learned threshold\n(bars: 95% bootstrap CI; thin lines: other thresholds)", pad=14)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def recall_tradeoff_figure(systems: Mapping[str, SystemMetrics], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_recall_tradeoff(systems), out_dir, "recall_tradeoff")
