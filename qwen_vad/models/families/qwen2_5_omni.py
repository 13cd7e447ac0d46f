"""Qwen2.5-Omni (Qwen/Qwen2.5-Omni-7B): its thinker, Whisper-style encoder + Qwen2.5-7B.

What is its own: ``<|audio_bos|><|AUDIO|><|audio_eos|>`` in the chat template (no "Audio 1:"
label, no newline after it); an encoder that keeps only a clip's valid frames (so Qwen2-Audio's
short-clip path has nothing to add) with Qwen2-Audio's token arithmetic (0.2 s -> 5 tokens, 1 s
-> 25, 20 ms -> 0); features padded to 30 s by the stock processor (reproduced exactly with a
short pad, qwen_vad.models.families.omni). mRoPE positions: for audio and text alone the model's
own positions are plain sequential ones, which the harness's left-padded position ids equal.

The default system turn: copies of the checkpoint's chat template disagree (some default to
"You are a helpful assistant.", the model card prompts with the one below, which Qwen recommends
and the transformers integration tests expect). It is always passed explicitly, so a prompt
renders the same whichever copy is loaded.

Real size: the thinker is ~8.9B parameters, ~17 GB in bf16 (fits a 24-GB GPU for scoring;
fine-tuning there wants model.load_in_4bit=true, which quantizes its language model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn
from transformers import (
    PretrainedConfig,
    ProcessorMixin,
    Qwen2_5OmniProcessor,
    Qwen2_5OmniThinkerConfig,
    Qwen2_5OmniThinkerForConditionalGeneration,
    Qwen2Tokenizer,
)

from qwen_vad.models.families.omni import AudioOnlyProcessor, OmniThinkerFamily, mel_frames, silence_padded_samples
from qwen_vad.models.tiny import ENDOFTEXT, IM_END, IM_START, padded_vocab_size

MAX_MEL_FRAMES = 3000  # the stock processor cuts clips at 30 s

# The real tokenizer's special tokens in their id order (151643.. there), and the names its
# processor looks them up by.
SPECIAL_TOKENS = (
    IM_START, IM_END, "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>",
    "<|vision_bos|>", "<|vision_eos|>", "<|vision_pad|>", "<|IMAGE|>", "<|VIDEO|>",
)  # fmt: skip
NAMED_TOKENS = {
    "audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>",
    "image_token": "<|IMAGE|>", "video_token": "<|VIDEO|>", "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
}  # fmt: skip

# Written for the tiny stand-in to render like Qwen/Qwen2.5-Omni-7B's chat_template.json for
# audio and text (its image/video branches are left out): the default system turn when none is
# given, each audio item as the bare placeholder triple, text items as they are.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'audio' or 'audio' in item or 'audio_url' in item %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif 'text' in item %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class AudioOnlyQwen2_5OmniProcessor(AudioOnlyProcessor, Qwen2_5OmniProcessor):
    stock_processor_class = "Qwen2_5OmniProcessor"


@dataclass(frozen=True)
class TinyDimensions:
    audio_d_model: int = 64
    audio_layers: int = 2
    audio_heads: int = 4
    audio_ffn_dim: int = 128
    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_intermediate: int = 128


TINY = TinyDimensions()


class Qwen2_5OmniFamily(OmniThinkerFamily):
    name = "qwen2_5_omni"
    thinker_class = Qwen2_5OmniThinkerForConditionalGeneration
    tiny_special_tokens, tiny_chat_template, tiny_named_tokens, tiny = SPECIAL_TOKENS, CHAT_TEMPLATE, NAMED_TOKENS, TINY
    processor_class = AudioOnlyQwen2_5OmniProcessor
    default_system_prompt = (
        "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of perceiving "
        "auditory and visual inputs, as well as generating text and speech."
    )
    # Its vision encoder is never run on audio: quantizing it with the language model only saves memory.
    four_bit_skipped_modules = ("audio_tower", "lm_head")

    def audio_kwargs(self, processor: ProcessorMixin, clip_samples: Sequence[int], short_clip_features: bool) -> dict[str, object]:
        # The stock processor always pads to 30 s ("max_length"); a shorter pad gives the same
        # valid frames, and a clip past 30 s is cut there as before.
        return {"max_length": min(silence_padded_samples(clip_samples), processor.feature_extractor.n_samples)}

    def expected_audio_tokens(self, model: nn.Module, num_samples: int) -> int:
        frames = min(mel_frames(num_samples), MAX_MEL_FRAMES)
        after_conv = (frames - 1) // 2 + 1
        return max(0, (after_conv - 2) // 2 + 1)

    # ------------------------------------------------------------------------- tiny stand-in

    def tiny_config(self, tokenizer: Qwen2Tokenizer) -> PretrainedConfig:
        return tiny_config(tokenizer)


def tiny_config(tokenizer: Qwen2Tokenizer) -> Qwen2_5OmniThinkerConfig:
    """The real thinker's geometry where it matters (128 mel bins, 1500 encoder positions, 1-s
    encoder windows, mRoPE sections in the real 2:3:3 ratio); every token id from this tokenizer."""
    dims, ids = TINY, tokenizer.convert_tokens_to_ids
    endoftext = ids(ENDOFTEXT)
    return Qwen2_5OmniThinkerConfig(
        audio_config={
            "num_mel_bins": 128, "max_source_positions": 1500, "n_window": 100, "d_model": dims.audio_d_model,
            "encoder_layers": dims.audio_layers, "encoder_attention_heads": dims.audio_heads,
            "encoder_ffn_dim": dims.audio_ffn_dim, "output_dim": dims.text_hidden,
        },
        # Built because the thinker always holds one; never run on audio.
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": dims.text_hidden,
                       "fullatt_block_indexes": [0]},  # fmt: skip
        text_config={
            "vocab_size": padded_vocab_size(tokenizer), "hidden_size": dims.text_hidden, "num_hidden_layers": dims.text_layers,
            "num_attention_heads": dims.text_heads, "num_key_value_heads": dims.text_kv_heads,
            "intermediate_size": dims.text_intermediate, "max_position_embeddings": 8192, "tie_word_embeddings": False,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": endoftext, "eos_token_id": endoftext, "pad_token_id": endoftext,
        },
        audio_token_id=ids("<|AUDIO|>"), image_token_id=ids("<|IMAGE|>"), video_token_id=ids("<|VIDEO|>"),
        audio_start_token_id=ids("<|audio_bos|>"), audio_end_token_id=ids("<|audio_eos|>"),
        vision_start_token_id=ids("<|vision_bos|>"), vision_end_token_id=ids("<|vision_eos|>"),
        tie_word_embeddings=False,
    )  # fmt: skip


FAMILY = Qwen2_5OmniFamily()
