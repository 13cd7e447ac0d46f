"""Turn a prompt and clips into model inputs, identically for training and evaluation.

Two steps, kept apart so a rendered prompt can be cached, logged and extended (fine-tuning appends
the answer to it):

  render_prompt(processor, prompt, system_prompt)  ->  chat-template string, ending in
      "<|im_start|>assistant\\n" so the next token is the model's answer;
  build_model_inputs(processor, texts, clips)      ->  the tensors the model's forward takes.

Both are family-agnostic: the processor's own chat template and feature extractor do the work.
What a family adds (its default system turn, how far its features are padded) comes from its
adapter (``ModelFamily.render_prompt`` / ``ModelFamily.model_inputs``), which calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from transformers import BatchFeature, ProcessorMixin

from qwen_vad.audio.io import SAMPLE_RATE

# The templates only check that an audio entry exists (its "audio_url" key) and write the
# family's audio placeholder there; the clip itself goes to the processor.
AUDIO_PLACEHOLDER = {"type": "audio", "audio_url": "clip"}


def build_conversation(prompt: str, system_prompt: str | None = None) -> list[dict[str, object]]:
    """One user turn holding the clip then the prompt text, as the audio LLMs are prompted.

    With no system prompt the chat template decides (Qwen2-Audio's adds "You are a helpful
    assistant.", Qwen3-Omni's adds none).
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
    audio_kwargs: dict[str, object] | None = None,
    padding_side: Literal["left", "right"] = "left",
) -> BatchFeature:
    """Tokens and log-mel features for a batch: one rendered text and one clip per example.

    ``clips`` are 16 kHz mono float32 arrays (see qwen_vad.audio.io). Texts are padded on
    ``padding_side``: left (the default) puts every example's last token at position -1, which
    is where scoring reads the answer distribution. Audio is never padded on the left: the
    feature extractor pads it with silence after the clip and marks the valid frames in
    ``feature_attention_mask``. ``audio_kwargs`` go to the feature extractor (a family's
    padding rule, e.g. how many samples to pad to).
    """
    if len(texts) != len(clips):
        raise ValueError(
            f"got {len(texts)} texts but {len(clips)} clips; each text needs exactly one clip"
        )
    clips = [as_mono_float32(clip, index) for index, clip in enumerate(clips)]
    return processor(
        text=list(texts),
        audio=clips,
        text_kwargs={"padding": True, "padding_side": padding_side},
        audio_kwargs={"sampling_rate": SAMPLE_RATE, **(audio_kwargs or {})},
        return_tensors="pt",
    )


def as_mono_float32(clip: np.ndarray, index: int) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.ndim != 1 or clip.size == 0:
        raise ValueError(f"clip {index}: expected a non-empty 1-D (mono) array, got shape {clip.shape}")
    return clip.astype(np.float32, copy=False)
