"""The adapter every model family implements: what the harness asks a family, with the defaults
the three Qwen families share (ChatML turns, ``config.audio_token_id``, the language model at
``model.language_model``, LoRA on its projections). A family module overrides what differs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from torch import nn
from transformers import BatchFeature, PreTrainedModel, ProcessorMixin

from qwen_vad.errors import BadInputError, ConfigError
from qwen_vad.models.families import base_model
from qwen_vad.models.rendering import build_model_inputs, render_prompt

log = logging.getLogger(__name__)


class ModelFamily:
    name: ClassVar[str]
    # The system turn rendered when decoding.system_prompt is null; None leaves it to the chat
    # template (whose default differs between copies of some checkpoints: set it when it matters).
    default_system_prompt: ClassVar[str | None] = None
    # The token that closes every chat turn, the assistant's too: fine-tuning ends its targets with it.
    end_of_turn: ClassVar[str] = "<|im_end|>"
    # Modules kept in bf16 when the rest is loaded in 4-bit (replaces transformers' skip list).
    four_bit_skipped_modules: ClassVar[tuple[str, ...]] = ("audio_tower", "lm_head")
    # Where the text decoder sits; LoRA adapts only modules under it (never the audio encoder).
    language_model_prefix: ClassVar[str] = "model.language_model."
    # finetune.lora.target_modules this family may adapt (None: any of them).
    lora_modules_allowed: ClassVar[frozenset[str] | None] = None
    # Why the OPRO audio cache cannot reuse this family's audio embeddings; None: it can.
    audio_cache_unavailable: ClassVar[str | None] = None
    # Sizes `python -m qwen_vad.models.tiny --family <name> --size ...` builds.
    tiny_sizes: ClassVar[tuple[str, ...]] = ("tiny",)

    # ---------------------------------------------------------------------------------- loading

    def model_class(self) -> type[PreTrainedModel]:
        """The transformers class scoring and training load (for Omni models: the thinker)."""
        raise NotImplementedError

    def load_processor(self, checkpoint: str) -> ProcessorMixin:
        raise NotImplementedError

    def check_loaded(self, model: PreTrainedModel, processor: ProcessorMixin, checkpoint: str) -> None:
        """The processor's audio placeholder must be the token the model replaces with audio."""
        config_id = self.audio_token_id(model)
        processor_id = processor.tokenizer.convert_tokens_to_ids(processor.audio_token)
        if config_id != processor_id:
            raise BadInputError(
                f"{checkpoint}: the tokenizer's audio placeholder {processor.audio_token!r} is token {processor_id}, "
                f"but the model's config.json says audio_token_id={config_id}; the tokenizer and weights do not belong together"
            )

    # --------------------------------------------------------------------- short-clip encoder

    def set_short_clip_encoder(self, model: nn.Module, enabled: bool) -> None:
        """Switch the encoder's short-clip path (model.fast_encoder). Families whose encoder
        already runs on the clip's own frames only have nothing to switch."""

    def uses_short_clip_encoder(self, model: nn.Module) -> bool:
        return False

    # ------------------------------------------------------------------------ prompts, inputs

    def render_prompt(self, processor: ProcessorMixin, prompt: str, system_prompt: str | None = None) -> str:
        """The chat text for one clip and prompt, ending where the assistant's answer starts."""
        return render_prompt(processor, prompt, system_prompt if system_prompt is not None else self.default_system_prompt)

    def audio_kwargs(self, processor: ProcessorMixin, clip_samples: Sequence[int], short_clip_features: bool) -> dict[str, object]:
        """Feature-extractor settings for a batch of clips of these sample counts."""
        return {}

    def model_inputs(
        self,
        processor: ProcessorMixin,
        texts: Sequence[str],
        clips: Sequence[np.ndarray],
        short_clip_features: bool = False,
        padding_side: Literal["left", "right"] = "left",
    ) -> BatchFeature:
        """The batch the model's forward takes (``short_clip_features`` must match
        ``uses_short_clip_encoder(model)``)."""
        samples = [np.asarray(clip).size for clip in clips]
        kwargs = self.audio_kwargs(processor, samples, short_clip_features) if all(samples) else {}
        return build_model_inputs(processor, texts, clips, kwargs, padding_side)

    def batch_companions(self, clip_samples: Sequence[int]) -> list[np.ndarray]:
        """Clips a batch of clips of these sample counts needs beside them to go through the
        model's own code path (scored after the caller's clips, their rows then dropped); none
        for most families."""
        return []

    # ---------------------------------------------------------------------------- audio tokens

    def audio_token_id(self, model: nn.Module) -> int:
        """The placeholder the model replaces with audio embeddings, from the checkpoint's config."""
        return int(base_model(model).config.audio_token_id)

    def expected_audio_tokens(self, model: nn.Module, num_samples: int) -> int:
        """Audio tokens a clip of ``num_samples`` at 16 kHz gets."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------ fine-tuning

    def lora_target_modules(self, model: nn.Module, names: Sequence[str]) -> list[str]:
        """The language model's modules LoRA adapts: those whose last name part is in ``names``.

        Full module names, not a regex: peft turns a regex into bare leaf names for some MoE
        models (Qwen3-Omni), which would adapt the audio encoder's q/k/v projections too.
        """
        wanted = set(names)
        if self.lora_modules_allowed is not None and wanted - self.lora_modules_allowed:
            log.info("%s: LoRA adapts only %s (finetune.lora.target_modules also names %s)", self.name,
                     sorted(wanted & self.lora_modules_allowed), sorted(wanted - self.lora_modules_allowed))  # fmt: skip
            wanted &= self.lora_modules_allowed
        targets = [
            name for name, module in base_model(model).named_modules()
            if name.startswith(self.language_model_prefix) and name.rpartition(".")[2] in wanted and not list(module.children())
        ]  # fmt: skip
        if not targets:
            allowed = sorted(self.lora_modules_allowed) if self.lora_modules_allowed is not None else "its projections"
            raise ConfigError(
                f"finetune.lora.target_modules={sorted(names)} names no module of the {self.name} language model "
                f"(LoRA can adapt {allowed})"
            )
        return targets

    # ------------------------------------------------------------------------------ audio cache

    def language_model(self, model: nn.Module) -> nn.Module:
        """The text decoder: its ``inputs_embeds`` hold the prompt's token embeddings with the
        audio embeddings in the placeholder positions, which is what the OPRO audio cache keeps."""
        return base_model(model).model.language_model

    # ------------------------------------------------------------------------- tiny stand-ins

    def tiny_dimensions(self, size: str) -> dict[str, int]:
        raise NotImplementedError

    def build_tiny(self, size: str, seed: int) -> tuple[PreTrainedModel, ProcessorMixin]:
        """A random-weight model of this family (real classes, small widths) and its processor."""
        raise NotImplementedError

    def check_tiny_size(self, size: str) -> None:
        if size not in self.tiny_sizes:
            raise ValueError(f"unknown checkpoint size {size!r} for {self.name}; choose one of {sorted(self.tiny_sizes)}")
