"""Constrained A/B decoding and generate mode on the tiny checkpoint (real transformers classes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.answers import UNKNOWN, AnswerReading, read_answer
from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.decoding import LLMScorer, OptionTokenError, option_token_ids
from qwen_vad.models.fast_encoder import use_short_clip_encoder
from qwen_vad.models.loader import load_model
from qwen_vad.prompts import load_prompt


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path):
    return load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu"))


@pytest.fixture(scope="module")
def mixed_clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in (3200, 16000, 4800, 8000, 1600)]


def scorer(tiny, prompt: str = "baseline", **overrides) -> LLMScorer:
    model, processor = tiny
    return LLMScorer(model, processor, load_prompt(prompt), DecodingConfig(**overrides), system="tiny")


def test_option_letters_are_distinct_single_tokens(tiny) -> None:
    tokenizer = tiny[1].tokenizer
    speech_id, nonspeech_id = option_token_ids(tokenizer, "A", "B", "baseline")
    assert tokenizer.decode([speech_id]) == "A" and tokenizer.decode([nonspeech_id]) == "B"
    swapped = load_prompt("swapped_baseline")
    assert option_token_ids(tokenizer, swapped.speech_option, swapped.nonspeech_option, swapped.id) == (nonspeech_id, speech_id)


def test_multi_token_or_identical_options_are_clear_errors(tiny) -> None:
    tokenizer = tiny[1].tokenizer
    # Byte-level BPE: a two-byte character the tokenizer never merged is two tokens.
    with pytest.raises(OptionTokenError, match="'Ä' is 2 tokens"):
        option_token_ids(tokenizer, "Ä", "B", "umlaut")
    with pytest.raises(OptionTokenError, match="both options map to token"):
        option_token_ids(tokenizer, "A", "A", "same")


def test_batch_size_one_and_n_agree(tiny, mixed_clips) -> None:
    batched = scorer(tiny, batch_size=5).score(mixed_clips).p_speech
    single = np.array([scorer(tiny).score([clip]).p_speech[0] for clip in mixed_clips])
    assert batched.shape == (5,) and np.all((batched > 0) & (batched < 1))
    np.testing.assert_allclose(batched, single, atol=1e-5, rtol=0)


def test_fast_encoder_path_gives_the_stock_scores(tiny, mixed_clips) -> None:
    model, _ = tiny
    fast = scorer(tiny).score(mixed_clips).p_speech
    use_short_clip_encoder(model, False)
    try:
        stock = scorer(tiny).score(mixed_clips).p_speech
    finally:
        use_short_clip_encoder(model, True)
    np.testing.assert_allclose(fast, stock, atol=1e-5, rtol=0)


def test_swap_options_averages_both_orders(tiny, mixed_clips) -> None:
    plain = scorer(tiny).score(mixed_clips).p_speech
    swapped = scorer(tiny, "swapped_baseline").score(mixed_clips).p_speech
    both = scorer(tiny, swap_options=True).score(mixed_clips).p_speech
    np.testing.assert_allclose(both, (plain + swapped) / 2, atol=1e-6)


def test_temperature_sharpens_or_flattens(tiny, mixed_clips) -> None:
    cold = scorer(tiny, temperature=0.1).score(mixed_clips).p_speech
    hot = scorer(tiny, temperature=10.0).score(mixed_clips).p_speech
    assert np.all(np.abs(hot - 0.5) <= np.abs(cold - 0.5) + 1e-9)


def test_generate_mode_normalises_free_text(tiny, mixed_clips) -> None:
    result = scorer(tiny, "open_speech_or_nonspeech", mode="generate", max_new_tokens=4).score(mixed_clips[:2])
    assert len(result.answers) == 2 and all(isinstance(a, str) for a in result.answers)
    assert set(result.labels) <= {SPEECH, NONSPEECH, UNKNOWN}
    # Each answer carries the normaliser's rule, the same reading the label came from.
    assert [read_answer(a, load_prompt("open_speech_or_nonspeech")) for a in result.answers] == [
        AnswerReading(label, rule) for label, rule in zip(result.labels, result.answer_rules, strict=True)
    ]
    assert set(result.p_speech) <= {0.0, 0.5, 1.0}
    assert set(result.seconds) == {"feature_extraction", "forward", "post_processing"}


def test_open_prompt_needs_generate_mode(tiny) -> None:
    with pytest.raises(ValueError, match="decoding.mode=generate"):
        scorer(tiny, "open_what_do_you_hear")


def greedy_tokens_by_hand(model, processor, text: str, clip: np.ndarray, steps: int) -> list[int]:
    """Greedy decoding written out: the argmax of the full forward at every step, no penalty."""
    import torch

    from qwen_vad.models.families import family_of

    family = family_of(model)
    inputs = family.model_inputs(processor, [text], [clip], short_clip_features=family.uses_short_clip_encoder(model))
    stops = set(model.generation_config.eos_token_id)
    tokens: list[int] = []
    with torch.inference_mode():
        for _ in range(steps):
            ids = torch.cat([inputs["input_ids"], torch.tensor([tokens], dtype=torch.long)], dim=1)
            mask = torch.ones_like(ids)
            logits = model(input_ids=ids, attention_mask=mask, input_features=inputs["input_features"],
                           feature_attention_mask=inputs["feature_attention_mask"]).logits  # fmt: skip
            tokens.append(int(logits[0, -1].argmax()))
            if tokens[-1] in stops:
                break
    return tokens


def test_generate_mode_is_greedy_whatever_the_checkpoint_ships(tiny, mixed_clips) -> None:
    model, processor = tiny
    # The tiny checkpoint carries Qwen2-Audio-7B-Instruct's sampling settings, as the real one does.
    shipped = model.generation_config
    assert (shipped.do_sample, shipped.repetition_penalty, shipped.top_k, shipped.top_p, shipped.temperature) == (True, 1.1, 20, 0.5, 0.7)
    generate = scorer(tiny, "open_speech_or_nonspeech", mode="generate", max_new_tokens=6)
    for clip in mixed_clips[:3]:
        answer = generate.score([clip]).answers[0]
        expected = greedy_tokens_by_hand(model, processor, generate.texts[0], clip, steps=6)
        assert answer == processor.tokenizer.decode(expected, skip_special_tokens=True)
    assert model.generation_config is shipped, "the checkpoint's own config is put back"


def test_audio_tokens_follow_the_clip_length(tiny) -> None:
    from qwen_vad.models.fast_encoder import audio_tokens_for_samples

    durations_ms = (20, 40, 60, 200, 1000)
    clips = [np.full(ms * 16, 0.05, dtype=np.float32) for ms in durations_ms]
    result = scorer(tiny, batch_size=len(clips)).score(clips)
    assert list(result.audio_tokens) == [0, 1, 1, 5, 25]
    assert list(result.expected_audio_tokens) == [audio_tokens_for_samples(c.size) for c in clips]


def test_a_batch_of_clips_too_short_for_two_audio_tokens_scores_like_a_mixed_batch(tiny) -> None:
    """20-ms clips get no audio token and 40-60-ms clips one: transformers would read such a
    batch as unexpanded legacy input (and fail on 0 tokens). The scores equal those of the same
    clips in a batch with a longer clip, in A/B and in generate mode."""
    rng = np.random.default_rng(3)
    short = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (320, 640, 960, 320)]
    longer = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    alone = scorer(tiny, batch_size=4).score(short)
    mixed = scorer(tiny, batch_size=5).score([*short, longer])
    assert list(alone.audio_tokens) == [0, 1, 1, 0]
    np.testing.assert_allclose(alone.p_speech, mixed.p_speech[:4], atol=1e-5, rtol=0)
    generate = scorer(tiny, "open_speech_or_nonspeech", mode="generate", max_new_tokens=4)
    assert generate.score(short).answers == generate.score([*short, longer]).answers[:4]
