"""The build report: sources used, cell counts per split, groups per split, hygiene rejections,
category balance, skipped files per reason, held-out groups left out, timing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.conditions import axis_columns
from qwen_vad.config import DataConfig
from qwen_vad.data.builder import BuildResult
from qwen_vad.data.splits import SPLITS
from qwen_vad.markdown_table import to_markdown

# report.md lists this many files per skip reason and source (report.json has them all).
LISTED_SKIPS = 10


def build_report(result: BuildResult, cfg: DataConfig, name: str) -> dict:
    manifest = result.manifest
    cells = manifest.groupby(["label", *axis_columns(), "split"]).size().unstack("split", fill_value=0)
    cells = cells.reindex(columns=list(SPLITS), fill_value=0).reset_index()
    balance = manifest.groupby(["split", "label", "category"]).size().rename("clips").reset_index()
    used = manifest.groupby(["category", "split"])["group"].nunique().rename("groups_used").reset_index()
    skipped = [{"source": source, **skip._asdict()} for source, skip in result.skipped_files]
    return {
        "dataset": name,
        "sources": result.sources,
        "design": cfg.design,
        "clips": len(manifest),
        "base_clips": int(manifest["base_clip_id"].nunique()),
        "clips_per_split": {s: int((manifest["split"] == s).sum()) for s in SPLITS},
        "clips_per_label": manifest["label"].value_counts().sort_index().to_dict(),
        "cells": to_jsonable(cells.to_dict("records")),
        "category_balance": to_jsonable(balance.to_dict("records")),
        "split_groups": split_group_rows(result.split_groups, used),
        "hygiene_rejections": [
            {"reason": reason, "source": source, "category": category, "count": count}
            for (reason, source, category), count in sorted(result.rejections.items())
        ],
        "skipped_summary": skip_counts(skipped),
        "skipped_files": skipped,
        "excluded_groups": result.excluded,
        "leakage_audit": {"passed": True, "distinct": result.leakage},
        "container_ms": cfg.container_ms,
        "build_seconds": round(result.seconds, 2),
    }


def split_group_rows(listed: list[dict], used: pd.DataFrame) -> list[dict]:
    """Per category and split: the listed groups and their usable seconds (corpora only; an
    endless synthetic stream is not listed) beside the groups the clips actually came from."""
    frame = pd.DataFrame(listed, columns=["category", "split", "groups_listed", "usable_s"])
    frame = frame.merge(used, on=["category", "split"], how="outer").sort_values(["category", "split"])
    frame = frame.astype({"groups_listed": "Int64", "groups_used": "Int64"})
    return to_jsonable(frame.to_dict("records"))


def skip_counts(skipped: list[dict]) -> list[dict]:
    """Files skipped per reason and source, most frequent first."""
    if not skipped:
        return []
    counts = pd.DataFrame(skipped).groupby(["reason", "source"]).size().rename("files").reset_index()
    return to_jsonable(counts.sort_values(["files", "reason", "source"], ascending=[False, True, True]).to_dict("records"))


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
        "## Sources",
        "",
        to_markdown(
            pd.DataFrame(
                [
                    {"name": name, "kind": s["kind"], "root": s["root"] or "-", "categories": ", ".join(s["categories"])}
                    for name, s in report["sources"].items()
                ]
            )
        ),
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
    lines += [
        "## Leakage groups per category and split",
        "",
        "Listed groups (and their usable audio) are assigned to splits by material, at least one per split "
        "and category; groups of the synthetic source are placed by a hash. `groups_used`: groups the clips came from.",
        "",
        to_markdown(pd.DataFrame(report["split_groups"]).fillna("-")),
        "",
    ]
    excluded = report["excluded_groups"]
    if excluded.get("groups_given"):
        left_out = sum(row["segments"] for row in excluded["segments_left_out"])
        lines += [
            "## Held-out groups left out",
            "",
            f"{excluded['groups_given']} groups of another dataset's held-out splits were excluded; "
            f"{excluded['groups_met']} of them were met in the sources, and {left_out} of their segments were left out.",
            "",
        ]
    lines += ["## Hygiene rejections (replaced by new candidates)", ""]
    lines += [to_markdown(pd.DataFrame(report["hygiene_rejections"])) if report["hygiene_rejections"] else "None.", ""]
    lines += ["## Files skipped", ""]
    lines += [to_markdown(pd.DataFrame(report["skipped_summary"])) if report["skipped_summary"] else "None.", ""]
    if report["skipped_files"]:
        lines += [f"Up to {LISTED_SKIPS} files per reason and source (report.json lists all):", ""]
        lines += [to_markdown(listed_skips(report["skipped_files"])), ""]
    return "\n".join(lines)


def listed_skips(skipped: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(skipped, columns=["source", "reason", "file", "detail"])
    return frame.groupby(["reason", "source"], sort=True).head(LISTED_SKIPS).sort_values(["reason", "source", "file"])
