"""The report's figures. Each has a ``plot_*`` function (plain data in, a matplotlib Figure or
None when there is nothing to show) and a ``*_figure`` function writing it as PDF + PNG into
an output folder and returning the paths ([] when there was nothing to show, which the
report prints as "not run")."""

from qwen_vad.report.figures.calibration import plot_reliability_diagrams, reliability_figure
from qwen_vad.report.figures.conditions import degradation_examples_figure, plot_degradation_examples
from qwen_vad.report.figures.latency import accuracy_latency_figure, pareto_frontier, plot_accuracy_vs_latency
from qwen_vad.report.figures.performance import (
    balanced_accuracy_heatmap_figure,
    confusion_matrix_figure,
    plot_balanced_accuracy_heatmaps,
    plot_confusion_matrices,
    plot_recall_tradeoff,
    plot_roc_pr_curves,
    recall_tradeoff_figure,
    roc_pr_figure,
)
from qwen_vad.report.figures.psychometric import plot_psychometric_curves, psychometric_figure
from qwen_vad.report.figures.training import (
    OproTrace,
    best_so_far,
    finetune_dev_curve_figure,
    opro_trajectory_figure,
    plot_finetune_dev_curves,
    plot_opro_trajectories,
)

__all__ = [
    "OproTrace",
    "accuracy_latency_figure",
    "balanced_accuracy_heatmap_figure",
    "best_so_far",
    "confusion_matrix_figure",
    "degradation_examples_figure",
    "finetune_dev_curve_figure",
    "opro_trajectory_figure",
    "pareto_frontier",
    "plot_accuracy_vs_latency",
    "plot_balanced_accuracy_heatmaps",
    "plot_confusion_matrices",
    "plot_degradation_examples",
    "plot_finetune_dev_curves",
    "plot_opro_trajectories",
    "plot_psychometric_curves",
    "plot_recall_tradeoff",
    "plot_reliability_diagrams",
    "plot_roc_pr_curves",
    "psychometric_figure",
    "recall_tradeoff_figure",
    "reliability_figure",
    "roc_pr_figure",
]
