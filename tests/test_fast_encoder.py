"""The short-clip encoder path gives the stock path's audio tokens, logits and gradients."""

from __future__ import annotations

import copy

from pathlib import Path

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoProcessor, ProcessorMixin, Qwen2AudioForConditionalGeneration

from qwen_vad.models.fast_encoder import (
    ShortClipQwen2AudioEncoder,
    find_audio_encoders,
    mel_frames_for_clips,
    use_short_clip_encoder,
    uses_short_clip_encoder,
)
from qwen_vad.models.families import family_named
from qwen_vad.models.families.qwen2_audio import build_model, build_processor
from qwen_vad.models.rendering import render_prompt

MIXED_SECONDS = [0.2, 0.5, 1.0, 3.0]
PROMPTS = [
    "Answer with A or B ONLY.",
    "Is there human speech in this audio?\n\nA) Yes\nB) No\n\nYour response:",
    "Speech?",
    "Task: Detect if human speech is present in this audio.\n\n"
    "A) SPEECH detected\nB) NO SPEECH detected\n\nAnswer:",
]
LOGIT_TOLERANCE = 1e-4
QWEN2_AUDIO = family_named("qwen2_audio")


def _clips(seconds: list[float], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(round(s * 16_000))).astype(np.float32) for s in seconds]


def _stock_and_short_inputs(processor: ProcessorMixin, clips: list[np.ndarray]) -> tuple[dict, dict]:
    texts = [render_prompt(processor, PROMPTS[i % len(PROMPTS)]) for i in range(len(clips))]
    stock = QWEN2_AUDIO.model_inputs(processor, texts, clips, short_clip_features=False)
    short = QWEN2_AUDIO.model_inputs(processor, texts, clips, short_clip_features=True)
    return stock, short


def _logits(model: Qwen2AudioForConditionalGeneration, inputs: dict, short_clip: bool) -> torch.Tensor:
    use_short_clip_encoder(model, short_clip)
    with torch.no_grad():
        return model(**inputs).logits


@pytest.fixture(scope="module")
def processor(tiny_checkpoint: Path) -> ProcessorMixin:
    return AutoProcessor.from_pretrained(tiny_checkpoint)


@pytest.fixture()
def model(tiny_checkpoint: Path) -> Qwen2AudioForConditionalGeneration:
    return Qwen2AudioForConditionalGeneration.from_pretrained(tiny_checkpoint, dtype=torch.float32).eval()


@pytest.mark.parametrize(
    ("samples", "frames"),
    [
        (1, 4),  # 1 mel frame -> 1 encoder position -> frames 0..2 needed -> 4 (even)
        (160, 4),
        (161, 4),  # 2 frames -> 1 position
        (321, 6),  # 3 frames -> 2 positions -> frames 0..4 -> 6
        (3_200, 22),  # 0.2 s: 20 frames -> 10 positions -> 22
        (48_000, 302),  # 3 s
        (479_000, 2996),  # 29.94 s: 2994 frames -> 1497 positions
        (479_840, 3000),  # 2999 frames -> 1500 positions would need 3002: capped at the stock 3000
        (480_000, 3000),
        (960_000, 3000),  # longer than 30 s: the extractor truncates, as in the stock path
    ],
)
def test_mel_frames_cover_the_longest_clip_and_the_convolution_margin(samples: int, frames: int) -> None:
    assert mel_frames_for_clips([1, samples]) == frames


@pytest.mark.parametrize(
    "samples", [1, 159, 160, 161, 319, 320, 321, 3_200, 3_201, 7_999, 8_000, 16_000, 48_160]
)
def test_short_features_are_the_first_frames_of_the_stock_features(
    processor: ProcessorMixin, samples: int
) -> None:
    # The shortest clip also checks the frames a shorter clip gets when padded to a longer one.
    clips = _clips([0.05, samples / 16_000])
    stock, short = _stock_and_short_inputs(processor, clips)
    frames = short["input_features"].shape[-1]

    assert frames == mel_frames_for_clips(c.size for c in clips)
    stock_frames = stock["input_features"][..., :frames]
    torch.testing.assert_close(short["input_features"], stock_frames, rtol=0, atol=1e-6)
    assert torch.equal(short["feature_attention_mask"], stock["feature_attention_mask"][:, :frames])
    assert torch.equal(short["input_ids"], stock["input_ids"])


def test_stock_encoder_refuses_short_features_and_short_encoder_refuses_odd_frames(
    model: Qwen2AudioForConditionalGeneration, processor: ProcessorMixin
) -> None:
    _, short = _stock_and_short_inputs(processor, _clips([0.2]))
    use_short_clip_encoder(model, False)
    with pytest.raises(ValueError, match="3000"):
        model(**short)
    (encoder,) = find_audio_encoders(model)
    use_short_clip_encoder(model, True)
    with pytest.raises(ValueError, match="even number of mel frames"):
        encoder(short["input_features"][..., :21])


def test_switching_keeps_the_same_module_and_weights(model: Qwen2AudioForConditionalGeneration) -> None:
    (encoder,) = find_audio_encoders(model)
    weights_before = {name: p.data_ptr() for name, p in encoder.named_parameters()}

    use_short_clip_encoder(model, True)
    assert uses_short_clip_encoder(model) and type(encoder) is ShortClipQwen2AudioEncoder
    use_short_clip_encoder(model, False)
    assert not uses_short_clip_encoder(model)

    assert find_audio_encoders(model) == [encoder]
    assert {name: p.data_ptr() for name, p in encoder.named_parameters()} == weights_before


def test_switching_refuses_an_encoder_whose_forward_is_wrapped_per_instance(
    model: Qwen2AudioForConditionalGeneration,
) -> None:
    (encoder,) = find_audio_encoders(model)
    encoder.forward = encoder.forward  # what accelerate's dispatch hooks do
    with pytest.raises(TypeError, match="wrapped by a hook"):
        use_short_clip_encoder(model, True)


def test_logits_equal_stock_for_a_mixed_length_batch(
    model: Qwen2AudioForConditionalGeneration, processor: ProcessorMixin
) -> None:
    clips = _clips(MIXED_SECONDS)
    stock, short = _stock_and_short_inputs(processor, clips)

    stock_logits = _logits(model, stock, short_clip=False)
    short_logits = _logits(model, short, short_clip=True)
    # The same batch with the clips in another order: the audio does move the logits, by far more
    # than the tolerance, so equality is not vacuous.
    texts = [render_prompt(processor, prompt) for prompt in PROMPTS]
    reordered = QWEN2_AUDIO.model_inputs(processor, texts, clips[::-1], short_clip_features=True)
    reordered_logits = _logits(model, reordered, short_clip=True)

    assert (short_logits - stock_logits).abs().max().item() <= LOGIT_TOLERANCE
    assert (reordered_logits[:, -1] - stock_logits[:, -1]).abs().max().item() > 100 * LOGIT_TOLERANCE


def test_logits_equal_stock_when_a_clip_fills_the_30_s_window(
    model: Qwen2AudioForConditionalGeneration, processor: ProcessorMixin
) -> None:
    stock, short = _stock_and_short_inputs(processor, _clips([0.2, 30.0]))
    assert short["input_features"].shape[-1] == 3000

    difference = _logits(model, short, short_clip=True) - _logits(model, stock, short_clip=False)
    assert difference.abs().max().item() <= LOGIT_TOLERANCE


def test_gradients_equal_stock_for_llm_and_unfrozen_encoder(
    model: Qwen2AudioForConditionalGeneration, processor: ProcessorMixin
) -> None:
    clips = _clips(MIXED_SECONDS)
    stock, short = _stock_and_short_inputs(processor, clips)
    answers = processor.tokenizer(["A", "B", "A", "B"], add_special_tokens=False, return_tensors="pt")
    answer_ids = answers.input_ids[:, 0]
    model.train()  # dropout and LayerDrop are 0 in Qwen2-Audio's config: train mode is deterministic

    def gradients(inputs: dict, short_clip: bool) -> dict[str, torch.Tensor]:
        use_short_clip_encoder(model, short_clip)
        model.zero_grad(set_to_none=True)
        answer_logits = model(**inputs).logits[:, -1]
        torch.nn.functional.cross_entropy(answer_logits, answer_ids).backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    stock_grads = gradients(stock, short_clip=False)
    short_grads = gradients(short, short_clip=True)

    assert stock_grads.keys() == short_grads.keys()
    assert any(".audio_tower.layers." in name for name in stock_grads)
    assert any(".language_model." in name for name in stock_grads)
    for name, stock_grad in stock_grads.items():
        torch.testing.assert_close(short_grads[name], stock_grad, rtol=1e-4, atol=1e-6, msg=name)


def test_short_clip_encoder_works_under_a_peft_wrapper(
    model: Qwen2AudioForConditionalGeneration, processor: ProcessorMixin
) -> None:
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = get_peft_model(model, lora).eval()
    stock, short = _stock_and_short_inputs(processor, _clips(MIXED_SECONDS))

    difference = _logits(peft_model, short, short_clip=True) - _logits(peft_model, stock, short_clip=False)
    assert difference.abs().max().item() <= LOGIT_TOLERANCE


def test_encoder_trained_in_full_under_peft_switches_with_its_copy(
    model: Qwen2AudioForConditionalGeneration, processor: ProcessorMixin
) -> None:
    """finetune.train_in_full=[audio_tower]: peft keeps the original encoder beside a trainable
    copy; both follow the switch, and the logits still equal the stock path."""
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], modules_to_save=["audio_tower"])
    peft_model = get_peft_model(copy.deepcopy(model), lora).eval()
    assert len(find_audio_encoders(peft_model)) == 2
    stock, short = _stock_and_short_inputs(processor, _clips(MIXED_SECONDS))

    difference = _logits(peft_model, short, short_clip=True) - _logits(peft_model, stock, short_clip=False)
    assert difference.abs().max().item() <= LOGIT_TOLERANCE
    use_short_clip_encoder(peft_model, True)
    assert uses_short_clip_encoder(peft_model)


@pytest.mark.slow
def test_logits_equal_stock_on_the_full_size_audio_encoder() -> None:
    """Whisper-large-v3-sized encoder (32 layers x 1280): float error over the real depth and width.

    The stock path costs ~2 TFLOP per clip whatever its length (1500 positions x 32 layers), so it
    scores one clip, the shortest (the most of the 30 s the short path leaves out): ~40 s on 2 CPU
    cores. Mixed lengths in one batch are the tiny encoder's tests above; benchmarks/scoring_speed.py
    measures this encoder on 0.2-s and 1-s batches.
    """
    processor = build_processor()
    model = build_model("mid", seed=0, tokenizer=processor.tokenizer).float()
    stock, short = _stock_and_short_inputs(processor, _clips([MIXED_SECONDS[0]]))

    stock_logits = _logits(model, stock, short_clip=False)
    short_logits = _logits(model, short, short_clip=True)

    assert (short_logits - stock_logits).abs().max().item() <= LOGIT_TOLERANCE
