"""How the optimisers got there: the OPRO prompt search (candidate scores per step, best so
far) and the fine-tuning dev curve. Both take plain (step, value) records, so they do not
depend on how the runs store them (``qwen_vad.report.load`` reads the run folders)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from qwen_vad.report.style import OKABE_ITO, grid_shape, hide_unused, new_figure, save_figure, set_title, styled, system_styles

StepValue = tuple[float, float]  # (step, value)


@dataclass(frozen=True)
class OproTrace:
    """One OPRO run: every scored candidate's (step, train-subset score), and the best dev
    score so far after each step (as the run's step_done events report it)."""

    candidates: Sequence[StepValue]
    dev_best: Sequence[StepValue] = field(default_factory=tuple)


def best_so_far(points: Sequence[StepValue]) -> list[StepValue]:
    """(step, highest value at this step or before) for each distinct step, ascending."""
    best, out = -np.inf, []
    for step in sorted({s for s, _ in points}):
        best = max(best, max(v for s, v in points if s == step))
        out.append((step, best))
    return out


def draw_opro_panel(ax: Axes, name: str, trace: OproTrace) -> None:
    steps, scores = zip(*trace.candidates)
    ax.scatter(steps, scores, s=14, color=OKABE_ITO["sky_blue"], alpha=0.8, linewidths=0, zorder=3, label="candidate (train subset)")
    best_steps, best_scores = zip(*best_so_far(trace.candidates))
    ax.step(best_steps, best_scores, where="post", color=OKABE_ITO["blue"], label="best so far (train subset)")
    if trace.dev_best:
        dev_steps, dev_scores = zip(*trace.dev_best)
        ax.step(dev_steps, dev_scores, where="post", color=OKABE_ITO["vermillion"], marker="o", markersize=3.5, label="best so far (dev)")
    shown = [*scores, *(v for _, v in trace.dev_best)]
    ax.set_ylim(max(0.0, min(shown) - 0.05), min(1.0, max(shown) + 0.05))  # never a 0.01-wide axis
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title=name, xlabel="step (0 = hand-written seed prompts)", ylabel="balanced accuracy")
    ax.legend(loc="lower right")


@styled
def plot_opro_trajectories(runs: Mapping[str, OproTrace]) -> Figure | None:
    """One panel per OPRO run (e.g. a2, b4); None when no run scored a candidate."""
    runs = {name: trace for name, trace in runs.items() if trace.candidates}
    if not runs:
        return None
    fig, axes = new_figure(*grid_shape(len(runs), max_cols=2), panel_size=(5.0, 3.2))
    for ax, (name, trace) in zip(axes, runs.items()):
        draw_opro_panel(ax, name, trace)
    hide_unused(axes, len(runs))
    set_title(fig, "OPRO prompt search: every scored candidate and the best score so far")
    return fig


def opro_trajectory_figure(runs: Mapping[str, OproTrace], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_opro_trajectories(runs), out_dir, "opro_trajectory")


def kept_step(points: Sequence[StepValue]) -> int | None:
    """Index of the adapter a fine-tuning run keeps: the first best dev score after training
    started (the Trainer replaces its best only on a strictly better score, and the step-0
    evaluation of the untrained model is a reference, never a checkpoint)."""
    trained = [i for i, (step, _) in enumerate(points) if step > 0]
    return max(trained, key=lambda i: (points[i][1], -i)) if trained else None


@styled
def plot_finetune_dev_curves(curves: Mapping[str, Sequence[StepValue]]) -> Figure | None:
    """Dev balanced accuracy per optimizer step for each fine-tuning run (step 0: before
    training), the kept step marked; None when no run has a dev curve."""
    curves = {name: sorted(points) for name, points in curves.items() if points}
    if not curves:
        return None
    styles = system_styles(curves)
    fig, (ax,) = new_figure(1, 1, panel_size=(5.6, 3.4))
    for name, points in curves.items():
        style = styles[name]
        steps, values = zip(*points)
        best = kept_step(points)
        label = name if best is None else f"{name} (kept: {values[best]:.3f} at step {steps[best]:g})"
        ax.plot(steps, values, color=style.colour, linestyle=style.linestyle, marker=style.marker, markersize=3.5, label=label)
        if best is not None:
            ax.plot(steps[best], values[best], marker="*", markersize=12, color=style.colour, markeredgecolor="black", linestyle="none")
    ax.axhline(0.5, color="0.7", linestyle=":", linewidth=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="optimizer step (0 = before training)", ylabel="dev balanced accuracy")
    ax.set_title("Fine-tuning: dev balanced accuracy during training\n(star: the best step, whose adapter is kept; dotted: chance)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def finetune_dev_curve_figure(curves: Mapping[str, Sequence[StepValue]], out_dir: str | Path) -> list[Path]:
    return save_figure(plot_finetune_dev_curves(curves), out_dir, "finetune_dev_curves")
