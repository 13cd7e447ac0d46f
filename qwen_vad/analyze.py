"""``python -m qwen_vad.analyze exp=NAME`` (or ``runs=[...]`` / ``predictions=PATH``).

Reads predictions.parquet files (design.md section 3), so it works for every system, LLM or
VAD, and writes ``metrics.json`` (metrics with cluster-bootstrap CIs, breakdowns,
calibration before/after temperature scaling), ``psychometric.json`` (DT50/DT75/... with CIs
and their status against the tested levels, plus the criterion-free sensitivity curves) and
``comparisons.json`` (paired McNemar + ΔBA per seed, Holm-adjusted) to a run folder. Runs are
grouped into systems by configuration minus the seed (analysis.sources). The decision threshold
is the one the scoring run learned on dev, the temperature is fitted on dev, and the best LLM
and VAD are chosen on dev; nothing here tunes on test.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from qwen_vad.errors import BadInputError
from qwen_vad.analysis.calibration import calibration_report, temperature_scaling_report
from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.metrics import classification_metrics
from qwen_vad.analysis.paired_systems import best_systems, named_comparisons
from qwen_vad.analysis.psychometric_curves import CurveOptions, psychometric_curves, psychometric_report
from qwen_vad.analysis.sources import Sources, prediction_sources, skipped_clips
from qwen_vad.analysis.summary import headline, summarize_system
from qwen_vad.cli import stage_main
from qwen_vad.conditions import SNR_COLUMN, axis_columns
from qwen_vad.config import Config
from qwen_vad.experiment_rows import row_records
from qwen_vad.runs import Run
from qwen_vad.scoring.input_checks import durations_without_audio_tokens, input_warnings
from qwen_vad.scoring.predictions import SYSTEM_KIND_COLUMN, with_system_kind
from qwen_vad.scoring.systems import LLM, recorded_kind

log = logging.getLogger("qwen_vad.analyze")

# The research plan's one curve per system runs along SNR and pools every other condition axis
# (each SNR level then holds all durations, reverbs, filters, ...).
POOLED_CURVE_AXIS = SNR_COLUMN


def analyze(cfg: Config, run: Run) -> None:
    curve_options(cfg)  # a bad analyze.psychometric_cluster / sensitivity fails here, before any work
    sources = prediction_sources(cfg, run.exp)  # systems = run groups by config minus seed; their seeds
    frames = {s.name: load_predictions(s.path) for s in sources.predictions}
    metrics = {s.name: {**system_metrics(frames[s.name], cfg), "skipped_clips": skipped_clips(s.path)} for s in sources.predictions}
    psychometric = {name: system_psychometrics(reported_split(frame, cfg), cfg) for name, frame in frames.items()}
    comparisons = system_comparisons(sources, frames, metrics, cfg)
    write_json(run.path("metrics.json"), {
        "split": cfg.split,
        "sources": {s.name: str(s.path) for s in sources.predictions},
        "groups": {name: group.as_json() for name, group in sources.groups.items()},
        "not_run": sources.not_run,
        "rows": row_records(),  # the comparison matrix as the experiment files declare it
        "systems": metrics,
    })  # fmt: skip
    write_json(run.path("psychometric.json"), psychometric)
    write_json(run.path("comparisons.json"), comparisons)
    for name, block in metrics.items():
        log.info("%s: balanced accuracy %.3f on %s (n=%d)", name, block["headline"]["balanced_accuracy"], cfg.split, block["summary"]["n"])


def load_predictions(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    if SYSTEM_KIND_COLUMN not in frame.columns:  # written before the column: the run's config says
        frame = with_system_kind(frame, recorded_kind(frame, path))
    systems = frame[["system", "prompt_id", SYSTEM_KIND_COLUMN]].drop_duplicates()
    if len(systems) != 1:
        raise BadInputError(f"{path}: expected one system per predictions file, found {systems.to_dict('records')}")
    return frame


def reported_split(frame: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    rows = frame[frame["split"] == cfg.split]
    if rows.empty:
        raise BadInputError(f"predictions of {frame['system'].iloc[0]} hold no {cfg.split!r} rows (split={cfg.split})")
    return rows


def system_metrics(frame: pd.DataFrame, cfg: Config) -> dict:
    a = cfg.analyze
    rows = reported_split(frame, cfg)
    summary = summarize_system(rows, n_bootstrap=a.n_bootstrap, seed=cfg.seed, interval_level=a.interval_level)
    dev = frame[frame["split"] == "dev"]
    return {
        "system": rows["system"].iloc[0],
        SYSTEM_KIND_COLUMN: rows[SYSTEM_KIND_COLUMN].iloc[0],
        "prompt_id": rows["prompt_id"].iloc[0],
        "threshold": _threshold(rows),
        "headline": headline(summary),
        "clips": {"dev": len(dev), cfg.split: len(rows)},
        # What "best" systems are chosen on: the dev split, never the reported one.
        "dev": {"balanced_accuracy": classification_metrics(dev)["balanced_accuracy"], "n": len(dev)} if len(dev) and cfg.split != "dev" else None,
        "summary": summary,
        "calibration": calibration_report(rows, a.calibration_bins),
        # Temperature is fitted on dev only and applied to the reported split.
        "temperature_scaling": temperature_scaling_report(dev, rows, a.calibration_bins) if len(dev) and cfg.split != "dev" else None,
        "input_warnings": input_warnings(rows),
        "durations_without_audio_tokens": durations_without_audio_tokens(rows),
    }


def system_psychometrics(rows: pd.DataFrame, cfg: Config) -> dict:
    """Curves per duration (vs SNR) and per SNR (vs duration), plus the research plan's one
    curve per system: SNR pooled over durations, whose DT50/DT75 (and the criterion-free
    sensitivity threshold beside them) go into the results table."""
    options = curve_options(cfg)
    report = psychometric_report(rows, options)
    pooled_away = [c for c in axis_columns() if c != POOLED_CURVE_AXIS and c in rows.columns]
    pooled = rows.drop(columns=pooled_away)
    for measure in ("detection", "correctness", "sensitivity"):
        report[f"{measure}_vs_{POOLED_CURVE_AXIS}_pooled"] = psychometric_curves(pooled, measure, POOLED_CURVE_AXIS, options)
    return report


def curve_options(cfg: Config) -> CurveOptions:
    a = cfg.analyze
    return CurveOptions(
        sigmoid=a.sigmoid,
        threshold_probabilities=tuple(a.threshold_probabilities),
        n_bootstrap=a.psychometric_bootstrap,
        seed=cfg.seed,
        correctness_gamma=a.correctness_gamma,
        cluster_bootstrap=a.cluster_bootstrap,
        cluster_unit=a.psychometric_cluster,
        sensitivity=a.sensitivity,
    )


def system_comparisons(sources: Sources, frames: dict[str, pd.DataFrame], metrics: dict[str, dict], cfg: Config) -> dict:
    """The configured comparisons, paired by seed; best_llm / best_vad chosen on dev."""
    dev_ba = {name: (block["dev"] or {}).get("balanced_accuracy") for name, block in metrics.items()}
    is_llm = {name: block[SYSTEM_KIND_COLUMN] == LLM for name, block in metrics.items()}
    aliases = best_systems(sources.groups, dev_ba, is_llm)
    tested = {name: reported_split(frame, cfg) for name, frame in frames.items()}
    a = cfg.analyze
    return named_comparisons(a.comparisons, sources.groups, tested, aliases, a.n_bootstrap, cfg.seed, a.interval_level)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")


def _threshold(rows: pd.DataFrame) -> float | None:
    values = rows["threshold"].dropna().unique()
    return float(values[0]) if len(values) else None


main = stage_main("analyze")(analyze)

if __name__ == "__main__":
    main()
