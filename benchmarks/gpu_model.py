"""A random-weight Qwen2-Audio of a given geometry, built where it will run, for benchmarks/gpu.py.

The "7b" geometry is Qwen2-Audio-7B(-Instruct)'s (its config.json): a Whisper-large-v3-sized
audio encoder (32 layers, 20 heads, d_model 1280, FFN 5120, 128 mel bins, 1500 positions), a
1280 -> 4096 projector and a Qwen-7B language model (4096 hidden, 32 layers, 32 heads, 32 KV
heads, FFN 11008, vocabulary 156032, RoPE theta 10000) with an untied lm_head: 8.40 B
parameters. Speed depends only on these shapes, never on the weights' values, so random weights
time what the real checkpoint will, without a 16-GB download.

The parameters are allocated directly on the target device in the target dtype (a
``torch.device`` context around the constructor): 8.4 B parameters are never materialised on
the CPU. The tokenizer is the tiny checkpoint's (qwen_vad.models.tiny: the real chat template
and special tokens, a small BPE vocabulary); its ids all fall inside the 156032-row embedding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from transformers import GenerationConfig, Qwen2AudioConfig, Qwen2AudioForConditionalGeneration

from qwen_vad.models.families.qwen2_audio import AUDIO_TOKEN
from qwen_vad.models.tiny import ENDOFTEXT, IM_END


@dataclass(frozen=True)
class Geometry:
    audio_d_model: int
    audio_layers: int
    audio_heads: int
    audio_ffn: int
    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    text_ffn: int
    vocab: int
    mel_bins: int = 128
    audio_positions: int = 1500
    rope_theta: float = 10000.0


GEOMETRIES: dict[str, Geometry] = {
    "7b": Geometry(
        audio_d_model=1280, audio_layers=32, audio_heads=20, audio_ffn=5120,
        text_hidden=4096, text_layers=32, text_heads=32, text_kv_heads=32, text_ffn=11008, vocab=156032,
    ),
    # The tiny checkpoint's widths (qwen_vad.models.tiny): the CPU self-check of every code path.
    "tiny": Geometry(
        audio_d_model=64, audio_layers=2, audio_heads=4, audio_ffn=128,
        text_hidden=64, text_layers=2, text_heads=4, text_kv_heads=4, text_ffn=128, vocab=2048,
    ),
}  # fmt: skip

# Qwen2-Audio-7B's published size is "8.4 B": the count must land here for the 7b geometry.
SEVEN_B_PARAMETER_RANGE = (8.35e9, 8.45e9)


@dataclass(frozen=True)
class ParameterCounts:
    """Parameters by part, counted from the geometry (Whisper attention: no k_proj bias; Qwen2:
    q/k/v biases, no o_proj bias, no MLP biases)."""

    audio_encoder: int
    audio_position_table: int  # part of audio_encoder; a lookup, no arithmetic
    projector: int
    text_embedding: int  # a lookup, no arithmetic
    text_layers: int  # the decoder layers and the final norm
    lm_head: int

    @property
    def total(self) -> int:
        return self.audio_encoder + self.projector + self.text_embedding + self.text_layers + self.lm_head

    @property
    def encoder_matmul(self) -> int:
        """Encoder parameters used once per encoder position (the position table excluded)."""
        return self.audio_encoder - self.audio_position_table

    @property
    def text_matmul(self) -> int:
        """Language-model parameters used once per token, lm_head included (the harness computes
        logits at every position); the input embedding is a lookup and excluded."""
        return self.text_layers + self.lm_head

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def parameter_counts(g: Geometry) -> ParameterCounts:
    d, f = g.audio_d_model, g.audio_ffn
    encoder_layer = (4 * d * d + 3 * d) + (d * f + f) + (f * d + d) + 2 * (2 * d)
    position_table = g.audio_positions * d
    encoder = (g.mel_bins * d * 3 + d) + (d * d * 3 + d) + position_table + g.audio_layers * encoder_layer + 2 * d
    h, kv = g.text_hidden, g.text_kv_heads * (g.text_hidden // g.text_heads)
    text_layer = (h * h + h) + 2 * (h * kv + kv) + h * h + 3 * h * g.text_ffn + 2 * h
    return ParameterCounts(
        audio_encoder=encoder,
        audio_position_table=position_table,
        projector=d * h + h,
        text_embedding=g.vocab * h,
        text_layers=g.text_layers * text_layer + h,
        lm_head=g.vocab * h,
    )


def build_config(g: Geometry, tokenizer) -> Qwen2AudioConfig:
    """Qwen2-Audio's config at this geometry, with the tokenizer's special-token ids."""
    endoftext = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    highest_id = len(tokenizer) - 1
    if highest_id >= g.vocab:
        raise ValueError(f"the tokenizer's ids reach {highest_id}, past the geometry's vocabulary of {g.vocab}")
    audio_config = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": g.mel_bins,
        "max_source_positions": g.audio_positions,
        "d_model": g.audio_d_model,
        "encoder_layers": g.audio_layers,
        "encoder_attention_heads": g.audio_heads,
        "encoder_ffn_dim": g.audio_ffn,
    }
    text_config = {
        "model_type": "qwen2",
        "vocab_size": g.vocab,
        "hidden_size": g.text_hidden,
        "num_hidden_layers": g.text_layers,
        "num_attention_heads": g.text_heads,
        "num_key_value_heads": g.text_kv_heads,
        "intermediate_size": g.text_ffn,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_parameters": {"rope_type": "default", "rope_theta": g.rope_theta},
        "bos_token_id": endoftext,
        "eos_token_id": endoftext,
        "pad_token_id": endoftext,
        "tie_word_embeddings": False,
    }
    return Qwen2AudioConfig(
        audio_config=audio_config, text_config=text_config, audio_token_index=tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    )


def build_random_model(g: Geometry, tokenizer, device: str, dtype: torch.dtype) -> Qwen2AudioForConditionalGeneration:
    """Random weights allocated on ``device`` in ``dtype`` (eval mode), parameter count checked."""
    config = build_config(g, tokenizer)
    torch.manual_seed(0)
    with torch.device(device):
        # _from_config is what AutoModel.from_config calls: it applies the dtype while the
        # modules are created, so no float32 copy is made first.
        model = Qwen2AudioForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[config.text_config.eos_token_id, tokenizer.convert_tokens_to_ids(IM_END)],
        pad_token_id=config.text_config.pad_token_id,
    )
    check_parameter_count(model, g)
    return model.eval()


def check_parameter_count(model: nn.Module, g: Geometry) -> int:
    counted = sum(p.numel() for p in model.parameters())
    expected = parameter_counts(g).total
    if counted != expected:
        raise AssertionError(f"the model has {counted:,} parameters, its geometry calls for {expected:,}")
    if g == GEOMETRIES["7b"] and not SEVEN_B_PARAMETER_RANGE[0] <= counted <= SEVEN_B_PARAMETER_RANGE[1]:
        raise AssertionError(f"{counted / 1e9:.3f} B parameters, not Qwen2-Audio-7B's 8.4 B")
    return counted


def quantize_language_model_4bit(model: nn.Module, compute_dtype: torch.dtype) -> int:
    """Swap the language model's linear layers for bitsandbytes NF4 ones, quantizing their weights
    where they lie (double quantization, as the harness's load_in_4bit asks for).

    The same modules as ``load_model(load_in_4bit=True)`` quantizes: only the language model's;
    the audio encoder, projector and lm_head stay in ``compute_dtype``. from_pretrained quantizes
    while it reads a checkpoint; random weights have none, hence the swap. Returns the number of
    layers swapped; afterwards the model is marked as 4-bit so peft adds 4-bit LoRA layers.
    """
    import bitsandbytes as bnb

    names = [
        name for name, module in model.named_modules() if type(module) is nn.Linear and ".language_model." in f".{name}"
    ]
    for name in names:  # one at a time: the bf16 weight is freed as its 4-bit copy takes its place
        linear = model.get_submodule(name)
        parent_name, _, child_name = name.rpartition(".")
        with torch.device("meta"):
            quantized = bnb.nn.Linear4bit(
                linear.in_features, linear.out_features, bias=linear.bias is not None,
                compute_dtype=compute_dtype, compress_statistics=True, quant_type="nf4",
            )  # fmt: skip
        weight = bnb.nn.Params4bit(
            linear.weight.data, requires_grad=False, compress_statistics=True, quant_type="nf4", module=quantized
        )
        # Params4bit quantizes on its first move to a real device (here: the one it is on).
        quantized.weight = weight.to(linear.weight.device)
        if linear.bias is not None:
            quantized.bias = nn.Parameter(linear.bias.data, requires_grad=False)
        setattr(model.get_submodule(parent_name), child_name, quantized)
        del linear, weight
    model.is_loaded_in_4bit = True  # what peft and prepare_model_for_kbit_training look for
    return len(names)
