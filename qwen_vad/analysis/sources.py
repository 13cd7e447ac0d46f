"""Where the analysed predictions come from: run folders, grouped into systems by seed.

Three ways to name them (first match wins): ``predictions=PATH`` (one file), ``runs=[...]``
(scoring run folders, one system each) or the experiments' finished scoring runs, grouped by
configuration minus the seed (qwen_vad.run_groups): each group is one system (one row of the
matrix), each seed of it one set of predictions. The experiments are ``analyze.experiments``,
or by default the chosen one when it is a matrix row, else every row (qwen_vad.experiment_rows).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from qwen_vad.config import Config
from qwen_vad.errors import UserError
from qwen_vad.experiment_rows import experiment_rows
from qwen_vad.run_groups import RunGroup, run_seed, scoring_run_groups

log = logging.getLogger(__name__)


class NoPredictions(UserError, FileNotFoundError):
    pass


@dataclass(frozen=True)
class PredictionSource:
    name: str  # the predictions' name in every output (a group's name, + [seed=N] in a sweep)
    path: Path  # predictions.parquet
    group: str  # the system (row) it belongs to
    seed: int | None


@dataclass(frozen=True)
class SystemGroup:
    """One system of the analysis: an experiment's runs of one configuration, by seed."""

    name: str
    experiment: str
    differs: dict[str, object]
    seeds: dict[int | None, str] = field(default_factory=dict)  # seed -> prediction source name

    def as_json(self) -> dict:
        return {"experiment": self.experiment, "differs": self.differs, "seeds": {str(k): v for k, v in self.seeds.items()}}


@dataclass(frozen=True)
class Sources:
    predictions: list[PredictionSource]
    groups: dict[str, SystemGroup]
    not_run: list[str]  # experiments asked for without a finished scoring run


def prediction_sources(cfg: Config, exp: str) -> Sources:
    if cfg.predictions:
        path = _existing(Path(cfg.predictions), "predictions")
        return _single_runs([(path.parent.name or exp, path, None, exp)])
    if cfg.runs:
        runs = [Path(r) for r in cfg.runs]
        return _single_runs([(_run_name(r), _existing(r / "predictions.parquet", "runs"), _seed_if_known(r), r.parent.name or exp) for r in runs])
    found, groups, missing = [], {}, []
    for name in analysed_experiments(cfg, exp):
        run_groups = scoring_run_groups(cfg.paths.results_dir, name)
        if not run_groups:
            missing.append(name)
        for group in run_groups:
            groups[group.name] = _system_group(group)
            found += [PredictionSource(group.system_name(seed), run / "predictions.parquet", group.name, seed) for seed, run in group.members.items()]
    if missing:
        log.warning("no finished scoring run for %s: shown as not run", ", ".join(missing))
    if not found:
        raise NoPredictions(
            f"no finished scoring run (evaluate, finetune or opro) under {cfg.paths.results_dir} for {missing}; "
            "run the scoring stage first, or pass runs=[...] or predictions=PATH"
        )
    return Sources(found, groups, missing)


def analysed_experiments(cfg: Config, exp: str) -> list[str]:
    if cfg.analyze.experiments:
        return list(cfg.analyze.experiments)
    rows = experiment_rows()
    return [exp] if exp in rows or not rows else list(rows)


def _system_group(group: RunGroup) -> SystemGroup:
    return SystemGroup(group.name, group.experiment, group.differs, dict(group.systems))


def _single_runs(entries: list[tuple[str, Path, int | None, str]]) -> Sources:
    """Files or run folders named one by one: each is a system of its own."""
    predictions = [PredictionSource(name, path, name, seed) for name, path, seed, _ in entries]
    groups = {name: SystemGroup(name, experiment, {}, {seed: name}) for name, _, seed, experiment in entries}
    return Sources(predictions, groups, [])


def _seed_if_known(run_dir: Path) -> int | None:
    return run_seed(run_dir) if (run_dir / "config.yaml").is_file() else None


def _existing(path: Path, key: str) -> Path:
    if not path.is_file():
        raise NoPredictions(f"{key}: {path} does not exist")
    return path


def _run_name(run_dir: Path) -> str:
    # results/<stage>/<exp>/<stamp>: the experiment names the system; the stamp keeps it unique.
    return f"{run_dir.parent.name}@{run_dir.name}" if run_dir.parent.name else run_dir.name


def skipped_clips(predictions_path: Path) -> dict[str, int]:
    """Unreadable clips the scoring run left out, per split (its metrics.json; {} when absent)."""
    metrics = predictions_path.parent / "metrics.json"
    if not metrics.is_file():
        return {}
    return {split: int(n) for split, n in json.loads(metrics.read_text()).get("skipped_clips", {}).items()}
