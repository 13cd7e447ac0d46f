"""What the test set can detect, as the analysis computed it (qwen_vad.analysis.power): the
minimum detectable ΔBA beside each paired comparison, and clips per cell for a few differences."""

from __future__ import annotations

import pandas as pd

from qwen_vad.report.collect import ReportInputs

NOT_DETECTABLE = "none at this discordance"


def detectable_cell(comparison: dict) -> str:
    """The comparison's MDD at 80 % power and its Holm level, e.g. "0.083 (α=0.025)"."""
    block = comparison.get("detectable")
    if block is None:
        return "n/a"
    mdd = block["minimum_difference"]
    return f"{NOT_DETECTABLE if mdd is None else f'{mdd:.3f}'} (α={block['alpha']:.3g})"


def planning_table(inputs: ReportInputs) -> pd.DataFrame:
    """Per comparison: its discordance and level, clips per cell now and for each difference."""
    planning = inputs.comparisons.get("planning")
    if not planning:
        return pd.DataFrame()
    rows = []
    for row in planning["rows"]:
        cells = {
            "comparison": f"{row['a']} vs {row['b']}",
            "discordance rate": f"{row['discordance_rate']:.3f}",
            "Holm α": f"{row['alpha']:.3g}",
            "cells": row["cells"],
            "clips/cell now": f"{row['clips_per_cell']:.1f}",
        }
        for need in row["needed"]:
            per_cell = need["clips_per_cell"]
            cells[f"clips/cell for {need['difference'] * 100:g} pts"] = "not reachable" if per_cell is None else per_cell
        rows.append(cells)
    return pd.DataFrame(rows)
