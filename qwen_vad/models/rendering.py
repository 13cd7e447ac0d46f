"""Turn a prompt and clips into Qwen2-Audio model inputs, identically for training and evaluation.

Two steps, kept apart so a rendered prompt can be cached, logged and extended (fine-tuning appends
the answer to it):

  render_prompt(processor, prompt, system_prompt)  ->  chat-template string, ending in
      "<|im_start|>assistant\\n" so the next token is the model's answer;
  build_model_inputs(processor, texts, clips)      ->  the tensors the model's forward takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from transformers import BatchFeature, ProcessorMixin

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.models.fast_encoder import MEL_HOP_LENGTH, mel_frames_for_clips

# The template only checks that an audio entry exists (its "audio_url" key) and writes
# "Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\n"; the clip itself goes to the processor.
AUDIO_PLACEHOLDER = {"type": "audio", "audio_url": "clip"}


def build_conversation(prompt: str, system_prompt: str | None = None) -> list[dict[str, object]]:
    """One user turn holding the clip then the prompt text, as Qwen2-Audio-Instruct is prompted.

    With no system prompt the chat template adds its default one, "You are a helpful assistant.".
    """
    user_turn = {"role": "user", "content": [AUDIO_PLACEHOLDER, {"type": "text", "text": prompt}]}
    if system_prompt is None:
        return [user_turn]
    return [{"role": "system", "content": system_prompt}, user_turn]


def render_prompt(processor: ProcessorMixin, prompt: str, system_prompt: str | None = None) -> str:
    """The chat-template text for one clip and prompt, ready for the assistant's answer."""
    return processor.apply_chat_template(
        build_conversation(prompt, system_prompt), add_generation_prompt=True, tokenize=False
    )


def build_model_inputs(
    processor: ProcessorMixin,
    texts: Sequence[str],
    clips: Sequence[np.ndarray],
    short_clip_features: bool,
    padding_side: Literal["left", "right"] = "left",
) -> BatchFeature:
    """Tokens and log-mel features for a batch: one rendered text and one clip per example.

    ``clips`` are 16 kHz mono float32 arrays (see qwen_vad.audio.io). Texts are padded on
    ``padding_side``: left (the default) puts every example's last token at position -1, which
    is where scoring reads the answer distribution. Audio is never padded on the left: the
    feature extractor pads it with silence after the clip and marks the valid frames in
    ``feature_attention_mask``.

    ``short_clip_features`` must match the model's encoder (`uses_short_clip_encoder(model)`):
    True computes only the mel frames the short-clip encoder needs for the longest clip in the
    batch; False computes the stock 3000 frames (30 s) per clip.
    """
    if len(texts) != len(clips):
        raise ValueError(
            f"got {len(texts)} texts but {len(clips)} clips; each text needs exactly one clip"
        )
    clips = [_as_mono_float32(clip, index) for index, clip in enumerate(clips)]
    audio_kwargs: dict[str, int] = {"sampling_rate": SAMPLE_RATE}
    if short_clip_features:
        audio_kwargs["max_length"] = mel_frames_for_clips(clip.size for clip in clips) * MEL_HOP_LENGTH
    return processor(
        text=list(texts),
        audio=clips,
        text_kwargs={"padding": True, "padding_side": padding_side},
        audio_kwargs=audio_kwargs,
        return_tensors="pt",
    )


def _as_mono_float32(clip: np.ndarray, index: int) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.ndim != 1 or clip.size == 0:
        raise ValueError(f"clip {index}: expected a non-empty 1-D (mono) array, got shape {clip.shape}")
    return clip.astype(np.float32, copy=False)
