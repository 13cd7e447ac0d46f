"""Build a small random-weight checkpoint of any model family that loads like the real one, offline.

    python -m qwen_vad.models.tiny OUT_DIR [--family qwen2_audio|qwen2_5_omni|qwen3_omni] [--size tiny|mid] [--seed N]

Each checkpoint uses its family's real classes (Qwen2AudioForConditionalGeneration, or the Omni
thinker class), its processor with a 128-bin WhisperFeatureExtractor and a Qwen2Tokenizer
trained here on a small corpus, with the family's special tokens and a chat template that renders
like the real checkpoint's, so every code path of the harness (rendering, scoring, LoRA
fine-tuning, OPRO, the fast short-clip encoder) runs on it in seconds. Only the widths, depths and
the vocabulary are small; the 30-s audio geometry (128 mel bins, 1500 encoder positions) is the
real one. The family's module holds its recipe (``ModelFamily.build_tiny``); see it for the sizes:

  qwen2_audio   tiny ~0.5M parameters (tests); mid: the real Whisper-large-v3-sized encoder with a
                small LLM, ~640M parameters, ~1.3 GB (encoder benchmarks; build on request)
  qwen2_5_omni  tiny thinker ~0.5M parameters
  qwen3_omni    tiny MoE thinker ~0.5M parameters (4 experts, 2 per token, all layers MoE as in the real one)

Weights are saved in bfloat16, as the real checkpoints are; the loader casts to the dtype asked for.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import GenerationConfig, Qwen2Tokenizer, WhisperFeatureExtractor
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.models.families import DEFAULT_FAMILY, FAMILIES, family_named
from qwen_vad.models.tiny_corpus import TRAINING_TEXT

# The ChatML tokens every Qwen family shares, first after the BPE vocabulary as in the real tokenizers.
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"

# BPE stops early when the corpus runs out of pairs to merge; with the embedded corpus it
# settles below this (about 1.7k tokens), which is all the tests need.
TOKENIZER_VOCAB_LIMIT = 4096
# The real LM heads are padded past the tokenizer (156032 rows for ~151.6k tokens); pad likewise.
VOCAB_PAD_MULTIPLE = 64

# Written last: its presence with the same fields means the folder holds a finished build.
BUILD_STAMP = "qwen_vad_tiny_checkpoint.json"
# Bump when the builder changes what it writes, so stale cached checkpoints are rebuilt.
# 3: the family in the stamp (a qwen2_audio build's weights, tokenizer and config are version 2's).
BUILDER_VERSION = 3
VERSION_2_FAMILY = "qwen2_audio"  # the only family builder version 2 knew

# Qwen/Qwen2-Audio-7B-Instruct's generation_config.json besides its token ids: a chat
# checkpoint's sampling settings, which generate mode must override
# (qwen_vad.decoding.greedy_generation_config) rather than inherit. Every tiny family ships them.
REAL_SAMPLING_SETTINGS = {"do_sample": True, "temperature": 0.7, "top_k": 20, "top_p": 0.5, "repetition_penalty": 1.1}


def train_tokenizer(
    special_tokens: Sequence[str], chat_template: str, named_tokens: Mapping[str, str] | None = None
) -> Qwen2Tokenizer:
    """Byte-level BPE trained on the embedded corpus, wrapped as the real Qwen2Tokenizer class.

    The normalizer and pre-tokenizer are Qwen2's own (NFC, Qwen's split regex, byte level), so the
    learned merges apply exactly as they will when Qwen2Tokenizer rebuilds itself on loading.
    ``special_tokens`` follow the vocabulary in this order (after <|endoftext|>); ``named_tokens``
    give some of them the names processors look up (``audio_token="<|AUDIO|>"``, ...).
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
        extra_special_tokens=list(special_tokens),
        model_max_length=32768,
        **dict(named_tokens or {}),
    )
    tokenizer.chat_template = chat_template
    return tokenizer


def whisper_feature_extractor() -> WhisperFeatureExtractor:
    """The feature extractor every family's real checkpoint ships: 128 mel bins, 10-ms hop, 30-s window."""
    return WhisperFeatureExtractor(
        feature_size=128,
        sampling_rate=SAMPLE_RATE,
        hop_length=160,
        chunk_length=30,
        n_fft=400,
        padding_value=0.0,
        return_attention_mask=True,
    )


def padded_vocab_size(tokenizer: Qwen2Tokenizer) -> int:
    return -(-len(tokenizer) // VOCAB_PAD_MULTIPLE) * VOCAB_PAD_MULTIPLE


def chat_generation_config(tokenizer: Qwen2Tokenizer) -> GenerationConfig:
    """Stop at <|endoftext|> or <|im_end|>, with a chat checkpoint's sampling settings."""
    endoftext = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    return GenerationConfig(
        bos_token_id=endoftext,
        eos_token_id=[endoftext, tokenizer.convert_tokens_to_ids(IM_END)],
        pad_token_id=endoftext,
        **REAL_SAMPLING_SETTINGS,
    )


def _build_stamp(family: str, size: str, seed: int) -> dict[str, object]:
    return {
        "builder_version": BUILDER_VERSION,
        "family": family,
        "size": size,
        "seed": seed,
        "dimensions": family_named(family).tiny_dimensions(size),
    }


def _same_build(found: dict[str, object], wanted: dict[str, object]) -> bool:
    if found == wanted:
        return True
    # Builder version 2 wrote the same Qwen2-Audio files, only without the family in its stamp.
    version_2 = {key: value for key, value in wanted.items() if key != "family"} | {"builder_version": 2}
    return wanted["family"] == VERSION_2_FAMILY and found == version_2


def build_tiny_checkpoint(
    out_dir: str | Path, size: str = "tiny", seed: int = 0, family: str = DEFAULT_FAMILY
) -> Path:
    """Write a random-weight checkpoint of ``family`` to ``out_dir`` and return the folder.

    Cheap to call repeatedly: a folder that already holds a finished build with the same family,
    size, seed and builder version is returned as it is. A non-empty folder holding anything
    else (a build with other settings included) is refused rather than overwritten.
    """
    adapter = family_named(family)
    adapter.check_tiny_size(size)
    out_dir = Path(out_dir)
    wanted_stamp = _build_stamp(family, size, seed)
    stamp_path = out_dir / BUILD_STAMP
    if stamp_path.is_file():
        found_stamp = json.loads(stamp_path.read_text())
        if _same_build(found_stamp, wanted_stamp):
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
    model, processor = adapter.build_tiny(size, seed)
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
    parser.add_argument("--family", choices=list(FAMILIES), default=DEFAULT_FAMILY)
    parser.add_argument("--size", default="tiny", help="tiny (every family) or mid (qwen2_audio only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        out_dir = build_tiny_checkpoint(args.out_dir, size=args.size, seed=args.seed, family=args.family)
    except (ValueError, FileExistsError) as err:
        parser.error(str(err))
    print(out_dir)


if __name__ == "__main__":
    main()
