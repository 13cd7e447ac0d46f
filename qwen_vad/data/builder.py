"""Build a dataset: plan the clips, pick clean base clips that pass hygiene, render variants."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from qwen_vad.progress import progress

from qwen_vad.audio.io import save_audio
from qwen_vad.audio.mix import centre_extract
from qwen_vad.conditions import axis_columns
from qwen_vad.config import DataConfig, SourceConfig
from qwen_vad.data.design import BaseClipPlan, make_plan
from qwen_vad.data.hygiene import Activity, HygieneChecker
from qwen_vad.data.manifest import write_manifest
from qwen_vad.data.pool import BackgroundPool, CandidatePool
from qwen_vad.data.render import render_clip
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.registry import effective_sources, open_background, open_sources
from qwen_vad.data.sources.windows import SkippedFile
from qwen_vad.data.splits import SPLITS, active_splits, audit_leakage, split_ratios
from qwen_vad.errors import MaterialShortage

log = logging.getLogger(__name__)

# A base clip whose category keeps failing hygiene this often means the category (or the
# thresholds) cannot give usable material: fail loudly instead of looping for ever.
MAX_DRAWS_PER_BASE_CLIP = 50


@dataclass
class BuildResult:
    manifest: pd.DataFrame
    rejections: Counter = field(default_factory=Counter)  # (reason, source, category) -> count
    skipped_files: list[tuple[str, SkippedFile]] = field(default_factory=list)  # (source name, file)
    leakage: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)  # name -> kind, root, categories used
    split_groups: list[dict] = field(default_factory=list)  # listed groups per category and split
    excluded: dict = field(default_factory=dict)  # held-out groups of another dataset left out
    seconds: float = 0.0


def build_dataset(cfg: DataConfig, seed: int, out_dir: Path, excluded_groups: frozenset[str] = frozenset()) -> BuildResult:
    """Build the dataset ``cfg`` describes into ``out_dir``. Segments whose leakage group is in
    ``excluded_groups`` are never used (a training set leaves out an evaluation set's dev/test
    groups this way; see ``splits.held_out_groups``); the report counts them."""
    started = time.perf_counter()
    ratios = split_ratios(cfg.splits)
    sources = open_sources(cfg.sources, seed)
    background = open_background(cfg.background, seed)
    pool = CandidatePool(sources, seed, ratios, frozenset(excluded_groups))
    plan = make_plan(cfg, pool.categories_by_label())
    checker = HygieneChecker(cfg.hygiene, cfg.peak_dbfs)
    result = BuildResult(manifest=pd.DataFrame())
    used = {**effective_sources(cfg.sources), "background": cfg.background}
    opened = {**sources, "background": background}
    result.sources = {name: describe_source(source_cfg, opened[name].categories()) for name, source_cfg in used.items()}
    result.split_groups = pool.split_groups()

    bases = choose_base_clips(plan, pool, checker, result.rejections)
    rows = render_variants(plan, bases, BackgroundPool(background), cfg, seed, out_dir)
    result.manifest = write_manifest(rows, out_dir)
    check_cell_minimums(result.manifest, cfg.min_per_cell_split, active_splits(ratios))
    result.leakage = audit_leakage(result.manifest)
    result.skipped_files = [(name, skip) for name, src in opened.items() for skip in getattr(src, "skipped", [])]
    result.excluded = {
        "groups_given": len(excluded_groups),
        "groups_met": len(pool.excluded_met),
        "segments_left_out": [{"source": s, "category": c, "segments": n} for (s, c), n in sorted(pool.excluded.items())],
    }
    result.seconds = time.perf_counter() - started
    return result


def describe_source(cfg: SourceConfig, categories: dict[str, str]) -> dict:
    """What the report says about a source: its kind, corpus folder and the categories used."""
    return {"kind": cfg.kind, "root": cfg.root, "categories": dict(sorted(categories.items()))}


def choose_base_clips(
    plan: list[BaseClipPlan], pool: CandidatePool, checker: HygieneChecker, rejections: Counter
) -> list[tuple[Segment, Activity]]:
    """One clean segment per planned base clip, drawn in rounds: every pending slot draws a
    candidate, the round's clean clips go through the VADs as one batch, and rejected slots
    draw again. Slots draw in plan order, so the result does not depend on batching."""
    chosen: dict[int, tuple[Segment, Activity]] = {}
    pending = list(range(len(plan)))
    draws = Counter()
    with progress(len(plan), "hygiene") as bar:
        while pending:
            candidates, cuts = [], []
            for i in pending:
                base = plan[i]
                if draws[i] >= MAX_DRAWS_PER_BASE_CLIP:
                    top = rejections.most_common(3)
                    raise MaterialShortage(
                        f"{draws[i]} candidates for a {base.label}/{base.category} clip ({base.split}) failed "
                        f"hygiene; most frequent rejections: {top}. Relax data.hygiene or add material."
                    )
                draws[i] += 1
                try:
                    segment = _draw_long_enough(pool, base, rejections)
                except MaterialShortage as err:
                    raise MaterialShortage(f"{err}. {shortage_context(plan, base, rejections)}") from None
                candidates.append((i, segment))
                cuts.append(centre_extract(segment.audio, base.hygiene_duration_ms))
            still_pending = []
            for (i, segment), activity in zip(candidates, checker.measure(cuts), strict=True):
                reason = checker.rejection(plan[i].label, activity)
                if reason:
                    rejections[reason, segment.source, segment.category] += 1
                    still_pending.append(i)
                else:
                    chosen[i] = (segment, activity)
            bar.update(len(pending) - len(still_pending))
            pending = still_pending
    return [chosen[i] for i in range(len(plan))]


def _draw_long_enough(pool: CandidatePool, base: BaseClipPlan, rejections: Counter) -> Segment:
    need = base.hygiene_duration_ms * 16  # samples at 16 kHz
    while True:
        segment = pool.draw(base.category, base.split)
        if segment.audio.size >= need:
            return segment
        rejections["too_short", segment.source, segment.category] += 1


def shortage_context(plan: list[BaseClipPlan], base: BaseClipPlan, rejections: Counter) -> str:
    """What a split needed of a category that ran out, what was rejected, and what to change."""
    needed = sum(1 for b in plan if b.category == base.category and b.split == base.split)
    rejected = {reason: n for (reason, _, category), n in rejections.items() if category == base.category}
    return (
        f"The {base.split} split needs {needed} clean base clip(s) of {base.category!r}"
        + (f"; candidates rejected so far: {rejected}" if rejected else "")
        + ". Add material to the category, lower data.per_cell (or data.base_clips_per_class), "
        "shift data.splits, or leave the category out (data.sources.<name>.categories)."
    )


def render_variants(
    plan: list[BaseClipPlan],
    bases: list[tuple[Segment, Activity]],
    background: BackgroundPool,
    cfg: DataConfig,
    seed: int,
    out_dir: Path,
) -> list[dict]:
    rows = []
    total = sum(len(b.conditions) for b in plan)
    with progress(total, "render") as bar:
        for index, (base, (segment, activity)) in enumerate(zip(plan, bases, strict=True)):
            base_clip_id = stable_id(base.label[:2].lower(), segment.source, segment.origin)
            for k, condition in enumerate(base.conditions):
                # One generator per variant: a clip's audio depends on (seed, its place) only.
                rng = np.random.default_rng([seed, index, k])
                audio = render_clip(segment.audio, background.next().audio, condition, cfg, rng)
                clip_id = f"{base_clip_id}-{condition.key}"
                path = f"audio/{base.split}/{clip_id}.wav"
                save_audio(out_dir / path, audio)
                rows.append(
                    {
                        "clip_id": clip_id,
                        "path": path,
                        "split": base.split,
                        "label": base.label,
                        "category": base.category,
                        **condition.columns(),
                        "base_clip_id": base_clip_id,
                        "source": segment.source,
                        "group": segment.group,
                        "origin": segment.origin,
                        "webrtc_activity": activity.webrtc,
                        "silero_activity": activity.silero,
                    }
                )
                bar.update()
    return rows


def stable_id(prefix: str, source: str, origin: str) -> str:
    """An id that depends only on where the audio came from: stable across rebuilds."""
    return f"{prefix}{hashlib.sha1(f'{source}|{origin}'.encode()).hexdigest()[:10]}"


def check_cell_minimums(manifest: pd.DataFrame, minimum: int, splits: tuple[str, ...] = SPLITS) -> None:
    """Every cell needs ``minimum`` clips in each of ``splits`` (those with a positive ratio)."""
    cells = ["label", *axis_columns()]
    counts = manifest.groupby([*cells, "split"]).size().unstack("split", fill_value=0)
    counts = counts.reindex(columns=list(splits), fill_value=0)
    short = counts[(counts < minimum).any(axis=1)]
    if len(short):
        cell = dict(zip(cells, short.index[0], strict=True))
        raise MaterialShortage(
            f"{len(short)} cell(s) have fewer than {minimum} clips in some split "
            f"(data.min_per_cell_split), e.g. {cell}: {short.iloc[0].to_dict()}. "
            "Raise data.per_cell or lower data.min_per_cell_split."
        )


__all__ = ["BuildResult", "build_dataset"]
