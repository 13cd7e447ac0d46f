"""How free-text answers were read (generate mode): the normaliser rule behind every
prediction, counted per system, and the answers it could not place, verbatim."""

from __future__ import annotations

import json

import pandas as pd

from qwen_vad.answers import ANSWER_RULES, UNKNOWN
from qwen_vad.report.collect import ReportInputs

NOT_RECORDED = "not recorded"  # predictions written before the rule was recorded
EXAMPLE_CLIPS = 3


def generated_answers(inputs: ReportInputs) -> dict[str, pd.DataFrame]:
    """System -> its reported-split rows with free-text answers (generate-mode systems only)."""
    split = inputs.metrics["split"]
    found = {}
    for name, run in sorted(inputs.runs.items()):
        predictions = pd.read_parquet(run.predictions_path)
        if "answer" in predictions.columns:
            rows = predictions[predictions["split"] == split].copy()
            if "answer_rule" not in rows.columns:
                rows["answer_rule"] = NOT_RECORDED
            found[name] = rows
    return found


def answer_rule_counts(answers: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per system: answers read by each rule (rules no system used are left out)."""
    rules = [*ANSWER_RULES, NOT_RECORDED]
    rows = []
    for name, frame in answers.items():
        counts = frame["answer_rule"].value_counts()
        rows.append({"system": name, "answers": len(frame), **{rule: int(counts.get(rule, 0)) for rule in rules},
                     UNKNOWN: int((frame["answer_label"] == UNKNOWN).sum())})  # fmt: skip
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table[[c for c in table.columns if c not in rules or table[c].any()]]


def unknown_answers(answers: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every answer read as UNKNOWN, verbatim (JSON-quoted, so whitespace and empty answers
    show), identical answers of a system grouped with their count and a few clip ids."""
    rows = []
    for name, frame in answers.items():
        unknown = frame[frame["answer_label"] == UNKNOWN]
        for (rule, answer), group in unknown.groupby(["answer_rule", "answer"], sort=False):
            rows.append({
                "system": name, "rule": rule, "answer": json.dumps(answer, ensure_ascii=False), "clips": len(group),
                "e.g. clips": ", ".join(group["clip_id"].head(EXAMPLE_CLIPS)),
            })  # fmt: skip
    table = pd.DataFrame(rows)
    return table.sort_values(["system", "clips"], ascending=[True, False], kind="stable", ignore_index=True) if len(table) else table
