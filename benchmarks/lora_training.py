"""A LoRA training step as ``python -m qwen_vad.finetune`` takes it, for the training benchmarks.

Same pieces as the fine-tuning stage: LoRA on the language model's projections
(``qwen_vad.training.model_setup``: gradient checkpointing, the adapter config, trainable
parameters in float32), the training collator (features of the encoder path in use, answer
labels), ``AnswerLoss`` and an AdamW step, under bf16 autocast on CUDA. Only the Trainer's
bookkeeping (logging, dev scoring, checkpoints) is left out: it is not what a step costs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from peft import PeftModel, get_peft_model
from transformers import ProcessorMixin

from qwen_vad.config import FinetuneConfig
from qwen_vad.models.families import DEFAULT_FAMILY, family_named, family_of
from qwen_vad.models.families.base import ModelFamily
from qwen_vad.prompts import load_prompt
from qwen_vad.training.collator import TrainingCollator
from qwen_vad.training.examples import ClipDataset, LabelledClip, TrainingExample
from qwen_vad.training.loss import AnswerLoss
from qwen_vad.training.model_setup import lora_config, prepare_for_training
from qwen_vad.training.prompt_sampling import PromptSampler

CLIP_SECONDS = (0.2, 0.3, 0.5, 1.0)  # the study's durations
LOSS_MODE = "answer"  # the default loss: the answer letter only


def add_lora(model: torch.nn.Module, quantized: bool, cfg: FinetuneConfig | None = None) -> PeftModel:
    """An in-memory model made trainable as ``load_trainable_model`` makes a loaded one
    (the benchmarks build random-weight models that have no checkpoint folder to load)."""
    cfg = cfg or FinetuneConfig()
    targets = family_of(model).lora_target_modules(model, cfg.lora.target_modules)
    prepare_for_training(model, cfg.gradient_checkpointing, quantized=quantized)
    torch.manual_seed(0)
    peft_model = get_peft_model(model, lora_config(cfg, targets))
    for parameter in peft_model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    peft_model.train()
    return peft_model


def clip_durations(count: int) -> list[float]:
    """The study's durations spread over the batch, shortest and longest always included (the
    longest clip sets the batch's feature length)."""
    last = len(CLIP_SECONDS) - 1
    return [CLIP_SECONDS[round(i * last / max(count - 1, 1))] for i in range(count)]


def synthetic_examples(count: int) -> list[TrainingExample]:
    rng = np.random.default_rng(0)
    clips = [
        LabelledClip(f"clip{i}", (0.1 * rng.standard_normal(round(seconds * 16_000))).astype(np.float32), i % 2 == 0)
        for i, seconds in enumerate(clip_durations(count))
    ]
    dataset = ClipDataset(clips, seed=0)
    return [dataset[i] for i in range(count)]


def training_collator(processor: ProcessorMixin, short_clip: bool, prompt: str = "baseline", family: ModelFamily | None = None) -> TrainingCollator:
    sampler = PromptSampler(processor, [load_prompt(prompt)], None, family or family_named(DEFAULT_FAMILY))
    return TrainingCollator(processor, sampler, LOSS_MODE, None, short_clip_features=short_clip)


def training_step(
    model: torch.nn.Module, collator: TrainingCollator, examples: list[TrainingExample], device: str, autocast: bool
) -> Callable[[], float]:
    """One optimizer step on ``examples`` (features built inside, as the dataloader would);
    returns the loss."""
    loss_fn = AnswerLoss(LOSS_MODE, None)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step() -> float:
        batch = {name: tensor.to(device) for name, tensor in collator(examples).items()}
        labels = batch.pop("labels")
        with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model(**batch), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    return step
