"""Qwen3-Omni (Qwen/Qwen3-Omni-30B-A3B-Instruct): its thinker, the AuT encoder + a 30B-A3B MoE.

What is its own: ``<|audio_start|><|audio_pad|><|audio_end|>`` in the chat template and no default
system turn; an encoder that downsamples 8x in 1-s windows of 100 mel frames (13 tokens each), so
0.2 s -> 3 tokens, 1 s -> 13, and even 20 ms still gets 1; features padded to the batch's longest
clip by the stock processor (replaced by silence after every clip, qwen_vad.models.families.omni,
so a clip's score does not depend on its batch); a language model whose every MLP is a mixture of
128 experts, fused into two 3-D parameters per layer.

LoRA scope: attention only (q/k/v/o of the language model). The experts are not nn.Linear modules
but fused parameters, which peft reaches only through its ParamWrapper: that refuses any LoRA
dropout (the research plan's 0.05 would have to go), adapts all 128 experts per layer while a
token trains only the 8 it is routed to (the answer-token loss trains one token per example), and
peft's MoE conversion turns a target regex into bare names, which would also adapt the audio
encoder's projections. The attention projections are real nn.Linear layers in every layer, take
the research plan's settings unchanged, and work with 4-bit loading.

Real size: ~35B parameters with the vision encoder, ~60+ GB in bf16. bitsandbytes 4-bit does
not help much: it quantizes nn.Linear modules only, and the fused experts (~29B of the weights)
are not; plan on an 80-GB GPU (docs/families.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn
from transformers import (
    PretrainedConfig,
    ProcessorMixin,
    Qwen3OmniMoeProcessor,
    Qwen3OmniMoeThinkerConfig,
    Qwen3OmniMoeThinkerForConditionalGeneration,
    Qwen2Tokenizer,
)
from transformers.processing_utils import OmniModalProcessorMixin

from qwen_vad.models.families import base_model
from qwen_vad.models.families.omni import AudioOnlyProcessor, OmniThinkerFamily, mel_frames, silence_padded_samples
from qwen_vad.models.tiny import ENDOFTEXT, IM_END, IM_START, padded_vocab_size

SPECIAL_TOKENS = (
    IM_START, IM_END, "<|audio_start|>", "<|audio_end|>", "<|audio_pad|>",
    "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
)  # fmt: skip
NAMED_TOKENS = {
    "audio_token": "<|audio_pad|>", "audio_bos_token": "<|audio_start|>", "audio_eos_token": "<|audio_end|>",
    "image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
    "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>",
}  # fmt: skip

# Written for the tiny stand-in to render like Qwen/Qwen3-Omni-30B-A3B-Instruct's chat template
# for audio and text: a system turn only when one is given, each audio item as the bare
# placeholder triple, text items as they are, and the plain assistant opening.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'audio' or 'audio' in item or 'audio_url' in item %}<|audio_start|><|audio_pad|><|audio_end|>"
    "{% elif 'text' in item %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
ATTENTION_PROJECTIONS = frozenset({"q_proj", "k_proj", "v_proj", "o_proj"})


class AudioOnlyQwen3OmniMoeProcessor(AudioOnlyProcessor, Qwen3OmniMoeProcessor):
    stock_processor_class = "Qwen3OmniMoeProcessor"

    def __call__(self, text=None, images=None, videos=None, audio=None, **kwargs):
        # Qwen3OmniMoeProcessor.__call__ (transformers 5.23) pops ``audio_kwargs`` and never passes
        # them on, so no padding setting would reach the feature extractor; it only rewrites
        # deprecated video options otherwise. The shared omni-modal call takes them as given.
        return OmniModalProcessorMixin.__call__(self, images=images, text=text, videos=videos, audio=audio, **kwargs)


@dataclass(frozen=True)
class TinyDimensions:
    audio_d_model: int = 64
    audio_layers: int = 2
    audio_heads: int = 4
    audio_ffn_dim: int = 128
    audio_downsample_channels: int = 16
    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    experts: int = 4
    experts_per_token: int = 2
    expert_intermediate: int = 32


TINY = TinyDimensions()


class Qwen3OmniFamily(OmniThinkerFamily):
    name = "qwen3_omni"
    thinker_class = Qwen3OmniMoeThinkerForConditionalGeneration
    tiny_special_tokens, tiny_chat_template, tiny_named_tokens, tiny = SPECIAL_TOKENS, CHAT_TEMPLATE, NAMED_TOKENS, TINY
    processor_class = AudioOnlyQwen3OmniMoeProcessor
    lora_modules_allowed = ATTENTION_PROJECTIONS  # see the module docstring

    def audio_kwargs(self, processor: ProcessorMixin, clip_samples: Sequence[int], short_clip_features: bool) -> dict[str, object]:
        return {"padding": "max_length", "max_length": silence_padded_samples(clip_samples), "truncation": False}

    def expected_audio_tokens(self, model: nn.Module, num_samples: int) -> int:
        """Full 100-frame windows give 13 tokens each; the rest is downsampled 8x, rounding up."""
        window = 2 * base_model(model).config.audio_config.n_window
        full, rest = divmod(mel_frames(num_samples), window)
        return full * _downsampled(window) + _downsampled(rest)

    # ------------------------------------------------------------------------- tiny stand-in

    def tiny_config(self, tokenizer: Qwen2Tokenizer) -> PretrainedConfig:
        return tiny_config(tokenizer)


def _downsampled(frames: int) -> int:
    """Three stride-2 convolutions (kernel 3, padding 1) over ``frames`` mel frames."""
    for _ in range(3):
        frames = math.ceil(frames / 2)
    return frames


def tiny_config(tokenizer: Qwen2Tokenizer) -> Qwen3OmniMoeThinkerConfig:
    """The real thinker's geometry where it matters (128 mel bins, 100-frame encoder windows,
    every layer a mixture of experts, interleaved mRoPE); every token id from this tokenizer."""
    dims, ids = TINY, tokenizer.convert_tokens_to_ids
    endoftext = ids(ENDOFTEXT)
    return Qwen3OmniMoeThinkerConfig(
        audio_config={
            "num_mel_bins": 128, "max_source_positions": 1500, "n_window": 50, "n_window_infer": 800, "conv_chunksize": 500,
            "d_model": dims.audio_d_model, "encoder_layers": dims.audio_layers, "encoder_attention_heads": dims.audio_heads,
            "encoder_ffn_dim": dims.audio_ffn_dim, "downsample_hidden_size": dims.audio_downsample_channels,
            "output_dim": dims.text_hidden,
        },
        # Built because the thinker always holds one; never run on audio.
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": dims.text_hidden,
                       "deepstack_visual_indexes": [0], "num_position_embeddings": 64},  # fmt: skip
        text_config={
            "vocab_size": padded_vocab_size(tokenizer), "hidden_size": dims.text_hidden, "num_hidden_layers": dims.text_layers,
            "num_attention_heads": dims.text_heads, "num_key_value_heads": dims.text_kv_heads,
            "head_dim": dims.text_hidden // dims.text_heads, "intermediate_size": 4 * dims.text_hidden,
            "moe_intermediate_size": dims.expert_intermediate, "num_experts": dims.experts,
            "num_experts_per_tok": dims.experts_per_token, "decoder_sparse_step": 1, "max_position_embeddings": 8192,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [4, 2, 2], "interleaved": True},
            "tie_word_embeddings": False, "bos_token_id": endoftext, "eos_token_id": endoftext, "pad_token_id": endoftext,
        },
        audio_token_id=ids("<|audio_pad|>"), image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        audio_start_token_id=ids("<|audio_start|>"), audio_end_token_id=ids("<|audio_end|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=False,
    )  # fmt: skip


FAMILY = Qwen3OmniFamily()
