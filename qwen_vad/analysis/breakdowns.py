"""Metrics per level of each condition column and per factorial cell, and BA_conditions.

A cell is an observed combination of the cell columns (by default the varying condition
columns without category, see ``frame.CELL_EXCLUDED_COLUMNS``). Combinations with no rows are
not cells: the one-axis design holds a sparse part of the grid on purpose, so listing the whole
product would report mostly empty, meaningless cells. A cell holding one class only has a
balanced accuracy equal to that class's recall; BA_conditions averages only the cells that hold
both classes and lists the others, so a missing class cannot inflate it silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qwen_vad.analysis.frame import condition_columns, default_cell_columns
from qwen_vad.analysis.metrics import (
    FN,
    FP,
    NONSPEECH_UNKNOWN,
    OUTCOMES,
    SPEECH_UNKNOWN,
    TN,
    TP,
    outcome_indicators,
    rates_from_counts,
    wilson_interval,
)

REPORTED_RATES = ("accuracy", "balanced_accuracy", "recall_speech", "recall_nonspeech", "unknown_share")


def grouped_counts(predictions: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Outcome counts (one column per outcome) per observed combination of ``columns``."""
    indicators = pd.DataFrame(outcome_indicators(predictions), columns=range(len(OUTCOMES)), index=predictions.index)
    for column in columns:
        indicators[column] = predictions[column]
    return indicators.groupby(list(columns), sort=True, dropna=False)[list(range(len(OUTCOMES)))].sum()


def rows_from_counts(counts: pd.DataFrame, columns: Sequence[str], interval_level: float) -> list[dict[str, Any]]:
    """One record per group: the group's condition values, sizes, rates and accuracy interval."""
    values = counts.to_numpy()
    rates = rates_from_counts(values)
    n_speech = values[:, TP] + values[:, FN] + values[:, SPEECH_UNKNOWN]
    n_nonspeech = values[:, TN] + values[:, FP] + values[:, NONSPEECH_UNKNOWN]
    records = []
    for i, key in enumerate(counts.index):
        key = key if isinstance(key, tuple) else (key,)
        n = int(n_speech[i] + n_nonspeech[i])
        records.append(
            {
                **dict(zip(columns, key)),
                "n": n,
                "n_speech": int(n_speech[i]),
                "n_nonspeech": int(n_nonspeech[i]),
                **{name: float(rates[name][i]) for name in REPORTED_RATES},
                "accuracy_wilson": wilson_interval(values[i, TP] + values[i, TN], n, interval_level),
            }
        )
    return records


def breakdown_by_condition(
    predictions: pd.DataFrame, columns: Sequence[str] | None = None, interval_level: float = 0.95
) -> dict[str, list[dict[str, Any]]]:
    """{column: one record per level} for every condition column present (constant ones too)."""
    columns = [c for c in condition_columns() if c in predictions.columns] if columns is None else list(columns)
    return {
        column: rows_from_counts(grouped_counts(predictions, [column]), [column], interval_level) for column in columns
    }


def breakdown_by_cell(
    predictions: pd.DataFrame, cell_columns: Sequence[str] | None = None, interval_level: float = 0.95
) -> list[dict[str, Any]]:
    """One record per observed factorial cell; a single all-rows cell when no column varies."""
    cell_columns = default_cell_columns(predictions) if cell_columns is None else list(cell_columns)
    if not cell_columns:
        counts = pd.DataFrame([outcome_indicators(predictions).sum(axis=0)], columns=range(len(OUTCOMES)))
        return rows_from_counts(counts.set_index(pd.Index(["all"])), [], interval_level)
    return rows_from_counts(grouped_counts(predictions, cell_columns), cell_columns, interval_level)


def balanced_accuracy_over_cells(cells: list[dict[str, Any]], cell_columns: Sequence[str]) -> dict[str, Any]:
    """BA_conditions: the mean balanced accuracy over cells that hold both classes."""
    has_both = [cell["n_speech"] > 0 and cell["n_nonspeech"] > 0 for cell in cells]
    complete = [cell for cell, both in zip(cells, has_both) if both]
    incomplete = [{c: cell[c] for c in cell_columns} for cell, both in zip(cells, has_both) if not both]
    value = float(np.mean([cell["balanced_accuracy"] for cell in complete])) if complete else float("nan")
    return {
        "value": value,
        "cell_columns": list(cell_columns),
        "n_cells": len(cells),
        "n_cells_used": len(complete),
        "cells_missing_a_class": incomplete,
    }


def condition_report(
    predictions: pd.DataFrame, cell_columns: Sequence[str] | None = None, interval_level: float = 0.95
) -> dict[str, Any]:
    """Breakdowns by condition and by cell, plus BA_conditions, for one system."""
    cell_columns = default_cell_columns(predictions) if cell_columns is None else list(cell_columns)
    cells = breakdown_by_cell(predictions, cell_columns, interval_level)
    return {
        "by_condition": breakdown_by_condition(predictions, interval_level=interval_level),
        "by_cell": cells,
        "BA_conditions": balanced_accuracy_over_cells(cells, cell_columns),
    }
