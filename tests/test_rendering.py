"""Prompt rendering and batch building: left-padded text, 16 kHz audio, no warnings."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoProcessor, ProcessorMixin, Qwen2AudioForConditionalGeneration

from qwen_vad.models.fast_encoder import mel_frames_for_clips, use_short_clip_encoder
from qwen_vad.models.families import family_named
from qwen_vad.models.rendering import build_conversation, render_prompt

QWEN2_AUDIO = family_named("qwen2_audio")


@pytest.fixture(scope="module")
def processor(tiny_checkpoint: Path) -> ProcessorMixin:
    return AutoProcessor.from_pretrained(tiny_checkpoint)


def _clips(seconds: list[float]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(round(s * 16_000))).astype(np.float32) for s in seconds]


def test_conversation_is_one_user_turn_with_clip_then_prompt() -> None:
    assert build_conversation("Speech?") == [
        {
            "role": "user",
            "content": [{"type": "audio", "audio_url": "clip"}, {"type": "text", "text": "Speech?"}],
        }
    ]
    with_system = build_conversation("Speech?", system_prompt="Be brief.")
    assert with_system[0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("short_clip_features", [True, False])
def test_batch_is_built_without_warnings(
    processor: ProcessorMixin, short_clip_features: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter("error")
        texts = [render_prompt(processor, "Answer with A or B ONLY.")] * 2
        QWEN2_AUDIO.model_inputs(processor, texts, _clips([0.2, 1.0]), short_clip_features=short_clip_features)
    assert caplog.records == []


def test_text_is_left_padded_and_audio_tokens_match_clip_lengths(processor: ProcessorMixin) -> None:
    short_prompt = render_prompt(processor, "Speech?")
    long_prompt = render_prompt(
        processor, "Is there human speech in this audio?\n\nA) Yes\nB) No\n\nYour response:"
    )
    texts = [short_prompt, long_prompt]
    inputs = QWEN2_AUDIO.model_inputs(processor, texts, _clips([0.2, 1.0]), short_clip_features=True)

    attention = inputs["attention_mask"]
    assert attention[0, 0] == 0 and attention[:, -1].all(), "text must be padded on the left"
    assistant_turn = processor.tokenizer("<|im_start|>assistant\n", add_special_tokens=False).input_ids
    for row in inputs["input_ids"]:
        assert row[-len(assistant_turn) :].tolist() == assistant_turn
    # 0.2 s -> 20 mel frames -> 5 audio tokens; 1 s -> 100 frames -> 25 tokens (stock arithmetic).
    audio_tokens = (inputs["input_ids"] == processor.audio_token_id).sum(dim=1)
    assert audio_tokens.tolist() == [5, 25]
    assert inputs["feature_attention_mask"].sum(dim=1).tolist() == [20, 100]
    # Audio is padded after the clip (valid frames first), never on the left.
    assert inputs["feature_attention_mask"][:, 0].all()


def test_short_clip_features_cover_the_longest_clip_only(processor: ProcessorMixin) -> None:
    clips = _clips([0.2, 0.5, 3.0])
    texts = [render_prompt(processor, "Speech?")] * 3
    short = QWEN2_AUDIO.model_inputs(processor, texts, clips, short_clip_features=True)
    stock = QWEN2_AUDIO.model_inputs(processor, texts, clips, short_clip_features=False)

    assert stock["input_features"].shape[-1] == 3000
    assert short["input_features"].shape[-1] == mel_frames_for_clips(c.size for c in clips) == 302
    assert (short["input_ids"] == stock["input_ids"]).all()


@pytest.mark.parametrize("short_clip_features", [True, False])
def test_answer_logits_do_not_depend_on_batch_mates(
    tiny_checkpoint: Path, processor: ProcessorMixin, short_clip_features: bool
) -> None:
    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_checkpoint, dtype=torch.float32).eval()
    use_short_clip_encoder(model, short_clip_features)
    texts = [render_prompt(processor, prompt) for prompt in ("Speech?", "Is there speech?\n\nA) Yes\nB) No")]
    clips = _clips([0.2, 3.0])

    with torch.no_grad():
        batched = model(**QWEN2_AUDIO.model_inputs(processor, texts, clips, short_clip_features)).logits[:, -1]
        for index, (text, clip) in enumerate(zip(texts, clips)):
            alone = QWEN2_AUDIO.model_inputs(processor, [text], [clip], short_clip_features)
            torch.testing.assert_close(model(**alone).logits[0, -1], batched[index], rtol=0, atol=1e-5)


def test_mismatched_or_multichannel_inputs_are_refused(processor: ProcessorMixin) -> None:
    text = render_prompt(processor, "Speech?")
    with pytest.raises(ValueError, match="each text needs exactly one clip"):
        QWEN2_AUDIO.model_inputs(processor, [text, text], _clips([0.2]), short_clip_features=True)
    with pytest.raises(ValueError, match="1-D"):
        QWEN2_AUDIO.model_inputs(processor, [text], [np.zeros((800, 2), np.float32)], short_clip_features=True)
