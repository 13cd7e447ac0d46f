"""OPRO's audio cache: 8 candidate prompts scored on the same clips, with vs without it.

On the "mid" checkpoint (the real Whisper-large-v3-sized audio encoder, a small language model)
the audio encoder is most of the work, which is the work the cache does once per clip instead
of once per prompt. Without the cache every prompt goes through ``LLMScorer`` (features and the
whole model per batch); with it, through ``AudioCacheScorer``. Target: >= 3x faster, and the
same scores (compared exactly). The checkpoint is built once into checkpoints/mid (~1.3 GB).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_result
from qwen_vad.config import REPO_ROOT, DecodingConfig, ModelConfig
from qwen_vad.decoding import LLMScorer
from qwen_vad.models.loader import load_model
from qwen_vad.models.tiny import build_tiny_checkpoint
from qwen_vad.opro.audio_cache import AudioCacheScorer
from qwen_vad.opro.candidates import make_candidate
from qwen_vad.opro.scripted_server import REWRITES
from qwen_vad.prompts import PromptTemplate, load_prompt

CHECKPOINT = REPO_ROOT / "checkpoints" / "mid"
SEED_PROMPTS = ("baseline", "explicit", "task_focused", "question", "binary_choice")
CLIP_MS = (200, 300, 500, 1000)  # the factorial durations
CLIPS = 16
BATCH_SIZE = 8
TARGET_SPEEDUP = 3.0


def candidate_prompts() -> list[PromptTemplate]:
    """The five seed prompts and three rewrites of the baseline, as a search step would score."""
    seeds = [load_prompt(name) for name in SEED_PROMPTS]
    rewrites = [make_candidate(REWRITES[i](seeds[0].text), f"rewrite{i}", "benchmark", 800, False).template for i in range(3)]
    return seeds + rewrites


def benchmark_clips() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    lengths = [CLIP_MS[i % len(CLIP_MS)] * 16 for i in range(CLIPS)]
    return {f"clip{i:02d}": (rng.standard_normal(n) * 0.1).astype(np.float32) for i, n in enumerate(lengths)}


def without_cache(model, processor, prompts: list[PromptTemplate], audio: dict[str, np.ndarray], decoding: DecodingConfig) -> np.ndarray:
    ids = list(audio)
    batches = [[audio[c] for c in ids[i : i + BATCH_SIZE]] for i in range(0, len(ids), BATCH_SIZE)]
    scores = []
    for prompt in prompts:
        scorer = LLMScorer(model, processor, prompt, decoding, system="mid")
        scores.append(np.concatenate([scorer.score(batch).p_speech for batch in batches]))
    return np.stack(scores)


def with_cache(model, processor, prompts: list[PromptTemplate], audio: dict[str, np.ndarray], decoding: DecodingConfig) -> np.ndarray:
    scorer = AudioCacheScorer(model, processor, decoding, audio)
    return np.stack([scorer.score(prompt, list(audio)) for prompt in prompts])


def timed(function, *args) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> None:
    checkpoint = build_tiny_checkpoint(CHECKPOINT, size="mid", seed=0)
    model, processor = load_model(ModelConfig(name_or_path=str(checkpoint), dtype="fp32", device="auto"))
    prompts, audio = candidate_prompts(), benchmark_clips()
    decoding = DecodingConfig(batch_size=BATCH_SIZE)
    # One untimed pass of each path, so start-up costs (allocator growth, kernel selection) stay out.
    without_cache(model, processor, prompts[:1], dict(list(audio.items())[:BATCH_SIZE]), decoding)
    with_cache(model, processor, prompts[:2], dict(list(audio.items())[:BATCH_SIZE]), decoding)
    plain, plain_seconds = timed(without_cache, model, processor, prompts, audio, decoding)
    cached, cached_seconds = timed(with_cache, model, processor, prompts, audio, decoding)
    speedup = plain_seconds / cached_seconds
    write_result(
        "opro_audio_cache",
        {
            "checkpoint": "mid (Whisper-large-v3-sized encoder, small LM)",
            "device": str(next(model.parameters()).device),
            "prompts": len(prompts),
            "clips": len(audio),
            "clip_ms": list(CLIP_MS),
            "batch_size": BATCH_SIZE,
            "seconds_without_cache": round(plain_seconds, 2),
            "seconds_with_cache": round(cached_seconds, 2),
            "speedup": round(speedup, 2),
            "target_speedup": TARGET_SPEEDUP,
            "meets_target": speedup >= TARGET_SPEEDUP,
            "scores_identical": bool(np.array_equal(plain, cached)),
            "max_abs_score_difference": float(np.abs(plain - cached).max()),
        },
    )


if __name__ == "__main__":
    main()
