"""What the two Omni families share: the thinker alone, an audio-only processor, silence padding.

The thinker (``*ThinkerForConditionalGeneration``) is the part that reads audio and writes text;
the talker and the speech decoder are never loaded. Its class loads from a thinker folder and from
a full Omni model folder alike (the thinker's config and weights are picked out; no key is missing).

The stock processors build an image and a video processor, and the video one needs torchvision,
which is not installed (the registry's wheel is a CUDA build that does not load against CPU torch).
``AudioOnlyProcessor`` is the stock class without those two: same tokenizer, feature extractor,
chat template and audio placeholder expansion.

Feature padding: every clip's features end with at least two frames computed on silence, whatever
it is batched with. The encoders keep only a clip's valid frames (``feature_attention_mask``), so
padding beyond that is wasted work, and what the valid frames hold must not depend on the batch:
the STFT of a clip's last frames reaches 200 samples past its end (reflect padding when nothing
follows). Qwen2.5-Omni's stock processor pads to 30 s, which this reproduces exactly for clips up
to 30 s at a fraction of the feature cost; Qwen3-Omni's pads to the batch's longest clip, so the
longest clip's last frames would see reflected audio and the others silence: a clip's features
would depend on its batch mates (scores would differ by batch size). With silence after every
clip they do not; a lone clip differs from the stock features in its last two frames only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import ClassVar

import torch
from transformers import PretrainedConfig, PreTrainedModel, ProcessorMixin, Qwen2Tokenizer

from qwen_vad.models.families.base import ModelFamily
from qwen_vad.models.tiny import chat_generation_config, train_tokenizer, whisper_feature_extractor

MEL_HOP_LENGTH = 160  # Whisper feature extractor: 10-ms hop at 16 kHz
SILENT_FRAMES_AFTER = 2  # 320 samples of silence cover the STFT's 200-sample reach past the clip

# The tokens a stock Omni processor copies from its tokenizer (names the tokenizer defines).
PROCESSOR_TOKENS = (
    "image_token", "audio_token", "video_token", "image_token_id", "audio_token_id", "video_token_id",
    "vision_bos_token", "vision_eos_token", "audio_bos_token", "audio_eos_token",
)  # fmt: skip


class AudioOnlyProcessor:
    """Mixed in before a stock Omni processor class: only its feature extractor and tokenizer."""

    stock_processor_class: ClassVar[str]  # what processor_config.json names, as in the real checkpoint

    def __init__(self, feature_extractor=None, tokenizer=None, chat_template=None) -> None:
        # The stock __init__ would require the image and video processors: skip to the base class.
        ProcessorMixin.__init__(self, feature_extractor, tokenizer, chat_template=chat_template)
        for name in PROCESSOR_TOKENS:
            setattr(self, name, getattr(self.tokenizer, name))

    @property
    def model_input_names(self) -> list[str]:
        names = self.tokenizer.model_input_names + self.feature_extractor.model_input_names + ["feature_attention_mask"]
        return list(dict.fromkeys(names))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "processor_class": self.stock_processor_class}


def silence_padded_samples(clip_samples: Sequence[int]) -> int:
    """Samples to pad a batch to: the longest clip, then ``SILENT_FRAMES_AFTER`` frames of silence."""
    return (math.ceil(max(clip_samples) / MEL_HOP_LENGTH) + SILENT_FRAMES_AFTER) * MEL_HOP_LENGTH


def mel_frames(num_samples: int) -> int:
    """Valid mel frames of a clip (what ``feature_attention_mask`` marks)."""
    return math.ceil(num_samples / MEL_HOP_LENGTH)


class OmniThinkerFamily(ModelFamily):
    thinker_class: ClassVar[type[PreTrainedModel]]
    processor_class: ClassVar[type[ProcessorMixin]]
    # The tiny stand-in's tokenizer (special tokens, chat template, named token roles) and sizes.
    tiny_special_tokens: ClassVar[tuple[str, ...]]
    tiny_chat_template: ClassVar[str]
    tiny_named_tokens: ClassVar[dict[str, str]]
    tiny: ClassVar[object]  # a dataclass of widths and depths

    def model_class(self) -> type[PreTrainedModel]:
        return self.thinker_class

    def load_processor(self, checkpoint: str) -> ProcessorMixin:
        return self.processor_class.from_pretrained(checkpoint)

    def tiny_config(self, tokenizer: Qwen2Tokenizer) -> PretrainedConfig:
        """The thinker config of the tiny stand-in, every token id from ``tokenizer``."""
        raise NotImplementedError

    def tiny_dimensions(self, size: str) -> dict[str, int]:
        self.check_tiny_size(size)
        return asdict(self.tiny)

    def build_tiny(self, size: str, seed: int) -> tuple[PreTrainedModel, ProcessorMixin]:
        self.check_tiny_size(size)
        tokenizer = train_tokenizer(self.tiny_special_tokens, self.tiny_chat_template, self.tiny_named_tokens)
        processor = self.processor_class(whisper_feature_extractor(), tokenizer, chat_template=self.tiny_chat_template)
        torch.manual_seed(seed)
        model = self.thinker_class(self.tiny_config(tokenizer))
        model.generation_config = chat_generation_config(tokenizer)
        return model.to(torch.bfloat16).eval(), processor
