"""One look for every figure of the report: colour-blind-safe colours, a fixed colour (and
marker) per system, font sizes, and ``save_figure`` writing PDF + PNG.

Colours are the Okabe-Ito palette (Okabe & Ito 2008), distinguishable under the common
colour-vision deficiencies. Each experiment of the comparison matrix owns one colour, so "b2"
is the same blue in the psychometric curves, the ROC curves and the latency scatter; markers
and line styles repeat the distinction for print in grey scale (VAD baselines are dashed).
"""

from __future__ import annotations

import functools
import re
import textwrap
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#8C8C8C"  # neutral, for the second VAD baseline and reference lines


@dataclass(frozen=True)
class SystemStyle:
    colour: str
    marker: str
    linestyle: str


# The comparison matrix (design.md section 5): zero-shot LLMs warm, fine-tuned LLMs cool,
# VAD baselines black/grey and dashed.
EXPERIMENT_STYLES: dict[str, SystemStyle] = {
    "a1": SystemStyle(OKABE_ITO["orange"], "o", "-"),
    "a2": SystemStyle(OKABE_ITO["vermillion"], "o", "-"),
    "b1": SystemStyle(OKABE_ITO["sky_blue"], "s", "-"),
    "b2": SystemStyle(OKABE_ITO["blue"], "s", "-"),
    "b3": SystemStyle(OKABE_ITO["bluish_green"], "s", "-"),
    "b4": SystemStyle(OKABE_ITO["reddish_purple"], "s", "-"),
    "c1": SystemStyle(OKABE_ITO["yellow"], "^", "-"),
    "d1": SystemStyle(OKABE_ITO["black"], "v", "--"),
    "d2": SystemStyle(GREY, "v", "--"),
}
# Names outside the matrix (ad-hoc runs, sweeps) draw from Paul Tol's "muted" scheme, also
# colour-blind safe, so they never take a colour that means a matrix experiment.
FALLBACK_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
# Markers no matrix experiment uses; "D" stays free for threshold markers (DT50 / DT75).
FALLBACK_MARKERS = ("P", "X", "h", "<", ">", "*", "p", "8", "H")

# Suffixes the analysis adds to an experiment name: a configuration or seed of a sweep
# ("b3[finetune.lora.r=8]", "b2[seed=1]") or an
# explicit run folder ("b2@20261121-081500"); the system keeps its experiment's colour.
NAME_SUFFIX = re.compile(r"(\[.*\]|@.*)$")

PNG_DPI = 150  # sharp on screen and in report.md, small enough to commit an example
PANEL_SIZE = (3.4, 2.8)  # inches per panel: two panels fit a 7-inch (two-column) page width
CMAP_SEQUENTIAL = "cividis"  # perceptually uniform and designed for colour-vision deficiencies

RC_PARAMS = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays editable and searchable in papers
    "savefig.facecolor": "white",
}


def experiment_of(name: str) -> str:
    """The experiment a system name belongs to: "b2[seed=1]" and "b2@2026..." are "b2"."""
    return NAME_SUFFIX.sub("", name)


def system_styles(names: Iterable[str]) -> dict[str, SystemStyle]:
    """A style for each name: the matrix experiments their fixed one; any other name a colour
    from its hash (stable across figures), moved to the next free one on a clash within
    ``names`` so two systems of one figure never share a colour."""
    styles: dict[str, SystemStyle] = {}
    taken: set[str] = set()
    ordered = list(dict.fromkeys(names))
    for name in ordered:
        if experiment_of(name) in EXPERIMENT_STYLES:
            styles[name] = EXPERIMENT_STYLES[experiment_of(name)]
    for name in sorted(n for n in ordered if n not in styles):
        start = zlib.crc32(experiment_of(name).encode()) % len(FALLBACK_COLOURS)
        probe = [(start + offset) % len(FALLBACK_COLOURS) for offset in range(len(FALLBACK_COLOURS))]
        free = [i for i in probe if FALLBACK_COLOURS[i] not in taken]
        index = free[0] if free else start  # more than nine extra systems: colours repeat
        taken.add(FALLBACK_COLOURS[index])
        styles[name] = SystemStyle(FALLBACK_COLOURS[index], FALLBACK_MARKERS[index], "-")
    return {name: styles[name] for name in ordered}


P = ParamSpec("P")
R = TypeVar("R")


def styled(draw: Callable[P, R]) -> Callable[P, R]:
    """Run a drawing function under the report's rcParams. Matplotlib reads most of them
    when an artist is created, so the figure keeps the look when it is saved or shown later."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(RC_PARAMS):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(
    n_rows: int = 1,
    n_cols: int = 1,
    panel_size: tuple[float, float] = PANEL_SIZE,
    sharey: bool = False,
    height_ratios: Sequence[float] | None = None,
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure of n_rows x n_cols panels and its axes as a flat list
    (row by row); ``height_ratios`` (one per row) scale the rows around the average size.

    A plain ``Figure`` (not pyplot) keeps figures out of pyplot's global registry, so drawing
    hundreds of them in a report run leaks nothing; notebooks still display it inline.
    """
    fig = Figure(figsize=(panel_size[0] * n_cols, panel_size[1] * n_rows), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharey=sharey, height_ratios=height_ratios)
    return fig, list(axes.ravel())


def grid_shape(n_panels: int, max_cols: int = 3) -> tuple[int, int]:
    """(rows, cols) for n panels, at most ``max_cols`` wide."""
    cols = min(n_panels, max_cols)
    return -(-n_panels // cols), cols


def hide_unused(axes: Sequence[Axes], n_used: int) -> None:
    """Panels of the grid beyond the first ``n_used`` stay blank, not empty axes."""
    for ax in axes[n_used:]:
        ax.set_visible(False)


def set_title(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to its width (a one-panel figure must not cut it off)."""
    size = RC_PARAMS["figure.titlesize"]
    characters_per_inch = 72 / (0.55 * size)  # an average glyph is about 0.55 em wide
    fig.suptitle(textwrap.fill(text, width=int(characters_per_inch * fig.get_figwidth())), fontsize=size)


def save_figure(fig: Figure | None, out_dir: str | Path, name: str) -> list[Path]:
    """Write ``name.pdf`` and ``name.png`` into ``out_dir``; [] when there is no figure.

    Figure size is fixed (no tight bounding box), so the PNG is exactly figsize x PNG_DPI
    pixels. Creation dates are left out of the metadata so re-drawing the same data gives
    the same bytes.
    """
    if fig is None:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pdf, png = out / f"{name}.pdf", out / f"{name}.png"
    fig.savefig(pdf, metadata={"CreationDate": None})
    fig.savefig(png, dpi=PNG_DPI, metadata={"Software": None})
    return [pdf, png]
