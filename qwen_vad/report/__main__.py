"""``python -m qwen_vad.report exp=paper`` (or ``runs=[ANALYZE_RUN]``): the paper's tables and
figures, ``report.md`` tying them together and ``report.html`` showing the same with a failure
gallery to listen to, rebuilt from run folders only."""

from __future__ import annotations

import logging

from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.markdown_table import to_markdown
from qwen_vad.report.answer_parsing import answer_rule_counts, generated_answers, unknown_answers
from qwen_vad.report.collect import collect_inputs
from qwen_vad.report.detectability import planning_table
from qwen_vad.report.draw import draw_figures
from qwen_vad.report.failures import write_failures
from qwen_vad.report.html import write_report_html
from qwen_vad.report.markdown import write_report_markdown
from qwen_vad.report.provenance import provenance_tables
from qwen_vad.report.spectrogram import write_spectrograms
from qwen_vad.report.psychometric_table import psychometric_table
from qwen_vad.report.tables import (
    AUC75_COLUMN,
    DT50_COLUMN,
    category_errors,
    comparison_matrix,
    dataset_summary,
    input_warnings_table,
    members,
    paired_comparisons,
    prompt_summary,
    system_groups,
    write_table,
    breakdown_tables,
)
from qwen_vad.runs import Run

log = logging.getLogger("qwen_vad.report")


def report(cfg: Config, run: Run) -> None:
    inputs = collect_inputs(cfg, run.exp)
    answers = generated_answers(inputs)
    tables = {
        "comparison_matrix": (comparison_matrix(inputs), "Comparison matrix (every row on the same test split; thresholds learned on the same dev split)"),
        "psychometric": (
            psychometric_table(inputs.psychometric, {group: members(inputs, group) for group in system_groups(inputs)}),
            "Psychometric thresholds vs SNR, durations pooled (SNR in dB where each measure reaches 50 / 75 / 90 %)",
        ),
        "paired_comparisons": (paired_comparisons(inputs), "Paired comparisons on the same clips (Holm-adjusted McNemar)"),
        "detection_planning": (planning_table(inputs), "What the test set can detect: clips per cell for 80 % power (exact McNemar, Holm level)"),
        **breakdown_tables(inputs),  # by_duration, by_snr (+ by_<axis> for a varied degradation)
        "category_errors": (category_errors(inputs), "Error rate per sound category"),
        "prompts": (prompt_summary(inputs), "Prompts used by the LLM systems"),
        "input_warnings": (input_warnings_table(inputs), "Input warnings: what a system may not have heard"),
        "answer_rules": (answer_rule_counts(answers), "How free-text answers were read (answer normaliser rule per answer)"),
        "unknown_answers": (unknown_answers(answers), "Free-text answers read as UNKNOWN, verbatim"),
        "dataset": (dataset_summary(inputs), "Dataset cells per split"),
    }
    provenance = provenance_tables(inputs)
    for name, (table, caption) in {**tables, **provenance}.items():
        write_table(table, run.path("tables"), name, caption)
    failures = write_failures(inputs, run.path("failures"), cfg.report.failures_per_cell, cfg.split)
    if not failures.empty:
        failures["spectrogram"] = write_spectrograms(failures, run.dir)
    write_table(failures, run.path("tables"), "failures", "Most confident wrong answers per cell")
    figures = draw_figures(inputs, run.path("figures"))
    write_report_markdown(run.path("report.md"), inputs, tables, failures, figures, provenance)
    write_report_html(run.path("report.html"), inputs, tables, failures, figures, provenance)
    print(f"\nreport: {run.path('report.md')}\n        {run.path('report.html')}\n")
    print(to_markdown(tables["comparison_matrix"][0][["row", "model", "balanced accuracy", DT50_COLUMN, AUC75_COLUMN, "latency p50 (ms)"]]))


main = stage_main("report")(report)

if __name__ == "__main__":
    main()
