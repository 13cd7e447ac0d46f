"""What the degradation conditions sound like: waveform and spectrogram of one clip per level
of each condition axis (duration, SNR, reverberation, filter), read from a built dataset.

The one-axis design renders every condition from the same clean base clip, so the figure
shows that one clip under each condition. The factorial design makes one variant per base
clip; there each panel is a different clip, taken with the other axes at their mildest level
(longest, cleanest, driest, unfiltered), and the title says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from scipy.signal import spectrogram

from qwen_vad import SPEECH
from qwen_vad.audio.io import SAMPLE_RATE, load_audio
from qwen_vad.conditions import axes, axis_of
from qwen_vad.report.style import OKABE_ITO, save_figure, set_title, styled

CELL_SIZE = (1.35, 1.0)  # inches per waveform / spectrogram panel: 8 levels fit 11 inches
SPECTROGRAM_WINDOW = 256  # 16 ms at 16 kHz: resolves the harmonics of voiced speech
MIN_FRAMES = 4  # shorter clips get a shorter window, so a 20 ms clip still shows some time course
DYNAMIC_RANGE_DB = 80.0  # below the loudest bin, shown as the floor colour


@dataclass(frozen=True)
class ConditionExamples:
    """The clips to show: {axis: [(level label, manifest row), ...]} and where they come from."""

    rows: dict[str, list[tuple[str, pd.Series]]]
    base_clip_id: str | None  # the one base clip (one-axis design), or None (factorial)


def mildest_level(values: pd.Series, axis: str) -> object:
    """The least degraded level present: longest, highest SNR (clean), driest, unfiltered."""
    return axis_of(axis).mildest(values.unique())


def ordered_levels(values: pd.Series, axis: str) -> list:
    """Levels as the axis lists them, left to right: durations and SNRs ascending (clean
    last), reverberation ascending, "none" first among filters (qwen_vad.conditions)."""
    return axis_of(axis).ordered(values.unique())


def pick_base_clip(manifest: pd.DataFrame) -> str | None:
    """The base clip with the most variants, SPEECH first; None when every base clip has one
    variant (the factorial design)."""
    sizes = manifest.groupby("base_clip_id").size()
    if sizes.max() <= 1:
        return None
    labels = manifest.drop_duplicates("base_clip_id").set_index("base_clip_id")["label"]
    ranked = sorted(sizes.index, key=lambda b: (-sizes[b], labels[b] != SPEECH, b))
    return ranked[0]


def choose_examples(manifest: pd.DataFrame, base_clip_id: str | None = None) -> ConditionExamples:
    """One row per level of each varying axis, the other axes at their mildest level."""
    base = base_clip_id if base_clip_id is not None else pick_base_clip(manifest)
    if base is not None:
        pool = manifest[manifest["base_clip_id"] == base]
    else:
        pool = manifest[manifest["label"] == SPEECH] if (manifest["label"] == SPEECH).any() else manifest
    columns = [a.column for a in axes() if a.column in pool.columns]
    varying = [a for a in columns if pool[a].nunique() > 1]
    mild = {a: mildest_level(pool[a], a) for a in columns}
    rows: dict[str, list[tuple[str, pd.Series]]] = {}
    for axis in varying:
        at_mild = pd.Series(True, index=pool.index)
        for other in (o for o in mild if o != axis):
            at_mild &= pool[other] == mild[other]
        others_mild = pool[at_mild]
        # First clip id per level: a rebuilt dataset with the same seed shows the same clips.
        examples = others_mild.sort_values("clip_id").drop_duplicates(axis)
        by_level = examples.set_index(axis, drop=False)
        rows[axis] = [(axis_of(axis).format_level(level), by_level.loc[level]) for level in ordered_levels(examples[axis], axis)]
    return ConditionExamples(rows, base)


def power_db(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequencies in kHz, frame times in ms, power in dB) of a clip, 75 % window overlap."""
    window = int(min(SPECTROGRAM_WINDOW, max(32, audio.size // MIN_FRAMES)))
    frequencies, times, power = spectrogram(audio, fs=SAMPLE_RATE, nperseg=window, noverlap=3 * window // 4)
    return frequencies / 1000, times * 1000, 10 * np.log10(power + 1e-12)


def draw_example(wave_ax: Axes, spec_ax: Axes, audio: np.ndarray, title: str, top_db: float) -> QuadMesh:
    """Waveform above spectrogram, both against time in ms; every spectrogram on one scale."""
    time_ms = np.arange(audio.size) * 1000 / SAMPLE_RATE
    wave_ax.plot(time_ms, audio, color=OKABE_ITO["blue"], linewidth=0.4)
    wave_ax.set(ylim=(-1.05, 1.05), xlim=(0, time_ms[-1]), title=title)
    wave_ax.tick_params(labelbottom=False)
    wave_ax.grid(False)
    frequencies, times, power = power_db(audio)
    scale = {"cmap": "magma", "vmin": top_db - DYNAMIC_RANGE_DB, "vmax": top_db}
    image = spec_ax.pcolormesh(times, frequencies, power, shading="nearest", rasterized=True, **scale)
    spec_ax.set(xlim=(0, time_ms[-1]), xlabel="time (ms)")
    spec_ax.grid(False)
    return image


def figure_title(examples: ConditionExamples, manifest: pd.DataFrame) -> str:
    """Says which clip(s) the panels show: one base clip, or (factorial) a different clip each."""
    if examples.base_clip_id is not None:
        first = manifest[manifest["base_clip_id"] == examples.base_clip_id].iloc[0]
        return (
            f"One {first['label']} clip ({first['category']}, base clip {examples.base_clip_id}) under each condition: "
            "waveform above spectrogram; one row pair per condition axis, the other axes at their mildest level"
        )
    return (
        "One clip per condition level: the factorial design makes one variant per base clip, so each panel "
        "is a different clip, taken with the other axes at their mildest level (waveform above spectrogram)"
    )


@styled
def plot_degradation_examples(manifest: pd.DataFrame, dataset_dir: str | Path, base_clip_id: str | None = None) -> Figure | None:
    """``manifest``: the dataset's manifest.parquet; ``dataset_dir``: the folder its paths are
    relative to. None when no condition axis varies."""
    examples = choose_examples(manifest, base_clip_id) if len(manifest) else ConditionExamples({}, None)
    if not examples.rows:
        return None
    audio = {row["clip_id"]: load_audio(Path(dataset_dir) / row["path"]) for entries in examples.rows.values() for _, row in entries}
    top_db = max(power_db(a)[2].max() for a in audio.values())
    n_cols = max(len(entries) for entries in examples.rows.values())
    fig = Figure(figsize=(CELL_SIZE[0] * n_cols + 0.8, 2.25 * CELL_SIZE[1] * len(examples.rows) + 0.7), layout="constrained")
    groups = fig.subfigures(len(examples.rows), 1)
    for group, (axis, entries) in zip(np.atleast_1d(groups), examples.rows.items()):
        axes = group.subplots(2, n_cols, squeeze=False, gridspec_kw={"height_ratios": [1, 1.25]}, sharey="row")
        for col in range(n_cols):
            if col >= len(entries):
                axes[0, col].set_visible(False)
                axes[1, col].set_visible(False)
                continue
            title, row = entries[col]
            image = draw_example(axes[0, col], axes[1, col], audio[row["clip_id"]], title, top_db)
        axes[0, 0].set_ylabel("amplitude")
        axes[1, 0].set_ylabel("frequency (kHz)")
        group.suptitle(axis_of(axis).title, fontsize=9, fontweight="bold")
        if axis == next(iter(examples.rows)):  # one colour scale for every spectrogram: one bar
            group.colorbar(image, ax=axes[1, :].tolist(), label="power density (dB)", aspect=8, pad=0.01)
    set_title(fig, figure_title(examples, manifest))
    return fig


def degradation_examples_figure(
    manifest: pd.DataFrame, dataset_dir: str | Path, out_dir: str | Path, base_clip_id: str | None = None
) -> list[Path]:
    return save_figure(plot_degradation_examples(manifest, dataset_dir, base_clip_id), out_dir, "degradation_examples")
