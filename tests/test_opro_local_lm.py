"""The ``hf`` optimizer: a local transformers causal LM (a random tiny Qwen2 built here, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

from qwen_vad.config import HFOptimizerConfig
from qwen_vad.models.loader import ModelLoadError
from qwen_vad.opro.local_lm import LazyHFOptimizer


@pytest.fixture(scope="module")
def tiny_text_lm(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Qwen2 chat model sharing the tiny checkpoint's tokenizer and chat template."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=4096, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("text_lm") / "tiny-chat"
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_hf_optimizer_samples_n_replies_reproducibly_per_step(tiny_text_lm: Path) -> None:
    optimizer = LazyHFOptimizer(HFOptimizerConfig(name_or_path=str(tiny_text_lm), dtype="fp32", device="cpu"), 1.0, 8, seed=3)
    meta = "Write a prompt between <PROMPT> and </PROMPT>."
    first = optimizer.propose(meta, 3, step=1)
    assert len(first) == 3 and all(isinstance(reply, str) for reply in first)
    assert len(set(first)) > 1  # sampled, not greedy
    assert optimizer.propose(meta, 3, step=1) == first  # seeded by (seed, step)
    assert optimizer.propose(meta, 3, step=2) != first
    assert optimizer.name == f"hf:{tiny_text_lm}"


def test_hf_optimizer_reports_a_bad_dtype_before_loading(tiny_text_lm: Path) -> None:
    optimizer = LazyHFOptimizer(HFOptimizerConfig(name_or_path=str(tiny_text_lm), dtype="float32"), 1.0, 8, seed=0)
    with pytest.raises(ModelLoadError, match="opro.hf.dtype 'float32'"):
        optimizer.propose("x", 1, step=1)
