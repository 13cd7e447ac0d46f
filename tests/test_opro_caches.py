"""The audio cache gives LLMScorer's scores; the score cache never scores a prompt twice."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from peft import LoraConfig, get_peft_model

from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.decoding import LLMScorer
from qwen_vad.models.loader import load_model
from qwen_vad.opro.audio_cache import AudioCacheScorer
from qwen_vad.opro.reward import reward
from qwen_vad.opro.score_cache import SCORE_CACHE_FILE, ScoreCache, scorer_identity
from qwen_vad.opro.search_scorer import SearchScorer
from qwen_vad.prompts import load_prompt

PROMPTS = ("baseline", "explicit", "question", "swapped_baseline", "binary_choice")


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint: Path):
    return load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu"))


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    lengths = (3200, 16000, 4800, 8000, 1600, 3200, 8000)  # 200 ms .. 1 s, mixed within batches
    return {f"clip{i}": (rng.standard_normal(n) * 0.1).astype(np.float32) for i, n in enumerate(lengths)}


def llm_scores(model, processor, prompt: str, decoding: DecodingConfig, audio: dict[str, np.ndarray]) -> np.ndarray:
    """LLMScorer on consecutive batches of decoding.batch_size clips, as score_clips batches them."""
    scorer = LLMScorer(model, processor, load_prompt(prompt), decoding, system="tiny")
    ids = list(audio)
    batches = [ids[i : i + decoding.batch_size] for i in range(0, len(ids), decoding.batch_size)]
    return np.concatenate([scorer.score([audio[c] for c in batch]).p_speech for batch in batches])


@pytest.mark.parametrize(
    "decoding,prompts",
    [(DecodingConfig(batch_size=3), PROMPTS), (DecodingConfig(batch_size=4, swap_options=True, temperature=2.0), PROMPTS[:2])],
)
def test_audio_cache_scores_equal_the_stock_scorer(tiny, clips, decoding: DecodingConfig, prompts: tuple[str, ...]) -> None:
    model, processor = tiny
    cached = AudioCacheScorer(model, processor, decoding, clips)
    for prompt in prompts:
        expected = llm_scores(model, processor, prompt, decoding, clips)
        np.testing.assert_array_equal(cached.score(load_prompt(prompt), list(clips)), expected)
    # Every clip was encoded once, during the first prompt; the rest came from the cache.
    assert set(cached.embeddings) == set(clips)


def test_audio_cache_with_a_lora_adapter_on_encoder_and_language_model(tiny_checkpoint: Path, clips) -> None:
    model, processor = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu"))
    # Random A and B: an adapter that changes the scores, in the audio tower and the LLM alike.
    lora = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)).eval()
    decoding = DecodingConfig(batch_size=4)
    cached = AudioCacheScorer(lora, processor, decoding, clips)
    for prompt in PROMPTS[:3]:
        with_adapter = llm_scores(lora, processor, prompt, decoding, clips)
        np.testing.assert_array_equal(cached.score(load_prompt(prompt), list(clips)), with_adapter)
    with lora.disable_adapter():
        plain = llm_scores(lora, processor, PROMPTS[2], decoding, clips)
    assert np.abs(plain - with_adapter).max() > 1e-4  # the adapter matters, so the equality above means something


def search_sets(clips: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    ids = list(clips)
    frame = pd.DataFrame(
        {
            "clip_id": ids,
            "label": ["SPEECH", "NONSPEECH"] * 3 + ["SPEECH"],
            "duration_ms": [200, 1000, 300, 500, 100, 200, 500],
            "snr_db": [0.0, 0.0, 20.0, 20.0, 0.0, 20.0, 0.0],
            "category": ["speech", "noise", "speech", "music", "speech", "animals", "speech"],
        }
    )
    return {"train": frame.iloc[:5].reset_index(drop=True), "dev": frame.iloc[5:].reset_index(drop=True)}


def test_a_prompt_is_never_scored_twice(tiny, clips, tmp_path: Path) -> None:
    model, processor = tiny
    decoding = DecodingConfig(batch_size=4)
    identity = scorer_identity(ModelConfig(name_or_path="tiny"), decoding, "fingerprint-1")
    sets = search_sets(clips)
    scorer = SearchScorer(AudioCacheScorer(model, processor, decoding, clips), ScoreCache(tmp_path / SCORE_CACHE_FILE, identity), sets, 0.0)
    baseline = load_prompt("baseline")
    first = scorer.score(baseline, "train")
    assert scorer.score(baseline, "train") == first
    scorer.score(baseline, "dev")
    scorer.score(load_prompt("question"), "train")
    lines = (tmp_path / SCORE_CACHE_FILE).read_text().splitlines()
    assert len(lines) == 3  # (baseline, train), (baseline, dev), (question, train): no repeat
    p_train = scorer.p_speech(baseline, "train")
    assert first == reward(sets["train"], p_train, 0.0)

    # A new run reading the file scores nothing it already knows.
    reloaded = ScoreCache(tmp_path / SCORE_CACHE_FILE, identity)
    assert reloaded.missing(baseline, sets["train"]["clip_id"].tolist()) == []
    np.testing.assert_array_equal(reloaded.lookup(baseline, sets["train"]["clip_id"].tolist()), p_train)
    assert reloaded.scored_clip_ids() == set(clips)


@pytest.mark.parametrize(
    "change",
    [
        {"dataset": "fingerprint-2"},
        {"model": dataclasses.replace(ModelConfig(name_or_path="tiny"), adapter="results/finetune/b3/x/adapter")},
        {"model": dataclasses.replace(ModelConfig(name_or_path="tiny"), dtype="fp32")},
        {"decoding": DecodingConfig(temperature=2.0)},
        {"decoding": DecodingConfig(swap_options=True)},
        {"decoding": DecodingConfig(system_prompt="You detect speech.")},
    ],
)
def test_the_cache_key_covers_model_adapter_decoding_and_dataset(tmp_path: Path, change: dict) -> None:
    base = {"model": ModelConfig(name_or_path="tiny"), "decoding": DecodingConfig(), "dataset": "fingerprint-1"}
    path = tmp_path / SCORE_CACHE_FILE
    ScoreCache(path, scorer_identity(base["model"], base["decoding"], base["dataset"])).store(load_prompt("baseline"), ["c1"], np.array([0.7]))
    changed = {**base, **change}
    other = ScoreCache(path, scorer_identity(changed["model"], changed["decoding"], changed["dataset"]))
    assert other.missing(load_prompt("baseline"), ["c1"]) == ["c1"]
    same = ScoreCache(path, scorer_identity(base["model"], DecodingConfig(batch_size=1), base["dataset"]))
    assert same.missing(load_prompt("baseline"), ["c1"]) == []  # batch size does not change a score


def test_the_search_scorer_knows_only_train_and_dev(tiny, clips, tmp_path: Path) -> None:
    model, processor = tiny
    sets = search_sets(clips)
    scorer_parts = (AudioCacheScorer(model, processor, DecodingConfig(), clips), ScoreCache(tmp_path / "c.jsonl", {}))
    with pytest.raises(ValueError, match="exactly the splits"):
        SearchScorer(*scorer_parts, {**sets, "test": sets["dev"]}, 0.0)
