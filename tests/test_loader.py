"""load_model: dtypes, the fast encoder switch, adapters, and errors raised before any loading."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import ProcessorMixin, Qwen2AudioForConditionalGeneration

from qwen_vad.config import ModelConfig
from qwen_vad.models.fast_encoder import uses_short_clip_encoder
from qwen_vad.models.loader import DEFAULT_MODEL, ModelLoadError, load_model
from qwen_vad.models.families import family_of
from qwen_vad.models.rendering import render_prompt


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _answer_logits(model: torch.nn.Module, processor: ProcessorMixin) -> torch.Tensor:
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(samples)).astype(np.float32) for samples in (3_200, 8_000)]
    texts = [render_prompt(processor, "Answer with A or B ONLY.")] * 2
    inputs = family_of(model).model_inputs(processor, texts, clips, short_clip_features=uses_short_clip_encoder(model))
    with torch.no_grad():
        return model(**inputs).logits[:, -1]


def test_default_model_is_the_instruct_checkpoint() -> None:
    assert DEFAULT_MODEL == "Qwen/Qwen2-Audio-7B-Instruct"


@pytest.mark.parametrize(("dtype", "torch_dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_loads_in_eval_mode_with_the_asked_dtype(
    tiny_checkpoint: Path, dtype: str, torch_dtype: torch.dtype
) -> None:
    model, processor = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype=dtype, device="auto"))

    assert isinstance(model, Qwen2AudioForConditionalGeneration)
    assert not model.training
    assert model.dtype == torch_dtype
    assert model.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert model.config._attn_implementation == "sdpa"
    assert uses_short_clip_encoder(model)
    assert torch.isfinite(_answer_logits(model, processor).float()).all()


def test_fast_encoder_can_be_switched_off_and_gives_the_same_logits(tiny_checkpoint: Path) -> None:
    fast_model, processor = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu", attn_implementation="eager"))
    stock_model, _ = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu", fast_encoder=False))

    assert not uses_short_clip_encoder(stock_model)
    assert stock_model.config._attn_implementation == "sdpa"
    assert fast_model.config._attn_implementation == "eager"
    difference = _answer_logits(fast_model, processor) - _answer_logits(stock_model, processor)
    assert difference.abs().max().item() <= 1e-4


def test_lora_adapter_is_loaded_on_top(tiny_checkpoint: Path, tmp_path: Path) -> None:
    base, processor = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu"))
    base_logits = _answer_logits(base, processor)
    # Random (not zero) LoRA weights, so the adapter visibly changes the output.
    lora = LoraConfig(
        r=4, lora_alpha=8, target_modules=r".*language_model.*\.(q_proj|v_proj)", init_lora_weights=False
    )
    trained = get_peft_model(base, lora).eval()
    trained_logits = _answer_logits(trained, processor)
    trained.save_pretrained(tmp_path / "adapter")

    loaded, processor = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu", adapter=str(tmp_path / "adapter")))

    assert isinstance(loaded, PeftModel)
    assert not loaded.training
    assert uses_short_clip_encoder(loaded)
    torch.testing.assert_close(_answer_logits(loaded, processor), trained_logits)
    assert (trained_logits - base_logits).abs().max().item() > 1e-3


def test_adapter_folder_without_config_is_named(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=f"{re.escape(str(tmp_path))}.*adapter_config.json"):
        load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", adapter=str(tmp_path)))


def test_four_bit_without_cuda_fails_before_loading(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    # The folder does not exist: the 4-bit error must come first, before anything is looked up.
    with pytest.raises(ModelLoadError, match="load_in_4bit needs a CUDA GPU"):
        load_model(ModelConfig(name_or_path=str(tmp_path / "missing"), load_in_4bit=True))


def test_unreachable_hub_id_says_how_to_get_a_local_copy() -> None:
    with pytest.raises(ModelLoadError) as raised:
        load_model(ModelConfig(name_or_path="qwen-vad-tests/no-such-model", dtype="fp32", device="cpu"))

    message = str(raised.value)
    assert "HF_HUB_OFFLINE" in message
    assert "hf download qwen-vad-tests/no-such-model --local-dir" in message
    assert "model.name_or_path" in message


def test_unknown_dtype_lists_the_choices(tiny_checkpoint: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"unknown dtype 'int8'; choose one of \['bf16', 'fp16', 'fp32'\]"):
        load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="int8"))


def test_missing_local_folder_is_named() -> None:
    with pytest.raises(ModelLoadError, match="/no/such/folder: no such local folder"):
        load_model(ModelConfig(name_or_path="/no/such/folder"))


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(ModelConfig(name_or_path=str(tmp_path), dtype="fp32"))
