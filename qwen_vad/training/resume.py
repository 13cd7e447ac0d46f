"""``resume=true``: continue an interrupted finetune run from its last checkpoint, in a new run folder.

The run continued is the latest earlier finetune run of the experiment with the same settings
(so each seed of a seed sweep finds its own); it must not have finished and must have written
a checkpoint (one every ``finetune.eval_steps`` steps). The Trainer restores weights, optimizer,
schedule, RNG state, data position and early-stopping patience from it; its dev curve continues
in the new run's trainer state. Run folders are never overwritten: the old one stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf
from transformers.trainer_utils import get_last_checkpoint

from qwen_vad.config import config_yaml
from qwen_vad.config import Config
from qwen_vad.errors import UserError
from qwen_vad.runs import Run, find_runs, run_status
from qwen_vad.settings import flat_settings
from qwen_vad.training.trainer import CHECKPOINTS_FOLDER

# Settings (dotted prefixes) a resumed run may change: none of them changes what is trained.
CHANGEABLE_ON_RESUME = ("resume", "force", "evaluate.", "decoding.batch_size")


class ResumeError(UserError, RuntimeError):
    """A resume=true run that cannot continue; the message says which run and why."""


@dataclass(frozen=True)
class ResumePoint:
    run_dir: Path
    checkpoint: Path


def find_resume_point(cfg: Config, run: Run) -> ResumePoint | None:
    """None without resume=true; else the checkpoint to continue, or a ResumeError saying why not."""
    if not cfg.resume:
        return None
    earlier = [p for p in find_runs(cfg.paths.results_dir, run.stage, run.exp, status=None) if p != run.dir]
    settings = run_settings(config_yaml(cfg))
    same = [p for p in earlier if changed_settings(run_settings((p / "config.yaml").read_text()), settings) == []]
    if not same:
        where = f"{cfg.paths.results_dir}/{run.stage}/{run.exp}"
        hint = _closest_difference(earlier, settings)
        raise ResumeError(f"resume=true, but no earlier {run.stage} run under {where} has these settings{hint}")
    previous = same[-1]
    if run_status(previous) == "done":
        raise ResumeError(f"{previous} finished: nothing to resume; run without resume=true")
    checkpoint = get_last_checkpoint(str(previous / CHECKPOINTS_FOLDER)) if (previous / CHECKPOINTS_FOLDER).is_dir() else None
    if checkpoint is None:
        raise ResumeError(f"{previous} stopped before its first checkpoint; run without resume=true")
    return ResumePoint(run_dir=previous, checkpoint=Path(checkpoint))


def run_settings(yaml_text: str) -> dict[str, object]:
    """{"finetune.lora.r": 16, ...} from a run's config.yaml text."""
    return flat_settings(OmegaConf.to_container(OmegaConf.create(yaml_text)))


def changed_settings(before: dict[str, object], now: dict[str, object]) -> list[str]:
    return sorted(
        key for key in before.keys() | now.keys()
        if before.get(key) != now.get(key) and not key.startswith(CHANGEABLE_ON_RESUME)
    )  # fmt: skip


def _closest_difference(earlier: list[Path], settings: dict[str, object]) -> str:
    if not earlier:
        return ""
    latest = run_settings((earlier[-1] / "config.yaml").read_text())
    changed = changed_settings(latest, settings)
    details = "; ".join(f"{key}: {latest.get(key)!r} -> {settings.get(key)!r}" for key in changed[:5])
    return f" (the latest, {earlier[-1].name}, differs in {details})"
