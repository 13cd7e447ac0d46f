"""Scoring speed on CPU, measured side by side in one run, on the "mid" checkpoint (the real
Whisper-large-v3-sized audio encoder of Qwen2-Audio, 32 layers x 1280, with a small language
model; built into checkpoints/mid on first use, ~1.3 GB).

1. End to end, what users compare (benchmarks/scoring_styles.py): this harness's default (the
   short-clip encoder path, constrained A/B, batches of ``DecodingConfig().batch_size``) vs the
   seed-descendant style (the stock 30-s path, ``generate`` of 128 new tokens, one clip at a
   time; the length is forced with min_new_tokens, since a random model's stopping is chance).
   Both run from 1-s clips already in memory to a score or a label: feature extraction,
   tokenization, the model, and the answer (option softmax; decoding and the answer
   normaliser). Model loading is not included. The ratio is written to
   benchmarks/out/scoring_speed.json.
2. Encoder paths: the short-clip path vs the stock 30-s path with the same constrained scoring,
   1-s and 0.2-s clips, one batch size: clips/s both ways, their ratio (target >= 10x for 1-s
   clips) and the largest p_speech difference (the paths are exact up to float rounding).
3. Input pipeline (benchmarks/input_pipeline.py): the harness default scoring 1-s clips from wav
   files through the batch loop, audio read and inputs built inline vs in DataLoader workers:
   clips/s and the share of the wall time the model waited for its next batch. On a shared
   2-core CPU the workers take cores from the model itself, so expect little gain here; the GPU
   figure is benchmarks/gpu.py's.

The stock path costs ~2 TFLOP of encoder work per clip (~20 s on a shared 2-core CPU), so it
runs once per case without a warm-up: a warm-up would cost as much and save milliseconds.
(GPU figures: benchmarks/gpu.py; VAD real-time factors: benchmarks/vad_speed.py.)
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import write_result
from benchmarks.input_pipeline import compare_input_paths, write_clips
from benchmarks.scoring_styles import HARNESS_PROMPT, SEED_STYLE_PROMPT, SeedStyleScorer, encoder_path
from benchmarks.timing import TimeBox, run_time_boxed
from qwen_vad.audio.mix import centre_extract, peak_normalise
from qwen_vad.config import REPO_ROOT, DecodingConfig, ModelConfig
from qwen_vad.data.sources.synthetic import SyntheticSource
from qwen_vad.decoding import LLMScorer
from qwen_vad.models.loader import load_model
from qwen_vad.models.tiny import build_tiny_checkpoint
from qwen_vad.prompts import load_prompt

CHECKPOINT = REPO_ROOT / "checkpoints" / "mid"
HARNESS_BATCH = DecodingConfig().batch_size
HARNESS_CLIPS = HARNESS_BATCH  # one batch, timed three times
SEED_STYLE_CLIPS = 2
NEW_TOKENS = 128
ENCODER_PATH_BATCH = 2  # small: the stock path's ~20 s per clip is the benchmark's main cost
TARGET_ENCODER_SPEEDUP_1S = 10.0
PIPELINE_CLIPS = 4 * HARNESS_BATCH  # one warm-up batch, then three timed
PIPELINE_WORKERS = 2
FAST_BOX = TimeBox(warmup=1, min_runs=3, max_runs=3, min_seconds=0.0, max_seconds=120.0)
STOCK_BOX = TimeBox(warmup=0, min_runs=1, max_runs=1, min_seconds=0.0, max_seconds=0.0)


def speech_clips(ms: int, n: int, seed: int = 7) -> list[np.ndarray]:
    stream = SyntheticSource(seed=seed).iter_segments("speech")
    return [peak_normalise(centre_extract(next(stream).audio, ms)) for _ in range(n)]


def end_to_end(model, processor) -> dict:
    clips = speech_clips(1000, HARNESS_CLIPS)
    harness = LLMScorer(model, processor, load_prompt(HARNESS_PROMPT), DecodingConfig(), system="mid")
    batches = [clips[i : i + HARNESS_BATCH] for i in range(0, len(clips), HARNESS_BATCH)]
    with encoder_path(model, short_clip=True):
        fast = run_time_boxed(lambda: [harness.score(batch) for batch in batches], FAST_BOX)
    harness_rate = len(clips) * len(fast.seconds) / fast.total

    seed_style = SeedStyleScorer(model, processor, load_prompt(SEED_STYLE_PROMPT), NEW_TOKENS)
    seed_clips = clips[:SEED_STYLE_CLIPS]
    slow = run_time_boxed(lambda: [seed_style.score(clip) for clip in seed_clips], STOCK_BOX)
    seed_rate = len(seed_clips) / slow.total
    return {
        "included": "from 1-s clips in memory (16 kHz float32) to a score or label: feature extraction, tokenization, "
        "the model (one forward / generate), the answer (option softmax / decoding + answer normaliser); not model loading",
        "harness_default": {
            "encoder_path": "short-clip", "decoding": f"constrained A/B, prompt {HARNESS_PROMPT}",
            "batch_size": HARNESS_BATCH, "clips": len(clips), "passes_timed": len(fast.seconds),
            "clips_per_s": round(harness_rate, 3),
        },
        "seed_descendant_style": {
            "encoder_path": "stock 30-s", "decoding": f"generate, prompt {SEED_STYLE_PROMPT}",
            "new_tokens": NEW_TOKENS, "forced": "min_new_tokens = max_new_tokens: every clip decodes exactly this many",
            "batch_size": 1, "clips": len(seed_clips), "warmup": False,
            "clips_per_s": round(seed_rate, 4),
            "labels": dict(Counter(reading.label for reading in slow.results[0])),
        },
        "ratio": round(harness_rate / seed_rate, 1),
    }  # fmt: skip


def encoder_paths(model, processor) -> dict:
    scorer = LLMScorer(model, processor, load_prompt(HARNESS_PROMPT), DecodingConfig(), system="mid")
    results = {"batch_size": ENCODER_PATH_BATCH}
    for ms in (1000, 200):
        clips = speech_clips(ms, ENCODER_PATH_BATCH)
        rates, scores = {}, {}
        for path, short_clip, box in (("fast", True, FAST_BOX), ("stock", False, STOCK_BOX)):
            with encoder_path(model, short_clip):
                timed = run_time_boxed(lambda: scorer.score(clips).p_speech, box)
            rates[path], scores[path] = len(clips) * len(timed.seconds) / timed.total, timed.results[-1]
        results[f"{ms}ms"] = {
            "fast_clips_per_s": round(rates["fast"], 3),
            "stock_clips_per_s": round(rates["stock"], 3),
            "speedup": round(rates["fast"] / rates["stock"], 1),
            "max_abs_p_speech_difference": float(np.max(np.abs(scores["fast"] - scores["stock"]))),
        }
    results["target_speedup_1s"] = TARGET_ENCODER_SPEEDUP_1S
    results["meets_target"] = results["1000ms"]["speedup"] >= TARGET_ENCODER_SPEEDUP_1S
    return results


def input_pipeline(model, processor) -> dict:
    scorer = LLMScorer(model, processor, load_prompt(HARNESS_PROMPT), DecodingConfig(), system="mid")
    with tempfile.TemporaryDirectory() as folder, encoder_path(model, short_clip=True):
        clips = write_clips(Path(folder), speech_clips(1000, PIPELINE_CLIPS))
        compared = compare_input_paths(scorer, clips, Path(folder), PIPELINE_WORKERS)
    return {"clip_seconds": 1.0, "batch_size": HARNESS_BATCH, "clips": PIPELINE_CLIPS, **compared}


def main() -> None:
    checkpoint = build_tiny_checkpoint(CHECKPOINT, size="mid", seed=0)
    model, processor = load_model(ModelConfig(name_or_path=str(checkpoint), dtype="fp32", device="cpu"))
    write_result(
        "scoring_speed",
        {
            "checkpoint": "mid (encoder d_model 1280 x 32 layers, small LLM), fp32, CPU",
            "torch_threads": torch.get_num_threads(),
            "end_to_end": end_to_end(model, processor),
            "encoder_paths": encoder_paths(model, processor),
            "input_pipeline": input_pipeline(model, processor),
        },
    )


if __name__ == "__main__":
    main()
