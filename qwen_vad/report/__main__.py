"""``python -m qwen_vad.report exp=paper`` (or ``runs=[ANALYZE_RUN]``): the paper's tables and
figures and a ``report.md`` tying them together, rebuilt from run folders only."""

from __future__ import annotations

import logging

from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.markdown_table import to_markdown
from qwen_vad.report.collect import collect_inputs
from qwen_vad.report.draw import draw_figures
from qwen_vad.report.failures import write_failures
from qwen_vad.report.markdown import write_report_markdown
from qwen_vad.report.psychometric_table import psychometric_table
from qwen_vad.report.tables import (
    AUC75_COLUMN,
    DT50_COLUMN,
    by_experiment,
    category_errors,
    comparison_matrix,
    dataset_summary,
    paired_comparisons,
    prompt_summary,
    write_table,
    breakdown_table,
)
from qwen_vad.runs import Run

log = logging.getLogger("qwen_vad.report")


def report(cfg: Config, run: Run) -> None:
    inputs = collect_inputs(cfg, run.exp)
    tables = {
        "comparison_matrix": (comparison_matrix(inputs), "Comparison matrix (test split; thresholds learned on dev)"),
        "psychometric": (
            psychometric_table(inputs.psychometric, by_experiment(list(inputs.metrics["systems"]))),
            "Psychometric thresholds vs SNR, durations pooled (SNR in dB where each measure reaches 50 / 75 / 90 %)",
        ),
        "paired_comparisons": (paired_comparisons(inputs), "Paired comparisons on the same clips (Holm-adjusted McNemar)"),
        "by_snr": (breakdown_table(inputs, "snr_db"), "Balanced accuracy per SNR (dB)"),
        "by_duration": (breakdown_table(inputs, "duration_ms"), "Balanced accuracy per clip duration (ms)"),
        "category_errors": (category_errors(inputs), "Error rate per sound category"),
        "prompts": (prompt_summary(inputs), "Prompts used by the LLM systems"),
        "dataset": (dataset_summary(inputs), "Dataset cells per split"),
    }
    for name, (table, caption) in tables.items():
        write_table(table, run.path("tables"), name, caption)
    failures = write_failures(inputs, run.path("failures"), cfg.report.failures_per_cell, cfg.split)
    write_table(failures, run.path("tables"), "failures", "Most confident wrong answers per cell")
    figures = draw_figures(inputs, run.path("figures"))
    write_report_markdown(run.path("report.md"), inputs, tables, failures, figures)
    print(f"\nreport: {run.path('report.md')}\n")
    print(to_markdown(tables["comparison_matrix"][0][["row", "model", "balanced accuracy", DT50_COLUMN, AUC75_COLUMN, "latency p50 (ms)"]]))


main = stage_main("report")(report)

if __name__ == "__main__":
    main()
