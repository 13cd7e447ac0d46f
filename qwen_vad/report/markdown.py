"""report.md: the tables and figures in reading order, with where every number came from."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from qwen_vad.markdown_table import to_markdown
from qwen_vad.models.stand_ins import checkpoint_loaded
from qwen_vad.report.collect import ReportInputs
from qwen_vad.report.load import from_repo
from qwen_vad.report.threshold_cells import THRESHOLD_NOTE

MATRIX_NOTE = (
    "DT50 / DT75 detection: the SNR where P(answer SPEECH | SPEECH clip), durations pooled, "
    "reaches 50 / 75 % (the curve's floor is the false-alarm rate, so these move with how "
    "readily a system says SPEECH). AUC75 criterion-free: the SNR where the AUC of p_speech "
    "between SPEECH and NONSPEECH clips of the same SNR reaches 0.75 (d' ~ 0.95), which does "
    "not. " + THRESHOLD_NOTE
)
TINY_STAMP = "qwen_vad_tiny_checkpoint.json"  # written by qwen_vad.models.tiny into every tiny/mid checkpoint


def pipeline_check(inputs: ReportInputs) -> str | None:
    """The note at the top of report.md and report.html when LLM rows came from tiny random
    checkpoints: which checkpoint stood in for which real model. None when none did."""
    stand_ins: dict[str, str] = {}
    for run in inputs.runs.values():
        if not run.is_llm:
            continue
        loaded, requested = checkpoint_loaded(run.config.model), str(run.config.model.name_or_path)
        stamp = from_repo(loaded) / TINY_STAMP
        if stamp.is_file():
            # Builds before the family was stamped (builder version 2) were all Qwen2-Audio.
            family = json.loads(stamp.read_text()).get("family", "qwen2_audio")
            stand_ins[loaded] = f"`{loaded}` for {requested}" if loaded != requested else f"`{loaded}` (a tiny {family} model)"
    if not stand_ins:
        return None
    return (
        "The LLM rows were scored with tiny randomly initialised checkpoints built by `python -m qwen_vad.models.tiny` "
        f"on synthetic data, standing in for the real models: {'; '.join(stand_ins[k] for k in sorted(stand_ins))}. "
        "Their numbers show that every stage runs end to end; they say nothing about these models' ability to detect speech."
    )


def write_report_markdown(
    path: Path,
    inputs: ReportInputs,
    tables: dict[str, tuple[pd.DataFrame, str]],
    failures: pd.DataFrame,
    figures: dict[str, list[Path]],
    provenance: dict[str, tuple[pd.DataFrame, str]],
) -> None:
    out = ["# qwen_vad report", ""]
    note = pipeline_check(inputs)
    if note:
        out += [f"> **Pipeline check, not model quality.** {note}", ""]
    out += [
        f"Split reported: **{inputs.metrics['split']}**. Every row was scored on the same clips; decision "
        "thresholds and calibration temperatures were learned on the same full dev split, and the best "
        "LLM and VAD were chosen on dev; nothing was tuned on the reported split. Rows that were not run say so. "
        "`report.html` beside this file shows the same tables and figures, with every failure's audio.",
        "",
    ]
    notes = {"comparison_matrix": MATRIX_NOTE, "psychometric": THRESHOLD_NOTE}
    for name, (table, caption) in tables.items():
        body = to_markdown(table) if not table.empty else "None."
        out += [f"## {caption}", "", body, ""] + ([notes[name], ""] if name in notes else [])
        out += [f"(`tables/{name}.csv`, `.md`, `.tex`)", ""]
    out += ["## Figures", ""]
    for name, paths in figures.items():
        png = next((p for p in paths if p.suffix == ".png"), None)
        title = name.replace("_", " ")
        out += [f"### {title}", "", f"![{title}](figures/{png.name})" if png else "_not run_", ""]
    out += ["## Error analysis", ""]
    if failures.empty:
        out += ["No wrong answers.", ""]
    else:
        out += [
            "The most confident wrong answers per (label, duration, SNR) cell; their audio is in "
            "`failures/audio/<system>/` for listening (full list: `tables/failures.csv`).",
            "",
            to_markdown(failures.head(40)),
            "",
        ]
    out += ["## Provenance", "", f"Analysis run: `{inputs.analysis.run_dir}`", ""]
    for name, (table, caption) in provenance.items():
        out += [f"### {caption}", "", to_markdown(table), "", f"(`tables/{name}.csv`)", ""]
    path.write_text("\n".join(out) + "\n")
