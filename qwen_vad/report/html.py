"""report.html: the report's tables, figures and provenance as one page, plus a failure gallery
to listen to. A second rendering of exactly what report.md shows (the same DataFrames, figure
files and failure table), opened straight from disk: every link is relative, the styles and
the few lines of filter script are inline, nothing is fetched from a network."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from qwen_vad.conditions import DURATION_COLUMN, core_axes, degradation_axes, format_level
from qwen_vad.report.collect import ReportInputs
from qwen_vad.report.markdown import pipeline_check
from qwen_vad.report.spectrogram import MISSING
from qwen_vad.report.style import system_styles

TEMPLATES = Path(__file__).parent / "templates"
PAGE = "report.html.j2"


def gallery_filters() -> dict[str, str]:
    """The gallery's filters: failure-table column -> label (those the table has; one level is
    no filter): system, true label, the design axes, category, the degradation axes."""
    core = {axis.column: axis.title for axis in core_axes()}
    degradations = {axis.column: axis.title for axis in degradation_axes()}
    return {"system": "system", "label": "true label", **core, "category": "category", **degradations}


def write_report_html(
    path: Path,
    inputs: ReportInputs,
    tables: Mapping[str, tuple[pd.DataFrame, str]],
    failures: pd.DataFrame,
    figures: Mapping[str, list[Path]],
    provenance: Mapping[str, tuple[pd.DataFrame, str]],
) -> None:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    environment.filters["code_spans"] = code_spans
    page = environment.get_template(PAGE).render(
        pipeline_check=pipeline_check(inputs),
        split=inputs.metrics["split"],
        analysis_dir=str(inputs.analysis.run_dir),
        tables=[table_view(name, caption, table) for name, (table, caption) in tables.items()],
        figures=[figure_view(name, paths) for name, paths in figures.items()],
        gallery=gallery_view(failures),
        provenance=[table_view(name, caption, table) for name, (table, caption) in provenance.items()],
    )
    path.write_text(page)


def code_spans(text: str) -> Markup:
    """Markdown's `code` as <code>, everything else escaped (texts shared with report.md)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def table_view(name: str, caption: str, table: pd.DataFrame) -> dict:
    return {
        "id": name,
        "caption": caption,
        "columns": [str(c) for c in table.columns],
        "rows": [[cell_text(v) for v in row] for row in table.itertuples(index=False)],
        "files": f"tables/{name}.csv",
    }


def cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def figure_view(name: str, paths: list[Path]) -> dict:
    png = next((p for p in paths if p.suffix == ".png"), None)
    return {"id": f"figure-{name}", "title": name.replace("_", " "), "src": f"figures/{quote(png.name)}" if png else None}


def gallery_view(failures: pd.DataFrame) -> dict:
    """The failure cards and the filters over them (each filter: its column, label, levels)."""
    if failures.empty:
        return {"cards": [], "filters": []}
    labels = gallery_filters()
    columns = [c for c in labels if c in failures.columns]
    shown = {column: [format_level(column, v) for v in failures[column]] for column in columns}
    filters = []
    for column in columns:
        levels = sorted(set(failures[column]), key=lambda v: (isinstance(v, str), v))
        if len(levels) > 1:
            filters.append({"key": column, "label": labels[column], "levels": [format_level(column, v) for v in levels]})
    # A card names a degradation only where the failures have one (a dataset without reverb or
    # filters would repeat "dry, no filter" on every card).
    degradations = [
        axis.column for axis in degradation_axes()
        if axis.column in failures.columns and not all(axis.is_neutral(v) for v in failures[axis.column])
    ]  # fmt: skip
    design = [axis.column for axis in core_axes() if axis.column in shown]
    colours = {name: style.colour for name, style in system_styles(failures["system"]).items()}  # as in the figures
    # Spectrogram widths in proportion to the clip's duration: a 200 ms clip looks short.
    longest = failures[DURATION_COLUMN].max() if DURATION_COLUMN in failures.columns else None
    cards = []
    for index, row in enumerate(failures.itertuples(index=False)):
        fields = row._asdict()
        cards.append({
            "filters": {column: shown[column][index] for column in columns},
            "clip_id": fields["clip_id"],
            "system": fields["system"],
            "colour": colours[fields["system"]],
            "label": fields["label"],
            "pred": fields["pred"],
            "condition": " · ".join(shown[c][index] for c in design),
            "degradation": " · ".join(shown[c][index] for c in degradations),
            "category": fields.get("category", ""),
            "p_speech": f"{fields['p_speech']:.3f}",
            "threshold": "none (free-text answer)" if _missing(fields.get("threshold")) else f"{fields['threshold']:.3f}",
            "audio": _link(fields["audio"]),
            "spectrogram": _link(fields.get("spectrogram", MISSING)),
            "width": 100 if not longest else max(20, round(100 * fields[DURATION_COLUMN] / longest)),
        })  # fmt: skip
    return {"cards": cards, "filters": filters}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _link(path: str) -> str | None:
    """A relative path as a URL (system names hold "[", "@", ...); None for a missing file."""
    return None if path == MISSING else quote(path)
