"""Markdown tables, shared by the dataset report and the paper report."""

from __future__ import annotations

import pandas as pd


def cell(value: object) -> str:
    """A value as a cell: a "|" inside it (e.g. "P(SPEECH | clip)") would end the cell."""
    return str(value).replace("|", "\\|")


def to_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no data_"
    header = "| " + " | ".join(map(cell, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])
