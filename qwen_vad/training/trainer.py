"""The Hugging Face Trainer, set up for the A/B task.

What the Trainer brings: the cosine schedule with warmup, gradient accumulation, data-parallel
training under ``accelerate launch``, mixed precision, checkpoints that hold optimizer,
scheduler, RNG and data-order state (so ``resume=true`` continues exactly), the best checkpoint
by a dev metric restored at the end, early stopping and TensorBoard. What this module adds: the
dev evaluation is constrained A/B scoring (``DevScorer``) instead of a loss on a dev set.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

import pandas as pd
from peft import PeftModel
from torch.utils.tensorboard import SummaryWriter
from transformers import (
    EarlyStoppingCallback,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.integrations import TensorBoardCallback

from qwen_vad.config import Config
from qwen_vad.distributed import is_main_process
from qwen_vad.runs import Run
from qwen_vad.training.collator import TrainingCollator
from qwen_vad.training.dev_scoring import SELECTION_METRIC, DevScorer
from qwen_vad.training.examples import ClipDataset
from qwen_vad.training.loss import AnswerLoss

log = logging.getLogger(__name__)

CHECKPOINTS_FOLDER = "checkpoints"
TENSORBOARD_FOLDER = "tensorboard"


class DevScoringTrainer(Trainer):
    """A Trainer whose evaluation is the dev split's constrained A/B scores."""

    def __init__(
        self,
        model: PeftModel,
        args: TrainingArguments,
        train_dataset: ClipDataset,
        collator: TrainingCollator,
        loss: AnswerLoss,
        dev_scorer: DevScorer,
        callbacks: Sequence[TrainerCallback],
    ) -> None:
        super().__init__(
            model=model,
            args=args,
            data_collator=collator,
            train_dataset=train_dataset,
            # The Trainer only checks that an evaluation set exists; evaluate() below scores it.
            eval_dataset=dev_scorer.dev_clips,
            compute_loss_func=loss,
            callbacks=list(callbacks),
        )
        self.dev_scorer = dev_scorer

    def evaluate(
        self, eval_dataset: pd.DataFrame | None = None, ignore_keys: list[str] | None = None, metric_key_prefix: str = "eval"
    ) -> dict[str, float]:
        if eval_dataset is not None:
            raise ValueError("DevScoringTrainer scores its own dev split; pass no eval_dataset")
        started = time.perf_counter()
        metrics = {f"{metric_key_prefix}_{name}": value for name, value in self.dev_scorer().items()}
        metrics[f"{metric_key_prefix}_seconds"] = round(time.perf_counter() - started, 2)
        self.log(metrics)
        # Early stopping and best-checkpoint tracking read the metrics from here.
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def training_arguments(cfg: Config, run: Run, device: str, resuming: bool) -> TrainingArguments:
    f = cfg.finetune
    return TrainingArguments(
        output_dir=str(run.path(CHECKPOINTS_FOLDER)),
        per_device_train_batch_size=f.batch_size,
        gradient_accumulation_steps=f.gradient_accumulation,
        num_train_epochs=f.epochs,
        max_steps=f.max_steps if f.max_steps > 0 else -1,
        learning_rate=f.lr,
        lr_scheduler_type=f.lr_scheduler,
        warmup_steps=f.warmup_steps,
        logging_steps=f.logging_steps,
        eval_strategy="steps",
        eval_steps=f.eval_steps,
        # The untrained model's dev score opens the dev curve (a resumed run already has it).
        eval_on_start=not resuming,
        # Checkpoints at every evaluation, so the best one can be restored at the end.
        save_strategy="steps",
        save_steps=f.eval_steps,
        save_total_limit=f.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model=SELECTION_METRIC,
        greater_is_better=True,
        restore_callback_states_from_checkpoint=True,  # early stopping's patience counter too
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=cfg.model.dtype == "bf16",
        fp16=cfg.model.dtype == "fp16",
        use_cpu=device == "cpu",
        dataloader_pin_memory=device.startswith("cuda"),
        # Our own callbacks write TensorBoard and the log (report_to would add every installed tracker).
        report_to="none",
        remove_unused_columns=False,  # the collator takes whole examples
        label_names=["labels"],
        ddp_find_unused_parameters=False,  # every LoRA weight gets a gradient in every step
        disable_tqdm=not sys.stderr.isatty(),  # a progress bar on terminals, plain log lines elsewhere
    )


def build_trainer(
    cfg: Config,
    run: Run,
    model: PeftModel,
    args: TrainingArguments,
    train_dataset: ClipDataset,
    collator: TrainingCollator,
    loss: AnswerLoss,
    dev_scorer: DevScorer,
    extra_callbacks: Sequence[TrainerCallback],
) -> DevScoringTrainer:
    callbacks: list[TrainerCallback] = [LogToRun()]
    if cfg.finetune.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.finetune.early_stopping_patience))
    if is_main_process():
        # One event file, written by the process that logs (other ranks would write empty ones).
        callbacks.append(TensorBoardCallback(SummaryWriter(str(run.path(TENSORBOARD_FOLDER)))))
    trainer = DevScoringTrainer(model, args, train_dataset, collator, loss, dev_scorer, [*callbacks, *extra_callbacks])
    trainer.remove_callback(PrinterCallback)  # LogToRun logs the same lines through the run's log
    return trainer


class LogToRun(TrainerCallback):
    """Training losses and dev scores into the run's log (log.txt), one line per report."""

    def on_log(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: dict[str, float] | None = None, **_: object
    ) -> None:
        if logs and state.is_world_process_zero:
            shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items())
            log.info("step %d/%d: %s", state.global_step, state.max_steps, shown)
