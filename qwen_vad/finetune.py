"""``python -m qwen_vad.finetune exp=b2``: LoRA (or 4-bit QLoRA) fine-tuning on the A/B question.

The model learns to answer the evaluation's own prompt with the right option letter, the loss on
the tokens ``loss.mode`` names (``answer`` for b2-b4, ``full`` for b1), on the training set's
train split (``train_data``: B1/B2's small set; else the evaluation set's own train split). The
evaluation set's dev split is scored with constrained A/B decoding every
``finetune.eval_steps`` steps; the adapter with the best dev balanced accuracy is saved as
``adapter/`` and then scores the evaluation set exactly as ``python -m qwen_vad.evaluate
model.adapter=<run>/adapter`` would (qwen_vad.scoring.protocol: threshold learned on the full
dev split), writing ``predictions.parquet`` and ``metrics.json`` (with the dev curve).

Multi-GPU (or multi-process CPU) data parallel: ``accelerate launch -m qwen_vad.finetune exp=...``;
see docs/finetuning.md for the launch commands, 24-GB settings and DeepSpeed/FSDP configs. The
final scoring is then shared out among the processes too (qwen_vad.scoring.protocol).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from peft import PeftModel
from transformers import ProcessorMixin, TrainerCallback

from qwen_vad.errors import ConfigError
from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.distributed import is_main_process, wait_for_all_ranks
from qwen_vad.data.datasets import Dataset, open_evaluation_set, open_training_set
from qwen_vad.models.families import family_of
from qwen_vad.models.loader import resolve_device
from qwen_vad.prompts import AB_MODE, load_prompt
from qwen_vad.runs import Run
from qwen_vad.scoring.protocol import score_and_record
from qwen_vad.scoring.backends import require_local_model
from qwen_vad.scoring.systems import make_scorer, require_llm
from qwen_vad.training.collator import TrainingCollator
from qwen_vad.training.dev_scoring import DevScorer
from qwen_vad.training.examples import ClipDataset, load_split
from qwen_vad.training.labels import AB
from qwen_vad.training.loss import AnswerLoss
from qwen_vad.training.model_setup import load_trainable_model
from qwen_vad.training.outputs import ADAPTER_FOLDER, TrainingFacts, save_adapter, training_summary, write_trainer_state
from qwen_vad.training.prompt_sampling import PromptSampler
from qwen_vad.training.resume import find_resume_point
from qwen_vad.training.specaugment import SpecAugment
from qwen_vad.training.trainer import DevScoringTrainer, build_trainer, training_arguments

log = logging.getLogger("qwen_vad.finetune")


def finetune(cfg: Config, run: Run, callbacks: Sequence[TrainerCallback] = ()) -> None:
    """Train the adapter, then score the evaluation set with it (``callbacks``: extra Trainer callbacks)."""
    require_llm(cfg, "finetune")  # the adapter is scored as evaluate.system's LLM
    require_local_model(cfg.model, "finetune")  # training needs the model in this process, not on a server
    training, evaluation = open_training_set(cfg), open_evaluation_set(cfg)  # + cross-dataset leakage audit
    summary = train_adapter(cfg, run, training, evaluation, callbacks)
    release_training_memory()
    # Every rank scores its share of the evaluation set with the adapter rank 0 saved; rank 0 writes.
    wait_for_all_ranks()
    scoring_cfg = with_adapter(cfg, run.path(ADAPTER_FOLDER))
    score_and_record(scoring_cfg, run, make_scorer(scoring_cfg), evaluation, {"training": summary})


def train_adapter(
    cfg: Config, run: Run, training: Dataset, evaluation: Dataset, callbacks: Sequence[TrainerCallback]
) -> dict[str, object]:
    """Train on ``training``'s train split, select on ``evaluation``'s dev split, keep the best
    adapter in ``adapter/``; the training summary for metrics.json."""
    if cfg.decoding.mode != AB_MODE:
        raise ConfigError(f"fine-tuning trains and scores the A/B answer: decoding.mode must be {AB_MODE!r}")
    resume = find_resume_point(cfg, run)
    device = resolve_device(cfg.model.device)  # each data-parallel process on its own GPU
    model, processor = load_trainable_model(cfg, device)
    train = load_split(training.manifest, "train", training.folder, cfg.seed)
    log.info("training on %d clips of %s (%d unreadable skipped)%s", len(train.dataset), training.config.name, len(train.skipped),
             f", resuming {resume.checkpoint}" if resume else "")  # fmt: skip
    trainer = assemble_trainer(cfg, run, model, processor, device, train.dataset, evaluation, resume is not None, callbacks)
    result = trainer.train(resume_from_checkpoint=str(resume.checkpoint) if resume else None)
    facts = TrainingFacts(cfg.loss.mode, len(train.dataset), len(train.skipped), resume.checkpoint if resume else None,
                          training.config.name, training.fingerprint)  # fmt: skip
    summary = training_summary(trainer.state, result, facts)
    save_adapter(trainer, run.dir)
    if is_main_process():
        write_trainer_state(trainer.state, run.dir)
        log.info("best dev balanced accuracy %s at step %s (untrained model: %s)", rounded(summary["best_dev_balanced_accuracy"]),
                 summary["best_step"], rounded(summary["untrained_dev_balanced_accuracy"]))  # fmt: skip
    trainer.accelerator.free_memory()  # the accelerator's references to model and optimizer
    return summary


def assemble_trainer(
    cfg: Config,
    run: Run,
    model: PeftModel,
    processor: ProcessorMixin,
    device: str,
    train_dataset: ClipDataset,
    evaluation: Dataset,
    resumed: bool,
    callbacks: Sequence[TrainerCallback],
) -> DevScoringTrainer:
    optimized = Path(cfg.opro.optimized_dir)
    evaluation_prompt = load_prompt(cfg.decoding.prompt, optimized_dir=optimized)
    family = family_of(model)
    prompts = PromptSampler(
        processor, [load_prompt(name, optimized_dir=optimized) for name in cfg.finetune.prompts] or [evaluation_prompt],
        cfg.decoding.system_prompt, family,
    )
    collator = TrainingCollator(
        processor, prompts, cfg.loss.mode, SpecAugment(cfg.finetune.specaugment), family.uses_short_clip_encoder(model)
    )
    loss = AnswerLoss(cfg.loss.mode, prompts.option_pair() if cfg.loss.mode == AB else None)
    # The evaluation set's full dev split: the same clips every row's threshold is learned on.
    dev_scorer = DevScorer(model, processor, evaluation_prompt, cfg.decoding, evaluation.split("dev"), evaluation.folder)
    args = training_arguments(cfg, run, device, resuming=resumed)
    return build_trainer(cfg, run, model, args, train_dataset, collator, loss, dev_scorer, callbacks)


def with_adapter(cfg: Config, adapter: Path) -> Config:
    """The configuration evaluate would run with to score the saved adapter."""
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, adapter=str(adapter), adapter_from_finetune=None))


def rounded(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def release_training_memory() -> None:
    # The training model, optimizer state and activations go before the scoring model loads.
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


main = stage_main("finetune")(finetune)

if __name__ == "__main__":
    main()
