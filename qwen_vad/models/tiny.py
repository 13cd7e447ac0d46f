"""Build a small random-weight Qwen2-Audio checkpoint that loads like the real one, offline.

    python -m qwen_vad.models.tiny OUT_DIR [--size tiny|mid] [--seed N]

The checkpoint uses the real classes (Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor with
a 128-bin WhisperFeatureExtractor, Qwen2Tokenizer) and the real Qwen2-Audio-7B-Instruct chat
template and special tokens, so every code path of the harness (rendering, scoring, LoRA
fine-tuning, the fast short-clip encoder) runs on it in seconds. Only the widths, depths and the
vocabulary are small. `max_source_positions=1500` and 128 mel bins are kept so the 30-s audio
geometry (3000 mel frames -> 1500 encoder positions -> 750 audio tokens) matches the real model.

Sizes:
  tiny  ~0.5M parameters, ~1 MB: 2-layer audio encoder (d_model 64), 2-layer LLM (hidden 64). Tests.
  mid   the real Whisper-large-v3-sized audio encoder (32 layers, d_model 1280, 20 heads, ffn 5120)
        with a small LLM: ~640M parameters, ~1.3 GB on disk. Encoder benchmarks; build on request.

Weights are saved in bfloat16, as the real checkpoint is; the loader casts to the dtype asked for.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import (
    GenerationConfig,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    Qwen2Tokenizer,
    WhisperFeatureExtractor,
)
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.models.tiny_corpus import TRAINING_TEXT

CheckpointSize = Literal["tiny", "mid"]

# Special tokens of the real Qwen2-Audio tokenizer, in the real id order (151643..151648 there).
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
AUDIO_TOKEN = "<|AUDIO|>"
AUDIO_BOS = "<|audio_bos|>"
AUDIO_EOS = "<|audio_eos|>"
EXTRA_SPECIAL_TOKENS = (IM_START, IM_END, AUDIO_TOKEN, AUDIO_BOS, AUDIO_EOS)

# Qwen/Qwen2-Audio-7B-Instruct's chat template (its chat_template.json, as reproduced in public
# fine-tuning code; transformers' Qwen2AudioProcessor.default_chat_template renders the same).
QWEN2_AUDIO_INSTRUCT_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}"
    "{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "<|im_start|>assistant\n"
    "{% endif %}"
)

# BPE stops early when the corpus runs out of pairs to merge; with the embedded corpus it
# settles below this (about 1.7k tokens), which is all the tests need.
TOKENIZER_VOCAB_LIMIT = 4096
# The real LM head is padded past the tokenizer (156032 rows for ~151.6k tokens); pad likewise.
VOCAB_PAD_MULTIPLE = 64

# Written last: its presence with the same fields means the folder holds a finished build.
BUILD_STAMP = "qwen_vad_tiny_checkpoint.json"
# Bump when the builder changes what it writes, so stale cached checkpoints are rebuilt.
BUILDER_VERSION = 2  # 2: the real checkpoint's sampling settings in generation_config


@dataclass(frozen=True)
class CheckpointDimensions:
    audio_d_model: int
    audio_layers: int
    audio_heads: int
    audio_ffn_dim: int
    text_hidden: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    text_intermediate: int


DIMENSIONS: dict[CheckpointSize, CheckpointDimensions] = {
    "tiny": CheckpointDimensions(
        audio_d_model=64, audio_layers=2, audio_heads=4, audio_ffn_dim=128,
        text_hidden=64, text_layers=2, text_heads=4, text_kv_heads=4, text_intermediate=128,
    ),
    # Audio side = Whisper-large-v3 encoder as used by Qwen2-Audio-7B.
    "mid": CheckpointDimensions(
        audio_d_model=1280, audio_layers=32, audio_heads=20, audio_ffn_dim=5120,
        text_hidden=128, text_layers=2, text_heads=4, text_kv_heads=4, text_intermediate=256,
    ),
}


def train_tokenizer() -> Qwen2Tokenizer:
    """Byte-level BPE trained on the embedded corpus, wrapped as the real Qwen2Tokenizer class.

    The normalizer and pre-tokenizer are Qwen2's own (NFC, Qwen's split regex, byte level), so the
    learned merges apply exactly as they will when Qwen2Tokenizer rebuilds itself on loading.
    """
    bpe = Tokenizer(BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB_LIMIT,
        min_frequency=1,
        show_progress=False,
        # All 256 byte symbols, so any text (any language, any byte) can be encoded.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(pair) for pair in trained["merges"]]  # ["a", "b"] pairs since tokenizers 0.20
    # Special tokens are added after the BPE vocabulary, as in the real tokenizer.
    tokenizer = Qwen2Tokenizer(
        vocab=trained["vocab"],
        merges=merges,
        unk_token=None,
        eos_token=ENDOFTEXT,
        pad_token=ENDOFTEXT,
        extra_special_tokens=list(EXTRA_SPECIAL_TOKENS),
        model_max_length=32768,
    )
    tokenizer.chat_template = QWEN2_AUDIO_INSTRUCT_CHAT_TEMPLATE
    return tokenizer


def build_processor() -> Qwen2AudioProcessor:
    """Processor configured like Qwen/Qwen2-Audio-7B-Instruct's, with the locally trained tokenizer."""
    feature_extractor = WhisperFeatureExtractor(
        feature_size=128,
        sampling_rate=SAMPLE_RATE,
        hop_length=160,
        chunk_length=30,
        n_fft=400,
        padding_value=0.0,
        return_attention_mask=True,
    )
    return Qwen2AudioProcessor(
        feature_extractor=feature_extractor,
        tokenizer=train_tokenizer(),
        chat_template=QWEN2_AUDIO_INSTRUCT_CHAT_TEMPLATE,
    )


def build_config(size: CheckpointSize, tokenizer: Qwen2Tokenizer) -> Qwen2AudioConfig:
    dims = DIMENSIONS[size]
    vocab_size = -(-len(tokenizer) // VOCAB_PAD_MULTIPLE) * VOCAB_PAD_MULTIPLE
    endoftext_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    audio_config = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": 128,
        "max_source_positions": 1500,
        "d_model": dims.audio_d_model,
        "encoder_layers": dims.audio_layers,
        "encoder_attention_heads": dims.audio_heads,
        "encoder_ffn_dim": dims.audio_ffn_dim,
    }
    # Fields not set here keep the values the real Qwen2-Audio-7B config has (silu, untied head).
    text_config = {
        "model_type": "qwen2",
        "vocab_size": vocab_size,
        "hidden_size": dims.text_hidden,
        "num_hidden_layers": dims.text_layers,
        "num_attention_heads": dims.text_heads,
        "num_key_value_heads": dims.text_kv_heads,
        "intermediate_size": dims.text_intermediate,
        "max_position_embeddings": 8192,
        "rms_norm_eps": 1e-5,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
        "bos_token_id": endoftext_id,
        "eos_token_id": endoftext_id,
        "pad_token_id": endoftext_id,
        "tie_word_embeddings": False,
    }
    return Qwen2AudioConfig(
        audio_config=audio_config,
        text_config=text_config,
        audio_token_index=tokenizer.convert_tokens_to_ids(AUDIO_TOKEN),
    )


# Qwen/Qwen2-Audio-7B-Instruct generation_config.json, besides its token ids.
REAL_SAMPLING_SETTINGS = {"do_sample": True, "temperature": 0.7, "top_k": 20, "top_p": 0.5, "repetition_penalty": 1.1}


def build_model(
    size: CheckpointSize, seed: int, tokenizer: Qwen2Tokenizer
) -> Qwen2AudioForConditionalGeneration:
    """Random-weight model, identical for identical (size, seed), in bfloat16 like the real weights."""
    config = build_config(size, tokenizer)
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    # The real generation config (Qwen2-Audio-7B-Instruct's generation_config.json): stop at
    # <|endoftext|> or <|im_end|>, and its sampling settings, which generate mode must override
    # (qwen_vad.decoding.greedy_generation_config) rather than inherit.
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=[config.text_config.eos_token_id, tokenizer.convert_tokens_to_ids(IM_END)],
        pad_token_id=config.text_config.pad_token_id,
        **REAL_SAMPLING_SETTINGS,
    )
    return model.to(torch.bfloat16).eval()


def _build_stamp(size: CheckpointSize, seed: int) -> dict[str, object]:
    return {
        "builder_version": BUILDER_VERSION,
        "size": size,
        "seed": seed,
        "dimensions": asdict(DIMENSIONS[size]),
    }


def build_tiny_checkpoint(out_dir: str | Path, size: CheckpointSize = "tiny", seed: int = 0) -> Path:
    """Write a random-weight checkpoint to ``out_dir`` and return the folder.

    Cheap to call repeatedly: a folder that already holds a finished build with the same size,
    seed and builder version is returned as it is. A non-empty folder holding anything else (a
    build with other settings included) is refused rather than overwritten.
    """
    if size not in DIMENSIONS:
        raise ValueError(f"unknown checkpoint size {size!r}; choose one of {sorted(DIMENSIONS)}")
    out_dir = Path(out_dir)
    wanted_stamp = _build_stamp(size, seed)
    stamp_path = out_dir / BUILD_STAMP
    if stamp_path.is_file():
        found_stamp = json.loads(stamp_path.read_text())
        if found_stamp == wanted_stamp:
            return out_dir
        raise FileExistsError(
            f"{out_dir} holds a different tiny checkpoint ({found_stamp}); "
            "delete it or choose another folder"
        )
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(
            f"{out_dir} is not empty and holds no tiny checkpoint; refusing to overwrite it"
        )

    # Build beside the target and rename at the end, so an interrupted build never leaves a
    # half-written folder that looks finished.
    partial_dir = out_dir.with_name(f"{out_dir.name}.partial")
    if partial_dir.exists():
        shutil.rmtree(partial_dir)
    partial_dir.mkdir(parents=True)
    processor = build_processor()
    model = build_model(size, seed, processor.tokenizer)
    model.save_pretrained(partial_dir)
    processor.save_pretrained(partial_dir)
    (partial_dir / BUILD_STAMP).write_text(json.dumps(wanted_stamp, indent=2) + "\n")
    if out_dir.exists():
        out_dir.rmdir()
    partial_dir.rename(out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m qwen_vad.models.tiny", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the checkpoint to")
    parser.add_argument("--size", choices=sorted(DIMENSIONS), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out_dir = build_tiny_checkpoint(args.out_dir, size=args.size, seed=args.seed)
    print(out_dir)


if __name__ == "__main__":
    main()
