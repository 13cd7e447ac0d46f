"""``python -m qwen_vad.analyze exp=NAME`` (or ``runs=[...]`` / ``predictions=PATH``).

Reads predictions.parquet files (design.md section 3), so it works for every system, LLM or
VAD, and writes ``metrics.json`` (metrics with cluster-bootstrap CIs, breakdowns,
calibration before/after temperature scaling), ``psychometric.json`` (DT50/DT75/... with CIs
and their status against the tested levels, plus the criterion-free sensitivity curves)
and ``comparisons.json`` (paired McNemar + ΔBA, Holm-adjusted) to a run folder. The decision
threshold is the one the scoring run learned on dev; nothing here tunes on test.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qwen_vad.analysis.calibration import calibration_report, temperature_scaling_report
from qwen_vad.analysis.compare import compare_family
from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.psychometric_curves import CurveOptions, psychometric_curves, psychometric_report
from qwen_vad.analysis.summary import headline, summarize_system
from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.runs import Run, latest_scoring_runs_per_seed

log = logging.getLogger("qwen_vad.analyze")

BEST_LLM, BEST_VAD = "best_llm", "best_vad"
SEED_MARK = "[seed="
# Pooled curves ignore these axes (every SNR level then pools all durations, reverbs, filters).
POOLED_AWAY = ("duration_ms", "reverb_rt60_s", "filter")


@dataclass(frozen=True)
class PredictionSource:
    name: str  # experiment name (or the file's folder) that labels this system in every output
    path: Path


def analyze(cfg: Config, run: Run) -> None:
    curve_options(cfg)  # a bad analyze.psychometric_cluster / sensitivity fails here, before any work
    sources = prediction_sources(cfg, run.exp)
    frames = {s.name: load_predictions(s.path) for s in sources}
    metrics = {name: system_metrics(frame, cfg) for name, frame in frames.items()}
    psychometric = {name: system_psychometrics(reported_split(frame, cfg), cfg) for name, frame in frames.items()}
    comparisons = named_comparisons(frames, metrics, cfg)
    write_json(run.path("metrics.json"), {"split": cfg.split, "sources": {s.name: str(s.path) for s in sources}, "systems": metrics})
    write_json(run.path("psychometric.json"), psychometric)
    write_json(run.path("comparisons.json"), comparisons)
    for name, block in metrics.items():
        log.info("%s: balanced accuracy %.3f on %s (n=%d)", name, block["headline"]["balanced_accuracy"], cfg.split, block["summary"]["n"])


def prediction_sources(cfg: Config, exp: str) -> list[PredictionSource]:
    """Explicit predictions file > explicit run folders > latest scoring runs of experiments."""
    if cfg.predictions:
        path = Path(cfg.predictions)
        return [PredictionSource(path.parent.name or exp, _existing(path, "predictions"))]
    if cfg.runs:
        return [PredictionSource(_run_name(Path(r)), _existing(Path(r) / "predictions.parquet", "runs")) for r in cfg.runs]
    found, missing = [], []
    for name in cfg.analyze.experiments or [exp]:
        per_seed = latest_scoring_runs_per_seed(cfg.paths.results_dir, name)
        if not per_seed:
            missing.append(name)
        for seed, run_dir in per_seed.items():
            # One seed: the experiment's name; a seed sweep: one system per seed, b2[seed=1], ...
            label = name if len(per_seed) == 1 else f"{name}{SEED_MARK}{seed}]"
            found.append(PredictionSource(label, run_dir / "predictions.parquet"))
    if missing:
        log.warning("no finished scoring run for %s: shown as not run", ", ".join(missing))
    if not found:
        raise FileNotFoundError(
            f"no finished scoring run (evaluate, finetune or opro) under {cfg.paths.results_dir} for {missing}; "
            "run the scoring stage first, or pass runs=[...] or predictions=PATH"
        )
    return found


def load_predictions(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    systems = frame[["system", "prompt_id"]].drop_duplicates()
    if len(systems) != 1:
        raise ValueError(f"{path}: expected one system per predictions file, found {systems.to_dict('records')}")
    return frame


def reported_split(frame: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    rows = frame[frame["split"] == cfg.split]
    if rows.empty:
        raise ValueError(f"predictions of {frame['system'].iloc[0]} hold no {cfg.split!r} rows (split={cfg.split})")
    return rows


def system_metrics(frame: pd.DataFrame, cfg: Config) -> dict:
    a = cfg.analyze
    rows = reported_split(frame, cfg)
    summary = summarize_system(rows, n_bootstrap=a.n_bootstrap, seed=cfg.seed, interval_level=a.interval_level)
    dev = frame[frame["split"] == "dev"]
    return {
        "system": rows["system"].iloc[0],
        "prompt_id": rows["prompt_id"].iloc[0],
        "threshold": _threshold(rows),
        "headline": headline(summary),
        "summary": summary,
        "calibration": calibration_report(rows, a.calibration_bins),
        # Temperature is fitted on dev only and applied to the reported split.
        "temperature_scaling": temperature_scaling_report(dev, rows, a.calibration_bins) if len(dev) and cfg.split != "dev" else None,
    }


def system_psychometrics(rows: pd.DataFrame, cfg: Config) -> dict:
    """Curves per duration (vs SNR) and per SNR (vs duration), plus the research plan's one
    curve per system: SNR pooled over durations, whose DT50/DT75 (and the criterion-free
    sensitivity threshold beside them) go into the results table."""
    options = curve_options(cfg)
    report = psychometric_report(rows, options)
    pooled = rows.drop(columns=[c for c in POOLED_AWAY if c in rows.columns])
    for measure in ("detection", "correctness", "sensitivity"):
        report[f"{measure}_vs_snr_db_pooled"] = psychometric_curves(pooled, measure, "snr_db", options)
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


def named_comparisons(frames: dict[str, pd.DataFrame], metrics: dict[str, dict], cfg: Config) -> dict:
    """The configured family of paired comparisons among the systems present."""
    names = dict(best_systems(metrics))
    pairs, not_run = [], []
    for spec in cfg.analyze.comparisons:
        a, _, b = spec.partition(":")
        a, b = names.get(a, a), names.get(b, b)
        if a in frames and b in frames and a != b:
            pairs.append((a, b))
        else:
            not_run.append(spec)
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return {"comparisons": [], "not_run": not_run}
    tested = {name: reported_split(frames[name], cfg) for pair in pairs for name in pair}
    family = compare_family(tested, pairs, n_resamples=cfg.analyze.n_bootstrap, seed=cfg.seed, level=cfg.analyze.interval_level)
    return {**family, "resolved": {k: v for k, v in names.items()}, "not_run": not_run}


def best_systems(metrics: dict[str, dict]) -> list[tuple[str, str]]:
    """best_llm / best_vad: the highest balanced accuracy among LLM (prompted) and VAD systems."""
    out = []
    for alias, is_llm in ((BEST_LLM, True), (BEST_VAD, False)):
        pool = {n: m["headline"]["balanced_accuracy"] for n, m in metrics.items() if bool(m["prompt_id"]) == is_llm}
        if pool:
            out.append((alias, max(pool, key=pool.get)))
    return out


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")


def _threshold(rows: pd.DataFrame) -> float | None:
    values = rows["threshold"].dropna().unique()
    return float(values[0]) if len(values) else None


def _existing(path: Path, key: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{key}: {path} does not exist")
    return path


def _run_name(run_dir: Path) -> str:
    # results/<stage>/<exp>/<stamp>: the experiment names the system; the stamp keeps it unique.
    return f"{run_dir.parent.name}@{run_dir.name}" if run_dir.parent.name else run_dir.name


main = stage_main("analyze")(analyze)

if __name__ == "__main__":
    main()
