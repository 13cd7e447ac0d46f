"""Report figures drawn from real stage outputs: a tiny dataset scored by Silero (d2), the
tiny random model zero-shot (a1), fine-tuned (b2) and behind a short OPRO search, then analysed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from qwen_vad.analyze import analyze
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.data.manifest import read_manifest
from qwen_vad.evaluate import evaluate
from qwen_vad.finetune import finetune
from qwen_vad.opro.__main__ import opro
from qwen_vad.report import figures as F
from qwen_vad.report.load import Analysis, finetune_curves, latest_analysis, opro_traces, scored_dataset
from qwen_vad.report.style import EXPERIMENT_STYLES, PNG_DPI, save_figure, system_styles

DATA = ["data.name=figset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,10.0,20.0]", "data.min_per_cell_split=1"]
FAST = ["analyze.n_bootstrap=100", "analyze.psychometric_bootstrap=100", "analyze.comparisons=[]"]
# Two dev evaluations after the untrained one, and one OPRO step after the seeds: enough to
# draw a curve and a trajectory, a few seconds each with the tiny model.
SHORT_FINETUNE = ["finetune.max_steps=4", "finetune.eval_steps=2", "finetune.batch_size=4", "finetune.warmup_steps=1"]
SHORT_OPRO = ["opro.optimizer=scripted", "opro.max_steps=1", "opro.candidates_per_step=2", "opro.train_subset_size=8"]
SHORT_OPRO += ["opro.dev_max_clips=8", "opro.seed_prompts=[baseline,question]"]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Analysis:
    root = tmp_path_factory.mktemp("figures")
    paths = [f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"]
    tiny = [f"model.name_or_path={tiny_checkpoint}", "model.dtype=fp32"]
    stages = [
        ("data", build, ["exp=b2"]),  # the evaluation set and b2's training set
        ("evaluate", evaluate, ["exp=d2"]),
        ("evaluate", evaluate, ["exp=a1", *tiny]),
        ("finetune", finetune, ["exp=b2", *tiny, *SHORT_FINETUNE]),
        # Filed as "smoke": no other run of that experiment scores clips, so the analysis
        # takes this OPRO run as the system "smoke".
        ("opro", opro, ["exp=smoke", *tiny, *SHORT_OPRO]),
        ("analyze", analyze, ["exp=a1", *FAST, "analyze.experiments=[a1,d2,b2,smoke]"]),
    ]
    for stage, function, overrides in stages:
        cfg, exp = compose_config([*overrides, *DATA, *paths])
        execute_stage(stage, function, cfg, exp)
    found = latest_analysis(root / "results", "a1")
    assert found is not None
    return found


def check_written(paths: list[Path], expected_pixels: tuple[int, int]) -> None:
    """A PDF and a PNG, both non-empty; the PNG figsize x dpi pixels (matplotlib truncates
    fractions of a pixel) and not blank."""
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    assert paths[0].read_bytes().startswith(b"%PDF") and paths[0].stat().st_size > 1000
    image = matplotlib.image.imread(paths[1])
    assert image.shape[:2] == expected_pixels
    drawn = np.any(np.abs(image[..., :3] - 1.0) > 0.05, axis=-1)  # anything not white
    assert drawn.mean() > 0.01


def figure_inputs(analysis: Analysis) -> dict[str, tuple[Callable, Callable, tuple, dict]]:
    """name -> (plot function, writer, positional inputs, keyword inputs) for every figure;
    a writer takes the plot function's inputs with the output folder after the positional ones."""
    systems = analysis.systems
    manifest, folder = scored_dataset(analysis)
    pooled = {"curve_set": "correctness_vs_snr_db_pooled"}
    sensitivity = {"curve_set": "sensitivity_vs_snr_db_pooled"}
    return {
        "psychometric": (F.plot_psychometric_curves, F.psychometric_figure, (analysis.psychometric,), {}),
        "psychometric_pooled": (F.plot_psychometric_curves, F.psychometric_figure, (analysis.psychometric,), pooled),
        "psychometric_sensitivity": (F.plot_psychometric_curves, F.psychometric_figure, (analysis.psychometric,), sensitivity),
        "heatmap": (F.plot_balanced_accuracy_heatmaps, F.balanced_accuracy_heatmap_figure, (systems,), {}),
        "reliability": (F.plot_reliability_diagrams, F.reliability_figure, (systems,), {}),
        "confusion": (F.plot_confusion_matrices, F.confusion_matrix_figure, (systems,), {}),
        "latency": (F.plot_accuracy_vs_latency, F.accuracy_latency_figure, (systems,), {}),
        "roc_pr": (F.plot_roc_pr_curves, F.roc_pr_figure, (systems,), {}),
        "recall": (F.plot_recall_tradeoff, F.recall_tradeoff_figure, (systems,), {}),
        "conditions": (F.plot_degradation_examples, F.degradation_examples_figure, (manifest, folder), {}),
        "opro": (F.plot_opro_trajectories, F.opro_trajectory_figure, (opro_traces(analysis),), {}),
        "finetune": (F.plot_finetune_dev_curves, F.finetune_dev_curve_figure, (finetune_curves(analysis),), {}),
    }


FIGURES = ("psychometric", "psychometric_pooled", "psychometric_sensitivity", "heatmap", "reliability", "confusion", "latency", "roc_pr", "recall", "conditions")
FIGURES += ("opro", "finetune")


@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_written_from_real_outputs(analysis: Analysis, tmp_path: Path, name: str) -> None:
    plot, write, args, kwargs = figure_inputs(analysis)[name]
    width, height = plot(*args, **kwargs).get_size_inches() * PNG_DPI
    check_written(write(*args, tmp_path, **kwargs), (int(height), int(width)))


def test_loaders_find_the_training_runs_behind_the_analysed_systems(analysis: Analysis) -> None:
    assert set(analysis.systems) == {"a1", "d2", "b2", "smoke"}
    traces = opro_traces(analysis)
    assert list(traces) == ["smoke"]
    assert {step for step, _ in traces["smoke"].candidates} == {0, 1}  # seeds, then one search step
    assert all(0 <= score <= 1 for _, score in traces["smoke"].candidates)
    curves = finetune_curves(analysis)
    assert list(curves) == ["b2"]
    assert [step for step, _ in curves["b2"]] == [0, 2, 4]  # untrained, then every eval_steps


def test_one_axis_dataset_shows_one_base_clip_under_every_condition(tmp_path: Path) -> None:
    # Two levels per axis and one base clip per class keep the build and the drawing short.
    levels = ["durations_ms=[100,1000]", "snrs_db=[0.0,20.0]", "reverb_rt60_s=[0.0,1.0]", "filters=[none,lowpass]"]
    design = ["data.design=one_axis", "data.base_clips_per_class=1", *(f"data.one_axis.{level}" for level in levels)]
    splits = ["data.splits.train=1.0", "data.splits.dev=0.0", "data.splits.test=0.0", "data.min_per_cell_split=0"]
    paths = [f"paths.data_dir={tmp_path}/data", f"paths.results_dir={tmp_path}/results"]
    overrides = ["exp=smoke", "data.name=oneaxis", *design, *splits, *paths]
    cfg, exp = compose_config(overrides)
    execute_stage("data", build, cfg, exp)
    manifest = read_manifest(tmp_path / "data" / "oneaxis")
    examples = F.conditions.choose_examples(manifest)
    assert examples.base_clip_id is not None and examples.base_clip_id.startswith("sp")  # SPEECH first
    shown = [row["clip_id"] for rows in examples.rows.values() for _, row in rows]
    assert {row.base_clip_id for row in manifest.set_index("clip_id").loc[shown].itertuples()} == {examples.base_clip_id}
    assert list(examples.rows) == ["duration_ms", "snr_db", "reverb_rt60_s", "filter"]
    assert [label for label, _ in examples.rows["snr_db"]] == ["+0 dB", "+20 dB", "clean"]
    fig = F.plot_degradation_examples(manifest, tmp_path / "data" / "oneaxis")
    width, height = fig.get_size_inches() * PNG_DPI
    check_written(save_figure(fig, tmp_path / "out", "conditions"), (int(height), int(width)))


def test_factorial_dataset_takes_the_mildest_other_levels(analysis: Analysis) -> None:
    manifest, _ = scored_dataset(analysis)
    examples = F.conditions.choose_examples(manifest)
    assert examples.base_clip_id is None  # one variant per base clip: one clip per level
    assert [label for label, _ in examples.rows["duration_ms"]] == ["200 ms", "1000 ms"]
    assert all(row["snr_db"] == 20.0 for _, row in examples.rows["duration_ms"])
    assert all(row["duration_ms"] == 1000 for _, row in examples.rows["snr_db"])


def test_no_data_gives_no_figure(tmp_path: Path, analysis: Analysis) -> None:
    skipped_only = {"a1": {"detection_vs_snr_db": [{"condition": {}, "skipped": "2 levels on snr_db cannot identify 3 parameters"}]}}
    no_latency = {name: {**m, "summary": {**m["summary"], "latency": {"n": 0}}} for name, m in analysis.systems.items()}
    one_condition = {"clip_id": ["x"], "path": ["x.wav"], "label": ["SPEECH"], "base_clip_id": ["b"], "duration_ms": [200], "snr_db": [5.0]}
    writers = [
        lambda out: F.psychometric_figure({}, out),
        lambda out: F.psychometric_figure(skipped_only, out),
        lambda out: F.balanced_accuracy_heatmap_figure({}, out),
        lambda out: F.reliability_figure({}, out),
        lambda out: F.confusion_matrix_figure({}, out),
        lambda out: F.accuracy_latency_figure(no_latency, out),
        lambda out: F.roc_pr_figure({}, out),
        lambda out: F.recall_tradeoff_figure({}, out),
        lambda out: F.degradation_examples_figure(pd.DataFrame(one_condition), tmp_path, out),
        lambda out: F.opro_trajectory_figure({}, out),
        lambda out: F.opro_trajectory_figure({"a2": F.OproTrace(candidates=[])}, out),
        lambda out: F.finetune_dev_curve_figure({"b2": []}, out),
    ]
    for write in writers:
        assert write(tmp_path / "out") == []
    assert not (tmp_path / "out").exists()


def test_pareto_frontier_by_hand() -> None:
    latency = [10.0, 20.0, 5.0, 30.0, 20.0, 40.0]
    accuracy = [0.80, 0.90, 0.60, 0.85, 0.90, 0.95]
    # (30, 0.85) loses to (20, 0.90); the two equal (20, 0.90) points both stay; sorted by latency.
    assert F.pareto_frontier(latency, accuracy) == [2, 0, 1, 4, 5]
    assert F.pareto_frontier([], []) == []
    assert F.pareto_frontier([3.0], [0.5]) == [0]


def test_best_so_far_and_kept_step_by_hand() -> None:
    assert F.best_so_far([(0, 0.5), (0, 0.6), (1, 0.55), (2, 0.7), (2, 0.65)]) == [(0, 0.6), (1, 0.6), (2, 0.7)]
    # Step 0 is the untrained model; of equal trained scores the first is kept.
    assert F.training.kept_step([(0, 0.9), (2, 0.6), (4, 0.7), (6, 0.7)]) == 2
    assert F.training.kept_step([(0, 0.5)]) is None


def test_each_system_keeps_its_colour() -> None:
    one = system_styles(["d2", "a1", "zz_custom"])
    other = system_styles(["b2[seed=1]", "a1@20261121-081500", "zz_custom", "yy_custom"])
    assert one["a1"] == other["a1@20261121-081500"] == EXPERIMENT_STYLES["a1"]
    assert other["b2[seed=1]"] == EXPERIMENT_STYLES["b2"]
    assert one["zz_custom"] == other["zz_custom"]
    assert other["zz_custom"].colour != other["yy_custom"].colour
    assert len({s.colour for s in EXPERIMENT_STYLES.values()}) == len(EXPERIMENT_STYLES)


def test_redrawing_the_same_data_gives_the_same_files(analysis: Analysis, tmp_path: Path) -> None:
    first = F.confusion_matrix_figure(analysis.systems, tmp_path / "first")
    second = F.confusion_matrix_figure(analysis.systems, tmp_path / "second")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
