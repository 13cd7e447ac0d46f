"""Scoring speed, measured side by side in one run.

1. Fast short-clip encoder path vs the stock 30-s path on the "mid" checkpoint (full-width
   Whisper-large-v3-sized audio encoder, small LLM), 1 s and 0.2 s clips, batch 8: clips/s both
   ways and the ratio (target >= 10x on CPU for 1 s clips), plus the largest p_speech difference.
2. Constrained A/B scoring (one forward) vs ``generate()``, one clip at a time, fast path.
(VAD real-time factors: benchmarks/vad_speed.py.)
"""

from __future__ import annotations

import time
import numpy as np
import torch

from benchmarks.common import OUT_DIR, write_result
from qwen_vad.audio.mix import centre_extract, peak_normalise
from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.data.sources.synthetic import SyntheticSource
from qwen_vad.decoding import LLMScorer
from qwen_vad.models.fast_encoder import use_short_clip_encoder
from qwen_vad.models.loader import load_model
from qwen_vad.models.tiny import build_tiny_checkpoint
from qwen_vad.prompts import load_prompt

BATCH = 8


def speech_clips(ms: int, n: int) -> list[np.ndarray]:
    stream = SyntheticSource(seed=7).iter_segments("speech")
    return [peak_normalise(centre_extract(next(stream).audio, ms)) for _ in range(n)]


def clips_per_second(scorer: LLMScorer, clips: list[np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    scorer.score(clips)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        scores = scorer.score(clips).p_speech
    return repeats * len(clips) / (time.perf_counter() - start), scores


def encoder_paths(model, processor) -> dict:
    scorer = LLMScorer(model, processor, load_prompt("baseline"), DecodingConfig(batch_size=BATCH), system="mid")
    results = {}
    for ms in (1000, 200):
        clips = speech_clips(ms, BATCH)
        use_short_clip_encoder(model, True)
        fast, fast_scores = clips_per_second(scorer, clips, repeats=3)
        use_short_clip_encoder(model, False)
        stock, stock_scores = clips_per_second(scorer, clips, repeats=1)
        use_short_clip_encoder(model, True)
        results[f"{ms}ms"] = {
            "fast_clips_per_s": round(fast, 3),
            "stock_clips_per_s": round(stock, 3),
            "speedup": round(fast / stock, 1),
            "max_abs_p_speech_difference": float(np.max(np.abs(fast_scores - stock_scores))),
        }
    results["target_speedup_1s"] = 10.0
    results["meets_target"] = results["1000ms"]["speedup"] >= 10.0
    return results


def constrained_vs_generate(model, processor) -> dict:
    clips = speech_clips(1000, 4)
    constrained = LLMScorer(model, processor, load_prompt("baseline"), DecodingConfig(batch_size=1), system="mid")
    generate = LLMScorer(
        model, processor, load_prompt("open_speech_or_nonspeech"),
        DecodingConfig(mode="generate", batch_size=1, max_new_tokens=8), system="mid",
    )  # fmt: skip
    rates = {}
    for name, scorer in (("constrained", constrained), ("generate_8_tokens", generate)):
        scorer.score(clips[:1])
        start = time.perf_counter()
        for clip in clips:
            scorer.score([clip])
        rates[name] = round(len(clips) / (time.perf_counter() - start), 3)
    return {"clips_per_s_one_at_a_time": rates, "ratio": round(rates["constrained"] / rates["generate_8_tokens"], 2)}


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    checkpoint = build_tiny_checkpoint(OUT_DIR / "checkpoints" / "mid", size="mid", seed=0)
    model, processor = load_model(ModelConfig(name_or_path=str(checkpoint), dtype="fp32", device="cpu"))
    write_result(
        "scoring_speed",
        {
            "checkpoint": "mid (encoder d_model 1280 x 32 layers, small LLM), fp32, CPU",
            "encoder_paths_batch_8": encoder_paths(model, processor),
            "constrained_vs_generate": constrained_vs_generate(model, processor),
        },
    )


if __name__ == "__main__":
    main()
