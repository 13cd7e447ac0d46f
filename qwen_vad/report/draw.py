"""Every figure of the report, drawn from the analysis and the runs behind it."""

from __future__ import annotations

from pathlib import Path

from qwen_vad.conditions import psychometric_axes
from qwen_vad.report.collect import ReportInputs
from qwen_vad.report.figures import (
    accuracy_latency_figure,
    balanced_accuracy_heatmap_figure,
    confusion_matrix_figure,
    degradation_examples_figure,
    finetune_dev_curve_figure,
    opro_trajectory_figure,
    psychometric_figure,
    recall_tradeoff_figure,
    reliability_figure,
    roc_pr_figure,
)
from qwen_vad.report.load import finetune_curves, opro_traces, scored_dataset


def draw_figures(inputs: ReportInputs, out_dir: Path) -> dict[str, list[Path]]:
    """Figure name -> written files ([] when there was nothing to draw: shown as not run)."""
    analysis, systems = inputs.analysis, inputs.analysis.systems
    dataset = scored_dataset(analysis)
    # The research plan's curves pool every other axis along SNR; detection is also drawn along
    # each psychometric axis, one panel per level of the others (qwen_vad.conditions).
    return {
        "psychometric_accuracy_vs_snr": psychometric_figure(analysis.psychometric, out_dir, "correctness_vs_snr_db_pooled"),
        "psychometric_sensitivity_vs_snr": psychometric_figure(analysis.psychometric, out_dir, "sensitivity_vs_snr_db_pooled"),
        **{
            f"psychometric_detection_vs_{axis.name}": psychometric_figure(analysis.psychometric, out_dir, f"detection_vs_{axis.column}")
            for axis in psychometric_axes()
        },
        "balanced_accuracy_heatmaps": balanced_accuracy_heatmap_figure(systems, out_dir),
        "reliability_diagrams": reliability_figure(systems, out_dir),
        "confusion_matrices": confusion_matrix_figure(systems, out_dir),
        "accuracy_vs_latency": accuracy_latency_figure(systems, out_dir),
        "roc_pr_curves": roc_pr_figure(systems, out_dir),
        "recall_tradeoff": recall_tradeoff_figure(systems, out_dir),
        "degradation_examples": degradation_examples_figure(dataset[0], dataset[1], out_dir) if dataset else [],
        "opro_trajectory": opro_trajectory_figure(opro_traces(analysis), out_dir),
        "finetune_dev_curves": finetune_dev_curve_figure(finetune_curves(analysis), out_dir),
    }
