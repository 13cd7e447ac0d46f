"""The tiny checkpoint loads offline with the real classes and looks like Qwen2-Audio-7B-Instruct."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    AutoProcessor,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    WhisperFeatureExtractor,
)

from qwen_vad.models.families.qwen2_audio import EXTRA_SPECIAL_TOKENS
from qwen_vad.models.rendering import build_model_inputs, render_prompt
from qwen_vad.models.tiny import BUILD_STAMP, build_tiny_checkpoint, main
from qwen_vad.models.tiny_corpus import PROJECT_PROMPTS


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_loads_with_the_real_classes(tiny_checkpoint: Path) -> None:
    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_checkpoint)
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)

    assert isinstance(processor, Qwen2AudioProcessor)
    assert isinstance(processor.feature_extractor, WhisperFeatureExtractor)
    # The 30-s audio geometry of the real model.
    assert processor.feature_extractor.feature_size == model.config.audio_config.num_mel_bins == 128
    assert processor.feature_extractor.sampling_rate == 16_000
    assert processor.feature_extractor.nb_max_frames == 3000
    assert model.config.audio_config.max_source_positions == 1500
    # Stored in bf16, like the real weights; a few MB.
    assert model.dtype == torch.bfloat16
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_tokenizer_has_the_real_special_tokens_and_single_letter_answers(tiny_checkpoint: Path) -> None:
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    tokenizer = processor.tokenizer
    model_config = Qwen2AudioConfig.from_pretrained(tiny_checkpoint)

    for token in ("<|endoftext|>", *EXTRA_SPECIAL_TOKENS):
        assert len(tokenizer(token, add_special_tokens=False).input_ids) == 1, token
    audio_token_id = tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert audio_token_id == model_config.audio_token_id == processor.audio_token_id
    for answer in ("A", "B", " A", " B"):
        assert len(tokenizer(answer, add_special_tokens=False).input_ids) == 1, answer
    assert len(tokenizer) <= model_config.text_config.vocab_size
    # Every project prompt round-trips through the byte-level tokenizer.
    for prompt in PROJECT_PROMPTS:
        assert tokenizer.decode(tokenizer(prompt, add_special_tokens=False).input_ids) == prompt


def test_chat_template_renders_like_qwen2_audio_instruct(tiny_checkpoint: Path) -> None:
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)

    assert render_prompt(processor, "Answer with A or B ONLY.") == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nAnswer with A or B ONLY.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert render_prompt(processor, "Speech?", system_prompt="You detect speech.") == (
        "<|im_start|>system\nYou detect speech.<|im_end|>\n"
        "<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nSpeech?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_model_runs_forward_and_generate(tiny_checkpoint: Path) -> None:
    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    clip = (0.1 * np.random.default_rng(0).standard_normal(8_000)).astype(np.float32)
    text = render_prompt(processor, "Speech?")
    inputs = build_model_inputs(processor, [text], [clip])  # the stock 30-s features

    with torch.no_grad():
        logits = model(**inputs).logits
        generated = model.generate(**inputs, max_new_tokens=2, do_sample=False)

    assert logits.shape[:2] == inputs["input_ids"].shape
    assert torch.isfinite(logits).all()
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 2


def test_build_is_deterministic_per_seed_and_cli_works(tiny_checkpoint: Path, tmp_path: Path) -> None:
    same_seed = build_tiny_checkpoint(tmp_path / "same", size="tiny", seed=0)
    main([str(tmp_path / "other"), "--size", "tiny", "--seed", "1"])
    other_seed = tmp_path / "other"

    for name in ("model.safetensors", "tokenizer.json", "config.json", "processor_config.json"):
        assert (same_seed / name).read_bytes() == (tiny_checkpoint / name).read_bytes(), name
    # The tokenizer does not depend on the seed; the weights do.
    for name, same in (("tokenizer.json", True), ("model.safetensors", False)):
        assert ((other_seed / name).read_bytes() == (tiny_checkpoint / name).read_bytes()) is same, name


def test_finished_build_is_reused_and_foreign_folders_are_refused(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    weights = tiny_checkpoint / "model.safetensors"
    written_at = weights.stat().st_mtime_ns

    assert build_tiny_checkpoint(tiny_checkpoint, size="tiny", seed=0) == tiny_checkpoint
    assert weights.stat().st_mtime_ns == written_at
    with pytest.raises(FileExistsError, match="different tiny checkpoint"):
        build_tiny_checkpoint(tiny_checkpoint, size="tiny", seed=7)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        build_tiny_checkpoint(foreign)
    assert (foreign / "notes.txt").read_text() == "mine"
    assert not (foreign / BUILD_STAMP).exists()


def test_a_qwen2_audio_build_of_builder_version_2_is_reused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Version 2 wrote the same files without the family in its stamp: no 1.3-GB mid rebuild."""
    old = Path(shutil.copytree(tiny_checkpoint, tmp_path / "old"))
    stamp = json.loads((old / BUILD_STAMP).read_text())
    del stamp["family"]
    (old / BUILD_STAMP).write_text(json.dumps({**stamp, "builder_version": 2}))
    assert build_tiny_checkpoint(old) == old
    with pytest.raises(FileExistsError, match="different tiny checkpoint"):
        build_tiny_checkpoint(old, family="qwen2_5_omni")
