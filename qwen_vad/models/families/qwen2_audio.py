"""Qwen2-Audio (Qwen/Qwen2-Audio-7B-Instruct): Whisper-large-v3 encoder, a projector, Qwen-7B.

What is its own: the stock processor (no video side), features padded to 30 s with the encoder
run on all 3000 mel frames unless the short-clip path is on (qwen_vad.models.fast_encoder, exact
for short clips), "Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>" in the chat template with its
default system turn "You are a helpful assistant.", and 0 audio tokens for a 20-ms clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from transformers import (
    AutoProcessor,
    ProcessorMixin,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    Qwen2Tokenizer,
)

from qwen_vad.models import fast_encoder
from qwen_vad.models.families.base import ModelFamily
from qwen_vad.models.tiny import ENDOFTEXT, chat_generation_config, padded_vocab_size, train_tokenizer, whisper_feature_extractor

# Special tokens of the real Qwen2-Audio tokenizer, in the real id order (151643..151648 there).
COMPANION_SAMPLES = 3_200  # 0.2 s at 16 kHz: 5 audio tokens (batch_companions)
AUDIO_TOKEN = "<|AUDIO|>"
AUDIO_BOS = "<|audio_bos|>"
AUDIO_EOS = "<|audio_eos|>"
EXTRA_SPECIAL_TOKENS = ("<|im_start|>", "<|im_end|>", AUDIO_TOKEN, AUDIO_BOS, AUDIO_EOS)

# Qwen/Qwen2-Audio-7B-Instruct's chat template (its chat_template.json, as reproduced in public
# fine-tuning code; transformers' Qwen2AudioProcessor.default_chat_template renders the same).
QWEN2_AUDIO_INSTRUCT_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}"
    "{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "<|im_start|>assistant\n"
    "{% endif %}"
)


@dataclass(frozen=True)
class CheckpointDimensions:
    audio_d_model: int
    audio_layers: int
    audio_heads: int
    audio_ffn_dim: int
    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    text_intermediate: int


DIMENSIONS: dict[str, CheckpointDimensions] = {
    "tiny": CheckpointDimensions(
        audio_d_model=64, audio_layers=2, audio_heads=4, audio_ffn_dim=128,
        text_hidden=64, text_layers=2, text_heads=4, text_kv_heads=4, text_intermediate=128,
    ),
    # Audio side = Whisper-large-v3 encoder as used by Qwen2-Audio-7B.
    "mid": CheckpointDimensions(
        audio_d_model=1280, audio_layers=32, audio_heads=20, audio_ffn_dim=5120,
        text_hidden=128, text_layers=2, text_heads=4, text_kv_heads=4, text_intermediate=256,
    ),
}


class Qwen2AudioFamily(ModelFamily):
    name = "qwen2_audio"
    # Only the 7B language model is quantized in 4-bit: it holds ~90 % of the weights, while the
    # audio encoder (~640M) and projector stay in bf16 so the audio features are not degraded.
    # Setting this list replaces transformers' default skip list, hence lm_head here too.
    four_bit_skipped_modules = ("audio_tower", "multi_modal_projector", "lm_head")
    tiny_sizes = tuple(DIMENSIONS)

    def model_class(self) -> type[Qwen2AudioForConditionalGeneration]:
        return Qwen2AudioForConditionalGeneration

    def load_processor(self, checkpoint: str) -> ProcessorMixin:
        return AutoProcessor.from_pretrained(checkpoint)

    def set_short_clip_encoder(self, model: nn.Module, enabled: bool) -> None:
        fast_encoder.use_short_clip_encoder(model, enabled)

    def uses_short_clip_encoder(self, model: nn.Module) -> bool:
        return fast_encoder.uses_short_clip_encoder(model)

    def audio_kwargs(self, processor: ProcessorMixin, clip_samples: Sequence[int], short_clip_features: bool) -> dict[str, object]:
        # The stock features are 30 s (3000 frames) per clip; the short-clip encoder takes only
        # the frames the batch's longest clip needs (qwen_vad.models.fast_encoder).
        if not short_clip_features:
            return {}
        return {"max_length": fast_encoder.mel_frames_for_clips(clip_samples) * fast_encoder.MEL_HOP_LENGTH}

    def expected_audio_tokens(self, model: nn.Module, num_samples: int) -> int:
        return fast_encoder.audio_tokens_for_samples(num_samples)

    def batch_companions(self, clip_samples: Sequence[int]) -> list[np.ndarray]:
        """transformers 5.23 takes a batch in which no clip has two adjacent audio tokens for
        unexpanded (legacy) input: it fails on a 20-ms clip (0 tokens) and merges 40-60-ms clips
        (1 token) by another path. One 0.2-s silent companion (5 tokens) keeps such a batch on
        the expanded path; rows are independent (left-padded positions), so the others' scores
        do not move, and the companion's row is dropped."""
        if max(fast_encoder.audio_tokens_for_samples(n) for n in clip_samples) >= 2:
            return []
        return [np.zeros(COMPANION_SAMPLES, dtype=np.float32)]

    # ------------------------------------------------------------------------- tiny stand-in

    def tiny_dimensions(self, size: str) -> dict[str, int]:
        self.check_tiny_size(size)
        return asdict(DIMENSIONS[size])

    def build_tiny(self, size: str, seed: int) -> tuple[Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor]:
        self.check_tiny_size(size)
        processor = build_processor()
        return build_model(size, seed, processor.tokenizer), processor


def build_processor() -> Qwen2AudioProcessor:
    """Processor configured like Qwen/Qwen2-Audio-7B-Instruct's, with a locally trained tokenizer."""
    return Qwen2AudioProcessor(
        feature_extractor=whisper_feature_extractor(),
        tokenizer=train_tokenizer(EXTRA_SPECIAL_TOKENS, QWEN2_AUDIO_INSTRUCT_CHAT_TEMPLATE),
        chat_template=QWEN2_AUDIO_INSTRUCT_CHAT_TEMPLATE,
    )


def build_config(size: str, tokenizer: Qwen2Tokenizer) -> Qwen2AudioConfig:
    dims = DIMENSIONS[size]
    endoftext_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    audio_config = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": 128,
        "max_source_positions": 1500,
        "d_model": dims.audio_d_model,
        "encoder_layers": dims.audio_layers,
        "encoder_attention_heads": dims.audio_heads,
        "encoder_ffn_dim": dims.audio_ffn_dim,
    }
    # Fields not set here keep the values the real Qwen2-Audio-7B config has (silu, untied head).
    text_config = {
        "model_type": "qwen2",
        "vocab_size": padded_vocab_size(tokenizer),
        "hidden_size": dims.text_hidden,
        "num_hidden_layers": dims.text_layers,
        "num_attention_heads": dims.text_heads,
        "num_key_value_heads": dims.text_kv_heads,
        "intermediate_size": dims.text_intermediate,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
        "bos_token_id": endoftext_id,
        "eos_token_id": endoftext_id,
        "pad_token_id": endoftext_id,
        "tie_word_embeddings": False,
    }
    return Qwen2AudioConfig(
        audio_config=audio_config,
        text_config=text_config,
        audio_token_index=tokenizer.convert_tokens_to_ids(AUDIO_TOKEN),
    )


def build_model(size: str, seed: int, tokenizer: Qwen2Tokenizer) -> Qwen2AudioForConditionalGeneration:
    """Random-weight model, identical for identical (size, seed), in bfloat16 like the real weights."""
    config = build_config(size, tokenizer)
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    # The real generation config (Qwen2-Audio-7B-Instruct's generation_config.json): stop at
    # <|endoftext|> or <|im_end|>, and its sampling settings, which generate mode must override
    # (qwen_vad.decoding.greedy_generation_config) rather than inherit.
    model.generation_config = chat_generation_config(tokenizer)
    return model.to(torch.bfloat16).eval()


FAMILY = Qwen2AudioFamily()
