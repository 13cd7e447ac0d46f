"""The build report: cell counts per split, hygiene rejections, category balance, timing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.config import DataConfig
from qwen_vad.data.builder import BuildResult
from qwen_vad.data.splits import SPLITS
from qwen_vad.markdown_table import to_markdown

CELL_COLUMNS = ["label", "duration_ms", "snr_db", "reverb_rt60_s", "filter"]


def build_report(result: BuildResult, cfg: DataConfig, name: str) -> dict:
    manifest = result.manifest
    cells = manifest.groupby([*CELL_COLUMNS, "split"]).size().unstack("split", fill_value=0)
    cells = cells.reindex(columns=list(SPLITS), fill_value=0).reset_index()
    balance = manifest.groupby(["split", "label", "category"]).size().rename("clips").reset_index()
    return {
        "dataset": name,
        "design": cfg.design,
        "clips": len(manifest),
        "base_clips": int(manifest["base_clip_id"].nunique()),
        "clips_per_split": {s: int((manifest["split"] == s).sum()) for s in SPLITS},
        "clips_per_label": manifest["label"].value_counts().sort_index().to_dict(),
        "cells": to_jsonable(cells.to_dict("records")),
        "category_balance": to_jsonable(balance.to_dict("records")),
        "hygiene_rejections": [
            {"reason": reason, "source": source, "category": category, "count": count}
            for (reason, source, category), count in sorted(result.rejections.items())
        ],
        "skipped_files": [{"source": s, "file": f, "reason": r} for s, f, r in result.skipped_files],
        "leakage_audit": {"passed": True, "distinct": result.leakage},
        # A training set passes over the evaluation set's dev/test groups (data.datasets).
        "held_out_segments_skipped": result.excluded_segments,
        "container_ms": cfg.container_ms,
        "build_seconds": round(result.seconds, 2),
    }


def write_report(report: dict, folder: Path) -> None:
    (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / "report.md").write_text(report_markdown(report))


def report_markdown(report: dict) -> str:
    splits = report["clips_per_split"]
    lines = [
        f"# Dataset `{report['dataset']}`",
        "",
        f"{report['clips']} clips from {report['base_clips']} clean base clips ({report['design']} design), "
        f"built in {report['build_seconds']:.1f} s. Splits: "
        + ", ".join(f"{s} {n}" for s, n in splits.items())
        + ". Leakage audit passed: no speaker/recording group, origin file or base clip is in two splits.",
        "",
    ]
    if report.get("held_out_segments_skipped"):
        lines += [
            f"A training set: {report['held_out_segments_skipped']} candidate segments of groups in the evaluation "
            "set's dev or test splits were passed over, so no speaker or recording of those splits is trained on.",
            "",
        ]
    if report["container_ms"]:
        lines += [
            f"Every clip is centred in a {report['container_ms']} ms container of very low-level noise; "
            "the SNR is defined over the clip itself, not the container.",
            "",
        ]
    lines += ["## Clips per cell and split", "", to_markdown(pd.DataFrame(report["cells"])), ""]
    lines += ["## Category balance", "", to_markdown(pd.DataFrame(report["category_balance"])), ""]
    lines += ["## Hygiene rejections (replaced by new candidates)", ""]
    lines += [to_markdown(pd.DataFrame(report["hygiene_rejections"])) if report["hygiene_rejections"] else "None.", ""]
    lines += ["## Unreadable files skipped", ""]
    lines += [to_markdown(pd.DataFrame(report["skipped_files"])) if report["skipped_files"] else "None.", ""]
    return "\n".join(lines)
