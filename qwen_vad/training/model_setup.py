"""The model a fine-tuning run trains: an audio LLM with LoRA adapters on its language model.

Loaded by the evaluation's own loader (same family, dtype, device, 4-bit and short-clip encoder
handling), then: gradient checkpointing, LoRA on the language model's projections the family
allows (seeded; qwen_vad.models.families.base.ModelFamily.lora_target_modules),
chosen modules trained in full, and every trainable parameter in float32 so AdamW's updates are
not rounded away in bf16 (the frozen weights stay in the loaded dtype; autocast runs the
matmuls in bf16).
"""

from __future__ import annotations

import dataclasses

import logging

from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model, prepare_model_for_kbit_training
from transformers import PreTrainedModel, ProcessorMixin, set_seed

from qwen_vad.config import Config, FinetuneConfig
from qwen_vad.errors import ConfigError
from qwen_vad.models.families import family_of
from qwen_vad.models.loader import load_model

log = logging.getLogger(__name__)


def load_trainable_model(cfg: Config, device: str) -> tuple[PeftModel, ProcessorMixin]:
    m = cfg.model
    if m.adapter is not None:
        raise ConfigError(
            f"model.adapter={m.adapter!r}: fine-tuning trains a new adapter on the base model; "
            "set model.adapter=null (evaluate an adapter with python -m qwen_vad.evaluate model.adapter=...)"
        )
    model, processor = load_model(dataclasses.replace(m, device=device))
    family = family_of(model)
    if not cfg.finetune.lora.target_modules:
        raise ConfigError("finetune.lora.target_modules is empty: LoRA needs at least one module to adapt")
    # The language model's modules only: the audio encoder's layers reuse q_proj/k_proj/v_proj.
    targets = family.lora_target_modules(model, cfg.finetune.lora.target_modules)
    prepare_for_training(model, cfg.finetune.gradient_checkpointing, quantized=m.load_in_4bit)
    # LoRA's A matrices are drawn at random: the seed makes the adapter's start reproducible.
    set_seed(cfg.seed)
    peft_model = get_peft_model(model, lora_config(cfg.finetune, targets))
    for parameter in peft_model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    trainable, total = peft_model.get_nb_trainable_parameters()
    log.info("trainable parameters: %d of %d (%.3f %%)", trainable, total, 100 * trainable / total)
    return peft_model, processor


def prepare_for_training(model: PreTrainedModel, gradient_checkpointing: bool, quantized: bool) -> None:
    # Non-reentrant checkpointing works with frozen inputs and PEFT; input grads are enabled as
    # well, so the checkpointed layers always see an input that requires grad.
    checkpointing_kwargs = {"use_reentrant": False}
    if quantized:
        # Freezes the 4-bit weights, casts the rest to float32 for stable training (QLoRA recipe).
        prepare_model_for_kbit_training(model, gradient_checkpointing, checkpointing_kwargs)
        return
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing_kwargs)
        model.enable_input_require_grads()


def lora_config(cfg: FinetuneConfig, target_modules: list[str]) -> PeftLoraConfig:
    """``target_modules``: full module names (``ModelFamily.lora_target_modules``)."""
    return PeftLoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=target_modules,
        modules_to_save=list(cfg.train_in_full) or None,
        bias="none",
    )
