"""What a finetune run leaves in its folder besides the scoring outputs.

  adapter/             the best adapter (peft: adapter_config.json + adapter_model.safetensors),
                       what ``python -m qwen_vad.evaluate model.adapter=<run>/adapter`` loads
                       (and the Trainer's training_args.bin)
  trainer_state.json   the Trainer's state: every logged loss and dev score, best step
  metrics.json         (written with the test scores) a "training" block: the dev curve, the
                       training-loss curve, the untrained and the best dev balanced accuracy
  checkpoints/, tensorboard/   resumable checkpoints; TensorBoard event files
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transformers import Trainer, TrainerState
from transformers.trainer_utils import TrainOutput

from qwen_vad.adapter_source import ADAPTER_FOLDER
from qwen_vad.training.dev_scoring import SELECTION_METRIC

__all__ = ["ADAPTER_FOLDER", "TrainingFacts", "save_adapter", "training_summary", "write_trainer_state"]

TRAINER_STATE_FILE = "trainer_state.json"
EVAL_PREFIX = "eval_"


@dataclass(frozen=True)
class TrainingFacts:
    """What the summary reports besides the Trainer's own state."""

    loss_mode: str
    train_clips: int
    skipped_train_clips: int
    resumed_from: Path | None
    train_dataset: str  # the training set's name and build fingerprint (provenance)
    train_dataset_fingerprint: str


def save_adapter(trainer: Trainer, run_dir: Path) -> Path:
    """The trainer's (best) adapter into ``adapter/``. Every rank must call it: under FSDP or
    DeepSpeed the weights are gathered from all ranks first; the main process writes."""
    folder = run_dir / ADAPTER_FOLDER
    trainer.save_model(str(folder))
    return folder


def write_trainer_state(state: TrainerState, run_dir: Path) -> None:
    state.save_to_json(str(run_dir / TRAINER_STATE_FILE))


def dev_curve(state: TrainerState) -> list[dict[str, float]]:
    """One entry per dev evaluation (step 0 is the untrained model), oldest first."""
    return [
        {"step": entry["step"], "epoch": entry.get("epoch", 0.0)}
        | {key.removeprefix(EVAL_PREFIX): value for key, value in entry.items() if key.startswith(EVAL_PREFIX)}
        for entry in state.log_history
        if f"{EVAL_PREFIX}{SELECTION_METRIC}" in entry
    ]


def training_curve(state: TrainerState) -> list[dict[str, float]]:
    keys = ("step", "epoch", "loss", "learning_rate", "grad_norm")
    return [{k: entry[k] for k in keys if k in entry} for entry in state.log_history if "loss" in entry]


def training_summary(state: TrainerState, result: TrainOutput, facts: TrainingFacts) -> dict[str, object]:
    curve = dev_curve(state)
    untrained = next((point[SELECTION_METRIC] for point in curve if point["step"] == 0), None)
    return {
        "loss_mode": facts.loss_mode,
        "train_dataset": {"name": facts.train_dataset, "fingerprint": facts.train_dataset_fingerprint},
        "train_clips": facts.train_clips,
        "skipped_train_clips": facts.skipped_train_clips,
        "resumed_from": str(facts.resumed_from) if facts.resumed_from else None,
        "steps": state.global_step,
        "max_steps": state.max_steps,
        "stopped_early": state.global_step < state.max_steps,
        "best_step": state.best_global_step,
        f"best_dev_{SELECTION_METRIC}": state.best_metric,
        f"untrained_dev_{SELECTION_METRIC}": untrained,
        "train_seconds": result.metrics.get("train_runtime"),
        "train_samples_per_second": result.metrics.get("train_samples_per_second"),
        "dev_curve": curve,
        "training_curve": training_curve(state),
    }
