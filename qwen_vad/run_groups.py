"""Which finished scoring runs make up one system of the comparison, and which seeds it has.

Runs of an experiment are grouped by their resolved configuration minus the seed (and minus
settings that only say how or where a stage ran): seeds of one configuration are one system,
aggregated as mean ± sd; configurations that differ otherwise (a LoRA-rank sweep, another
prompt, another dataset) stay separate systems, labelled with what differs
(``b3[finetune.lora.r=8]``). Within a group the newest finished run of each seed counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from qwen_vad.runs import find_runs, run_sort_key
from qwen_vad.settings import flat_settings

# Stages whose runs end in a predictions.parquet (design.md section 3).
SCORING_STAGES = ("evaluate", "finetune", "opro")
SEED_KEY = "seed"
# Settings that do not change what a system is: how a run was started (force, resume), what
# analysis and report stages would read or do, where files go, and how the matrix describes it.
NOT_DEFINING = ("seed", "force", "resume", "runs", "predictions", "pipeline.", "analyze.", "report.", "paths.", "row.")


@dataclass(frozen=True)
class RunGroup:
    """One system: runs of one experiment with one configuration, by seed."""

    experiment: str
    differs: dict[str, object]  # settings where this group differs from the experiment's other groups
    members: dict[int, Path] = field(default_factory=dict)  # seed -> run folder

    @property
    def name(self) -> str:
        if not self.differs:
            return self.experiment
        return f"{self.experiment}[{', '.join(f'{key}={value}' for key, value in self.differs.items())}]"

    def system_name(self, seed: int) -> str:
        """The name one seed's predictions go by in the analysis (the group's name when it has one seed)."""
        return self.name if len(self.members) == 1 else f"{self.name}[seed={seed}]"

    @property
    def systems(self) -> dict[int, str]:
        return {seed: self.system_name(seed) for seed in self.members}


def defining_settings(config_yaml: Path) -> dict[str, object]:
    """The flat settings of a run that define its system (everything but NOT_DEFINING)."""
    flat = flat_settings(OmegaConf.to_container(OmegaConf.load(config_yaml), resolve=False))
    return {key: value for key, value in flat.items() if not _ignored(key)}


def run_seed(run_dir: Path) -> int:
    return int(OmegaConf.load(run_dir / "config.yaml").get(SEED_KEY, 0))


def scoring_run_groups(results_dir: str | Path, exp: str) -> list[RunGroup]:
    """The systems ``exp`` was run as, each with the newest finished run of every seed."""
    by_config: dict[str, dict[int, Path]] = {}
    settings: dict[str, dict[str, object]] = {}
    for stage in SCORING_STAGES:
        for run_dir in find_runs(results_dir, stage, exp):
            if not (run_dir / "predictions.parquet").is_file():
                continue
            defining = defining_settings(run_dir / "config.yaml")
            key = json.dumps(defining, sort_keys=True, default=str)
            settings[key] = defining
            seeds = by_config.setdefault(key, {})
            seed = run_seed(run_dir)
            if seed not in seeds or run_sort_key(run_dir) > run_sort_key(seeds[seed]):
                seeds[seed] = run_dir
    varying = _varying_keys(list(settings.values()))
    groups = [
        RunGroup(exp, {k: settings[key].get(k) for k in varying}, dict(sorted(members.items())))
        for key, members in by_config.items()
    ]
    return sorted(groups, key=lambda g: g.name)


def _varying_keys(configs: list[dict[str, object]]) -> list[str]:
    keys = sorted({k for c in configs for k in c})
    return [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1]


def _ignored(key: str) -> bool:
    return any(key == prefix or (prefix.endswith(".") and key.startswith(prefix)) for prefix in NOT_DEFINING)
