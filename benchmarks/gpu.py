"""Qwen2-Audio-7B on one GPU: scoring clips/s, the end-to-end ratio, LoRA training, the FLOP ceiling.

    python -m benchmarks gpu          (or: python benchmarks/gpu.py)     under 8 minutes, no download
    python benchmarks/gpu.py --geometry tiny --device cpu                CPU self-check, seconds

A random-weight Qwen2-Audio with the real 7B geometry (benchmarks/gpu_model.py: 8.40 B
parameters, built on the GPU in bf16) and the tiny checkpoint's tokenizer (the real chat
template and special tokens). Speed depends on shapes, not weights, so this times what the real
checkpoint will; the answers themselves mean nothing. Measured, each case time-boxed (warm-up,
then a few runs or seconds) so the whole run stays inside its budget:

1. Scoring: clips/s for 0.2-s and 1-s clips at batch 1/8/32/64, short-clip vs stock 30-s encoder
   path, constrained A/B exactly as ``LLMScorer`` scores (features, forward, option softmax),
   with the share of the time spent in the forward pass and its TFLOP/s.
2. The seed-descendant style (benchmarks/scoring_styles.py): stock path, ``generate`` of 128
   forced new tokens, one clip at a time, and the end-to-end ratio of the harness default to it.
3. The input pipeline (benchmarks/input_pipeline.py): 1-s clips from wav files through the batch
   loop at batch 8 and 32, audio read and inputs built inline vs in 4 DataLoader workers
   (``evaluate.num_workers``): clips/s and the share of the wall time the GPU waits for input.
4. LoRA training samples/s and peak memory (bf16, both encoder paths), and 4-bit QLoRA when
   bitsandbytes imports (the language model quantized to NF4 in place).
5. The FLOP ceiling: useful FLOPs per clip ~ 2 x (parameters used per position) x positions,
   against the rate this GPU's own bf16 matmul reaches (measured first) and its datasheet peak.

Targets (H100/H200-class GPU): >= 200 clips/s scoring 1-s clips; >= 50x the seed-descendant
style end to end. JSON: benchmarks/out/gpu.json (the tiny self-check: gpu_selfcheck.json).
Without CUDA the default command prints one line saying it needs a GPU and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

NEEDS_GPU = (
    "benchmarks/gpu.py needs a CUDA GPU and torch sees none: nothing measured "
    "(CPU self-check of its code paths: python benchmarks/gpu.py --geometry tiny --device cpu)"
)


def main(argv: list[str] | None = None) -> None:
    """``argv``: the options (none: the 7b run on CUDA)."""
    args = parse_arguments([] if argv is None else argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(NEEDS_GPU)
        return
    if args.geometry == "7b" and not args.device.startswith("cuda"):
        raise SystemExit("error: the 7b geometry is a GPU benchmark; on CPU use --geometry tiny")
    # Imported only once a device is there: the no-GPU answer above costs no model-library import.
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python benchmarks/gpu.py
    from benchmarks.gpu_run import run

    run(args.geometry, args.device, args.out_dir, {"bf16": torch.bfloat16, "fp32": torch.float32}.get(args.dtype))


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--geometry", choices=("7b", "tiny"), default="7b", help="7b: the real model's shapes; tiny: CPU self-check")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (tiny geometry only)")
    parser.add_argument("--dtype", choices=("bf16", "fp32"), help="default: bf16 on CUDA, fp32 on CPU")
    parser.add_argument("--out-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/out)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
