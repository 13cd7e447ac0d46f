"""Markdown tables, shared by the dataset report and the paper report."""

from __future__ import annotations

import pandas as pd


def to_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no data_"
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    # A "|" inside a cell (a prompt, a model's answer) would end the cell.
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])
