"""Fine-tuning throughput and peak memory, short-clip encoder path vs the stock 30-s path.

The mid checkpoint (the real Whisper-large-v3-sized audio encoder of Qwen2-Audio, 32 layers x
1280, with a small language model; built into checkpoints/mid on first use, ~1.3 GB) is trained
with LoRA as ``python -m qwen_vad.finetune`` trains it (``load_trainable_model``, the training
collator, loss and AdamW step: benchmarks/lora_training.py). Both paths train on the same batch
of short clips (0.2-1 s, the study's durations) for the same number of steps; the stock path
pads every clip to 30 s and runs the encoder over 1500 positions.

Each path runs in a fresh process (``python -m benchmarks.finetune_speed --path NAME``), so
neither reuses memory the other made the allocator grow. Reported per path: training samples/s
and the peak memory of its steps (warm-up included: the optimizer state is created there). On
CUDA that is ``max_memory_allocated`` (weights included); on CPU the resident high-water mark,
reset once the model is loaded (benchmarks/memory.py says why that measure), with the model's
own resident size beside it and the peak above it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.common import write_result
from benchmarks.lora_training import clip_durations, synthetic_examples, training_collator, training_step
from benchmarks.memory import PeakMemory, megabytes
from benchmarks.scoring_styles import encoder_path
from benchmarks.timing import TimeBox, run_time_boxed
from qwen_vad.cli import compose_config
from qwen_vad.config import REPO_ROOT
from qwen_vad.models.loader import resolve_device
from qwen_vad.models.tiny import build_tiny_checkpoint
from qwen_vad.training.model_setup import load_trainable_model

MID_CHECKPOINT = REPO_ROOT / "checkpoints" / "mid"
PATHS = {"fast_encoder": True, "stock_30s": False}  # name -> short-clip features
# (batch size, timed steps, warm-up steps): the research plan's batch of 8 on a GPU; on CPU the
# stock path costs ~2 TFLOP of encoder work per clip, so a small batch keeps it to minutes.
SETTINGS = {"cuda": (8, 10, 2), "cpu": (2, 2, 1)}
BENCHMARKS_ROOT = Path(__file__).resolve().parents[1]  # where `python -m benchmarks...` resolves


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.finetune_speed")
    parser.add_argument("--path", choices=sorted(PATHS), help="measure this path only (the fresh process of one path)")
    parser.add_argument("--result", type=Path, help="with --path: where to write its JSON")
    args = parser.parse_args([] if argv is None else argv)
    if args.path:
        if args.result is None:
            parser.error("--path needs --result FILE")
        args.result.write_text(json.dumps(measure_path(args.path)))
        return
    device = resolve_device("auto")
    build_tiny_checkpoint(MID_CHECKPOINT, size="mid", seed=0)  # once, before the processes that load it
    results = {path: in_fresh_process(path) for path in PATHS}
    fast, stock = results["fast_encoder"], results["stock_30s"]
    batch_size = fast["batch_size"]
    write_result(
        "finetune_speed",
        {
            "device": torch.cuda.get_device_name() if device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)",
            "checkpoint": "mid (Whisper-large-v3-sized audio encoder, small LLM)",
            "dtype": fast["dtype"],
            "batch_size": batch_size,
            "timed_steps": fast["timed_steps"],
            "clip_seconds": clip_durations(batch_size),
            "peak_memory": fast["peak_memory"] + "; each path in a fresh process",
            **results,
            "speedup": round(fast["samples_per_second"] / stock["samples_per_second"], 1),
            "memory_ratio": memory_ratio(fast, stock),
        },
    )


def in_fresh_process(path: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / f"{path}.json"
        command = [sys.executable, "-m", "benchmarks.finetune_speed", "--path", path, "--result", str(result)]
        subprocess.run(command, cwd=BENCHMARKS_ROOT, check=True)
        measured = json.loads(result.read_text())
    print(path, measured, flush=True)
    return measured


def measure_path(path: str) -> dict:
    device = resolve_device("auto")
    cuda = device.startswith("cuda")
    batch_size, steps, warmup = SETTINGS["cuda" if cuda else "cpu"]
    dtype = "bf16" if cuda else "fp32"
    cfg, _ = compose_config(["exp=smoke", f"model.name_or_path={MID_CHECKPOINT}", f"model.dtype={dtype}", "model.device=auto"])
    model, processor = load_trainable_model(cfg, device)
    model.train()
    short_clip = PATHS[path]
    collator = training_collator(processor, short_clip, cfg.decoding.prompt)
    step = training_step(model, collator, synthetic_examples(batch_size), device, autocast=cuda)
    box = TimeBox(warmup=warmup, min_runs=steps, max_runs=steps, min_seconds=0.0, max_seconds=float("inf"))
    with encoder_path(model, short_clip), PeakMemory(device) as peak:
        timed = run_time_boxed(step, box, torch.cuda.synchronize if cuda else (lambda: None))
    return {
        "dtype": dtype,
        "batch_size": batch_size,
        "timed_steps": len(timed.seconds),
        "samples_per_second": round(batch_size * len(timed.seconds) / timed.total, 3),
        "seconds_per_step": round(timed.total / len(timed.seconds), 3),
        "peak_memory": peak.kind,
        "peak_memory_mb": megabytes(peak.bytes),
        "loaded_model_mb": megabytes(peak.start_bytes),
        "peak_above_loaded_model_mb": megabytes(None if peak.bytes is None else peak.bytes - peak.start_bytes),
    }


def memory_ratio(fast: dict, stock: dict) -> dict[str, float | None]:
    """Stock over short-clip path: of the whole peak, and of the peak above the loaded model."""
    ratios = {}
    for key in ("peak_memory_mb", "peak_above_loaded_model_mb"):
        ratios[key.removesuffix("_mb")] = round(stock[key] / fast[key], 2) if fast[key] and stock[key] else None
    return ratios


if __name__ == "__main__":
    main(sys.argv[1:])
