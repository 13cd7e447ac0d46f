"""The measurements of ``benchmarks/gpu.py``, in the order they run (its docstring says what and why)."""

from __future__ import annotations

import gc
import tempfile
import traceback
import platform
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import write_result
from benchmarks.gpu_model import GEOMETRIES, Geometry, ParameterCounts, build_random_model, parameter_counts
from benchmarks.gpu_model import quantize_language_model_4bit
from benchmarks.input_pipeline import compare_input_paths, write_clips
from benchmarks.lora_training import add_lora, clip_durations, synthetic_examples, training_collator, training_step
from benchmarks.memory import PeakMemory
from benchmarks.scoring_styles import HARNESS_PROMPT, SEED_STYLE_PROMPT, SeedStyleScorer, encoder_path
from benchmarks.timing import Deadline, TimeBox, run_time_boxed
from qwen_vad.config import DecodingConfig, FinetuneConfig
from qwen_vad.decoding import LLMScorer
from qwen_vad.models.fast_encoder import audio_tokens_for_samples, mel_frames_for_clips
from qwen_vad.models.rendering import render_prompt
from qwen_vad.models.families.qwen2_audio import build_processor
from qwen_vad.models.families import family_of
from qwen_vad.prompts import load_prompt
from qwen_vad.scoring.loading import GPU_INPUT_WORKERS

SAMPLE_RATE = 16_000
TARGET_CLIPS_PER_S_1S = 200.0  # H100/H200-class GPU, 1-s clips
TARGET_END_TO_END_RATIO = 50.0  # harness default vs the seed-descendant style
HARNESS_DEFAULT_BATCH = DecodingConfig().batch_size

# Dense bf16 tensor-core peaks from the vendors' datasheets (TFLOP/s, no sparsity), matched as
# substrings of torch.cuda.get_device_name() in this order (the first match wins). A large bf16
# matmul reaches ~80 % of these (an H200 of this workplace: 790 of 989), which is why the
# ceiling the fractions use is the matmul rate measured at the start of the run.
DATASHEET_BF16_TFLOPS = (
    ("GH200", 989.0), ("H200", 989.0), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0),
    ("H800", 989.0), ("A100", 312.0), ("A800", 312.0), ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0),
    ("RTX 4090", 165.0), ("RTX 6000 Ada", 364.0), ("RTX A6000", 155.0),
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """How much each geometry measures; the time boxes keep the 7b run under 8 minutes."""

    clip_seconds: tuple[float, ...]
    batch_sizes: tuple[int, ...]
    new_tokens: int  # the seed-descendant style's generated tokens, forced
    scoring: TimeBox
    generate: TimeBox
    training: TimeBox
    training_batch: int
    pipeline_clips: int  # 1-s clips scored from wav files, inline and with loader workers
    pipeline_batch_sizes: tuple[int, ...]
    matmul_size: int
    budget_seconds: float  # whole run, model builds included


PROFILES = {
    "7b": Profile(
        clip_seconds=(0.2, 1.0), batch_sizes=(1, 8, 32, 64), new_tokens=128,
        scoring=TimeBox(warmup=1, min_runs=2, max_runs=50, min_seconds=2.0, max_seconds=5.0),
        generate=TimeBox(warmup=1, min_runs=2, max_runs=5, min_seconds=8.0, max_seconds=15.0),
        training=TimeBox(warmup=2, min_runs=3, max_runs=20, min_seconds=3.0, max_seconds=12.0),
        training_batch=8, pipeline_clips=512, pipeline_batch_sizes=(8, 32), matmul_size=8192, budget_seconds=420.0,
    ),
    # One run of everything: the self-check proves the code paths, it measures nothing.
    "tiny": Profile(
        clip_seconds=(0.2, 1.0), batch_sizes=(1, 4), new_tokens=32,
        scoring=TimeBox(warmup=1, min_runs=1, max_runs=1, min_seconds=0.0, max_seconds=0.0),
        generate=TimeBox(warmup=1, min_runs=1, max_runs=1, min_seconds=0.0, max_seconds=0.0),
        training=TimeBox(warmup=1, min_runs=1, max_runs=1, min_seconds=0.0, max_seconds=0.0),
        training_batch=2, pipeline_clips=12, pipeline_batch_sizes=(4,), matmul_size=256, budget_seconds=600.0,
    ),
}  # fmt: skip

# Seconds a section needs at least (7b), below which it is skipped rather than cut short.
SECTION_SECONDS = {"scoring_cell": 12.0, "seed_style": 25.0, "input_pipeline": 20.0, "training_path": 20.0, "qlora": 60.0}


def run(geometry_name: str, device: str, out_dir: Path | None, dtype: torch.dtype | None = None) -> dict:
    """Measure everything, write the JSON, print the summary; raises SystemExit(1) at the end if
    any measurement failed (the others are still measured and written). ``dtype``: bf16 on
    CUDA, float32 on CPU unless given."""
    profile, geometry = PROFILES[geometry_name], GEOMETRIES[geometry_name]
    deadline = Deadline(profile.budget_seconds)
    cuda = device.startswith("cuda")
    dtype = dtype or (torch.bfloat16 if cuda else torch.float32)
    if cuda:
        torch.cuda.set_device(device)  # the memory statistics read the current device
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    scale = 1.0 if geometry_name == "7b" else 0.0  # the tiny self-check never skips for time
    guard = Guard(cuda)

    processor = build_processor()
    hardware = describe_device(device)
    ceiling = {**matmul_ceiling(device, dtype, profile.matmul_size, sync), "datasheet_bf16_tflops": hardware["datasheet_bf16_tflops"]}
    counts = parameter_counts(geometry)
    model = build_random_model(geometry, processor.tokenizer, device, dtype)
    weights_gb = torch.cuda.memory_allocated(device) / 1e9 if cuda else None
    flops = FlopModel(counts, geometry)
    scoring = scoring_grid(model, processor, profile, flops, ceiling, device, sync, deadline, scale, guard)
    seed_style = guard("seed_style", seed_style_rates, model, processor, profile, sync, deadline, scale)
    pipeline = guard("input_pipeline", input_pipeline, model, processor, profile, deadline, scale)
    training = {"lora": guard("lora", lora_training, model, processor, profile, device, dtype, False, deadline, scale)}
    del model
    release_memory(cuda)
    training["qlora_4bit"] = guard("qlora_4bit", qlora_training, geometry, processor, profile, device, dtype, deadline, scale)
    end_to_end = end_to_end_ratios(scoring, seed_style)
    result = {
        "what": "random-weight Qwen2-Audio at the geometry below; speed depends on shapes, not weights",
        "geometry": geometry_name,
        "geometry_dimensions": asdict(geometry),
        "parameters": counts.as_dict(),
        "dtype": str(dtype).removeprefix("torch."),
        "device": hardware,
        "weights_gb": None if weights_gb is None else round(weights_gb, 2),
        "tokenizer": f"the tiny checkpoint's BPE ({len(processor.tokenizer)} tokens) with the real special tokens and chat template",
        "clips": "Gaussian noise (std 0.1) at 16 kHz; the content does not change the cost",
        "matmul_ceiling": ceiling,
        "flop_model": FlopModel.DESCRIPTION,
        "scoring": scoring,
        "seed_style": seed_style,
        "end_to_end": end_to_end,
        "input_pipeline": pipeline,
        "training": training,
        "targets": targets(scoring, end_to_end, hardware, ceiling["tflops"], judged=geometry_name == "7b"),
        "failed": guard.failures,
        "wall_seconds": round(deadline.elapsed(), 1),
    }
    if geometry_name != "7b":
        result["note"] = "CPU self-check of the code paths at tiny geometry: the numbers measure nothing"
    write_result("gpu" if geometry_name == "7b" else "gpu_selfcheck", result, out_dir=out_dir, echo=False)
    print("\n".join(summary_lines(result)))
    if guard.failures:
        raise SystemExit(f"error: {len(guard.failures)} measurement(s) failed: {', '.join(guard.failures)} (tracebacks above)")
    return result


class Guard:
    """Runs one measurement; a failure (out of memory, a library that differs on this machine) is
    recorded with its traceback on stderr and the run goes on: a GPU lease is too short to lose
    every other number to one of them."""

    def __init__(self, cuda: bool) -> None:
        self.cuda, self.failures = cuda, []

    def __call__(self, name: str, measure, *args) -> dict:
        try:
            return measure(*args)
        except Exception as err:  # noqa: BLE001 - recorded, reported, and the exit status says so
            traceback.print_exc()
            self.failures.append(name)
            release_memory(self.cuda)
            return {"failed": f"{type(err).__name__}: {err}"}


# ------------------------------------------------------------------------------------- ceiling


def matmul_ceiling(device: str, dtype: torch.dtype, size: int, sync) -> dict:
    """The rate a large square matmul reaches on this device: the practical FLOP ceiling."""
    generator = torch.Generator(device=device).manual_seed(0)
    a, b = (torch.randn(size, size, device=device, dtype=dtype, generator=generator) for _ in range(2))
    out = torch.empty_like(a)
    repeats = 10

    def products() -> None:
        for _ in range(repeats):
            torch.mm(a, b, out=out)

    timed = run_time_boxed(products, TimeBox(warmup=1, min_runs=5, max_runs=20, min_seconds=0.5, max_seconds=2.0), sync)
    seconds = float(np.median(timed.seconds)) / repeats
    return {
        "matmul": f"{size}x{size}x{size} {str(dtype).removeprefix('torch.')}, random data, median of {len(timed.seconds)} x {repeats}",
        "tflops": round(2 * size**3 / seconds / 1e12, 1),
    }


def describe_device(device: str) -> dict:
    if not device.startswith("cuda"):
        name = f"cpu: {platform.processor() or platform.machine()}"
        return {"name": name, "threads": torch.get_num_threads(), "datasheet_bf16_tflops": None}
    props = torch.cuda.get_device_properties(device)
    name = torch.cuda.get_device_name(device)
    peak = next((tflops for key, tflops in DATASHEET_BF16_TFLOPS if key in name), None)
    return {
        "name": name,
        "memory_gb": round(props.total_memory / 1e9, 1),
        "compute_capability": f"{props.major}.{props.minor}",
        "multiprocessors": props.multi_processor_count,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "datasheet_bf16_tflops": peak if peak is not None else "unknown peak",
    }


class FlopModel:
    DESCRIPTION = (
        "FLOPs per clip = 2 x (encoder parameters, position table excluded, x encoder positions "
        "+ projector x audio tokens + language-model parameters, input embedding excluded and "
        "lm_head included, x text tokens); attention's score/softmax terms are left out (small "
        "at these lengths). Useful FLOPs count the encoder positions the short-clip path runs "
        "(the clip's own); the stock path executes 1500 per clip."
    )

    def __init__(self, counts: ParameterCounts, geometry: Geometry) -> None:
        self.counts, self.stock_positions = counts, geometry.audio_positions

    def per_clip(self, encoder_positions: int, audio_tokens: int, text_tokens: int) -> float:
        c = self.counts
        return 2.0 * (c.encoder_matmul * encoder_positions + c.projector * audio_tokens + c.text_matmul * text_tokens)


# ------------------------------------------------------------------------------------- scoring


def noise_clips(seconds: float, count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(round(seconds * SAMPLE_RATE))).astype(np.float32) for _ in range(count)]


def scoring_grid(model, processor, profile: Profile, flops: FlopModel, ceiling: dict, device, sync, deadline, scale, guard) -> list[dict]:
    template = load_prompt(HARNESS_PROMPT)
    scorer = LLMScorer(model, processor, template, DecodingConfig(), system="gpu-benchmark")
    text = render_prompt(processor, template.text, None)
    cells = []
    for seconds in profile.clip_seconds:
        clips = noise_clips(seconds, max(profile.batch_sizes))
        samples = clips[0].size
        text_tokens = int(family_of(model).model_inputs(processor, [text], clips[:1], short_clip_features=True)["input_ids"].shape[1])
        audio_tokens = audio_tokens_for_samples(samples)
        fast_positions = mel_frames_for_clips([samples]) // 2
        useful = flops.per_clip(fast_positions, audio_tokens, text_tokens)
        for path, short_clip in (("fast", True), ("stock", False)):
            executed = flops.per_clip(fast_positions if short_clip else flops.stock_positions, audio_tokens, text_tokens)
            for batch in profile.batch_sizes:
                cell = {"clip_seconds": seconds, "path": path, "batch_size": batch}
                needed = SECTION_SECONDS["scoring_cell"] * scale
                if not deadline.allows(needed):
                    cells.append({**cell, "skipped": deadline.skip_reason(needed)})
                    continue

                def measure() -> dict:
                    with encoder_path(model, short_clip), PeakMemory(device) as peak:
                        timed = run_time_boxed(lambda: scorer.score(clips[:batch]), profile.scoring, sync)
                    return scoring_rates(timed, batch, useful, executed, ceiling, text_tokens, peak)

                cells.append({**cell, **guard(f"scoring {seconds} s {path} batch {batch}", measure)})
    return cells


def scoring_rates(timed, batch: int, useful: float, executed: float, ceiling: dict, text_tokens: int, peak: PeakMemory) -> dict:
    scored = batch * len(timed.seconds)
    stage = Counter()
    for scores in timed.results:
        stage.update(scores.seconds)
    clips_per_s = scored / timed.total
    p_speech = np.concatenate([scores.p_speech for scores in timed.results])
    return {
        "batches_timed": len(timed.seconds),
        "clips_per_s": round(clips_per_s, 2),
        "forward_share": round(stage["forward"] / timed.total, 3),
        "feature_extraction_share": round(stage["feature_extraction"] / timed.total, 3),
        "text_tokens_per_clip": text_tokens,
        "useful_gflop_per_clip": significant(useful / 1e9),
        "executed_gflop_per_clip": significant(executed / 1e9),
        "forward_tflops": round(executed * scored / stage["forward"] / 1e12, 2),
        "fraction_of_ceiling": round(useful * clips_per_s / (ceiling["tflops"] * 1e12), 4),
        "fraction_of_datasheet_peak": fraction_of(useful * clips_per_s, ceiling["datasheet_bf16_tflops"]),
        "peak_memory_gb": None if peak.bytes is None else round(peak.bytes / 1e9, 2),
        "p_speech_finite": bool(np.isfinite(p_speech).all()),
    }


def significant(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def fraction_of(flop_rate: float, peak_tflops: float | str | None) -> float | str | None:
    """The rate as a fraction of a datasheet peak ("unknown peak" / None pass through)."""
    return round(flop_rate / (peak_tflops * 1e12), 4) if isinstance(peak_tflops, float) else peak_tflops


# ------------------------------------------------------------------------------ input pipeline


def input_pipeline(model, processor, profile: Profile, deadline, scale) -> dict:
    """From wav files to scores through the batch loop, as ``evaluate`` runs (short-clip path,
    length-grouped batches): inputs built inline vs in loader workers, and how much of the wall
    time the GPU waits for its next batch (benchmarks/input_pipeline.py)."""
    rows = []
    with tempfile.TemporaryDirectory() as folder, encoder_path(model, short_clip=True):
        clips = write_clips(Path(folder), noise_clips(1.0, profile.pipeline_clips, seed=2))
        for batch in profile.pipeline_batch_sizes:
            needed = SECTION_SECONDS["input_pipeline"] * scale
            if not deadline.allows(needed):
                rows.append({"batch_size": batch, "skipped": deadline.skip_reason(needed)})
                continue
            decoding = replace(DecodingConfig(), batch_size=batch)
            scorer = LLMScorer(model, processor, load_prompt(HARNESS_PROMPT), decoding, system="gpu-benchmark")
            rows.append({"batch_size": batch, **compare_input_paths(scorer, clips, Path(folder), GPU_INPUT_WORKERS)})
    return {"clip_seconds": 1.0, "clips": profile.pipeline_clips, "workers": GPU_INPUT_WORKERS, "cases": rows}


# ---------------------------------------------------------------------------------- seed style


def seed_style_rates(model, processor, profile: Profile, sync, deadline, scale) -> dict:
    scorer = SeedStyleScorer(model, processor, load_prompt(SEED_STYLE_PROMPT), profile.new_tokens)
    rows = []
    for seconds in profile.clip_seconds:
        needed = SECTION_SECONDS["seed_style"] * scale
        if not deadline.allows(needed):
            rows.append({"clip_seconds": seconds, "skipped": deadline.skip_reason(needed)})
            continue
        clip = noise_clips(seconds, 1, seed=1)[0]
        timed = run_time_boxed(lambda: scorer.score(clip), profile.generate, sync)
        rows.append({
            "clip_seconds": seconds,
            "clips_timed": len(timed.seconds),
            "clips_per_s": round(len(timed.seconds) / timed.total, 4),
            "seconds_per_clip": round(timed.total / len(timed.seconds), 3),
            "labels": dict(Counter(reading.label for reading in timed.results)),
        })  # fmt: skip
    return {
        "style": "stock 30-s encoder path, generate, batch 1, answer read from the decoded text",
        "prompt": SEED_STYLE_PROMPT,
        "new_tokens": profile.new_tokens,
        "forced": "min_new_tokens = max_new_tokens: a random model may stop at once or never, so every clip decodes exactly this many",
        "rates": rows,
    }


def end_to_end_ratios(scoring: list[dict], seed_style: dict) -> dict:
    """Harness default (short-clip path, constrained A/B, batched) over the seed-descendant style,
    both end to end from audio in memory, per clip duration and batch size."""
    seed = {row["clip_seconds"]: row["clips_per_s"] for row in seed_style.get("rates", []) if "clips_per_s" in row}
    ratios = []
    for cell in scoring:
        if cell["path"] == "fast" and "clips_per_s" in cell and cell["clip_seconds"] in seed:
            ratios.append({
                "clip_seconds": cell["clip_seconds"], "batch_size": cell["batch_size"],
                "ratio": round(cell["clips_per_s"] / seed[cell["clip_seconds"]], 1),
            })  # fmt: skip
    return {
        "compared": "harness default (short-clip path, constrained A/B, batched) vs seed-descendant style; "
        "both from audio in memory to a score or label (features, tokens, model, answer) on one device",
        "ratios": ratios,
    }


# ------------------------------------------------------------------------------------ training


def lora_training(model, processor, profile: Profile, device: str, dtype, quantized: bool, deadline, scale, paths=None) -> dict:
    cuda, autocast = device.startswith("cuda"), dtype == torch.bfloat16
    peft_model = add_lora(model, quantized=quantized)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    examples = synthetic_examples(profile.training_batch)
    result = {
        "batch_size": profile.training_batch,
        "clip_seconds": clip_durations(profile.training_batch),
        "trainable_parameters": trainable,
        "autocast_bf16": autocast,
        "gradient_checkpointing": FinetuneConfig().gradient_checkpointing,
        "peak_memory": PeakMemory(device).kind,
    }
    for path, short_clip in paths or (("fast_encoder", True), ("stock_30s", False)):
        needed = SECTION_SECONDS["training_path"] * scale
        if not deadline.allows(needed):
            result[path] = {"skipped": deadline.skip_reason(needed)}
            continue
        step = training_step(peft_model, training_collator(processor, short_clip), examples, device, autocast=autocast)
        with encoder_path(peft_model, short_clip), PeakMemory(device) as peak:
            timed = run_time_boxed(step, profile.training, torch.cuda.synchronize if cuda else (lambda: None))
        result[path] = {
            "steps_timed": len(timed.seconds),
            "samples_per_s": round(profile.training_batch * len(timed.seconds) / timed.total, 3),
            "seconds_per_step": round(timed.total / len(timed.seconds), 3),
            "peak_memory_gb": None if peak.bytes is None else round(peak.bytes / 1e9, 2),
            "losses_finite": bool(np.isfinite(timed.results).all()),
        }
        del step  # its optimizer state goes before the next path is measured
        release_memory(cuda)
    if "samples_per_s" in result.get("fast_encoder", {}) and "samples_per_s" in result.get("stock_30s", {}):
        result["speedup"] = round(result["fast_encoder"]["samples_per_s"] / result["stock_30s"]["samples_per_s"], 1)
    return result


def qlora_training(geometry: Geometry, processor, profile: Profile, device: str, compute_dtype, deadline, scale) -> dict:
    """4-bit QLoRA on the short-clip path, when bitsandbytes imports."""
    try:
        import bitsandbytes  # noqa: F401
    except Exception as err:  # ImportError, or its own errors when no usable backend is found
        return {"skipped": f"bitsandbytes does not import here ({type(err).__name__}: {err}); pip install -e '.[qlora]'"}
    needed = SECTION_SECONDS["qlora"] * scale
    if not deadline.allows(needed):
        return {"skipped": deadline.skip_reason(needed)}
    cuda = device.startswith("cuda")
    model = build_random_model(geometry, processor.tokenizer, device, compute_dtype)
    swapped = quantize_language_model_4bit(model, compute_dtype)
    release_memory(cuda)
    weights_gb = torch.cuda.memory_allocated(device) / 1e9 if cuda else None
    result = lora_training(model, processor, profile, device, compute_dtype, True, deadline, scale, paths=(("fast_encoder", True),))
    return {"layers_quantized_nf4": swapped, "weights_gb_quantized": None if weights_gb is None else round(weights_gb, 2), **result}


def release_memory(cuda: bool) -> None:
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()


# ------------------------------------------------------------------------------------- targets


def targets(scoring: list[dict], end_to_end: dict, hardware: dict, ceiling_tflops: float, judged: bool) -> dict:
    """The two targets against the best measured case; ``met`` is None for the self-check."""
    fast_1s = [c for c in scoring if c["path"] == "fast" and c["clip_seconds"] == 1.0 and "clips_per_s" in c]
    best = max(fast_1s, key=lambda c: c["clips_per_s"], default=None)
    ratios_1s = [r for r in end_to_end["ratios"] if r["clip_seconds"] == 1.0]
    best_ratio = max(ratios_1s, key=lambda r: r["ratio"], default=None)
    default_ratio = next((r for r in ratios_1s if r["batch_size"] == HARNESS_DEFAULT_BATCH), None)
    return {
        "applies_to": "H100/H200-class GPUs",
        "device": hardware["name"],
        "scoring_1s_clips_per_s": {
            "target": TARGET_CLIPS_PER_S_1S,
            "measured": best and best["clips_per_s"],
            "batch_size": best and best["batch_size"],
            "fraction_of_ceiling": best and best["fraction_of_ceiling"],
            "fraction_of_datasheet_peak": best and best["fraction_of_datasheet_peak"],
            "ceiling_clips_per_s": best and round(ceiling_tflops * 1e3 / best["useful_gflop_per_clip"], 1),
            "met": bool(best and best["clips_per_s"] >= TARGET_CLIPS_PER_S_1S) if judged else None,
        },
        "end_to_end_ratio_1s": {
            "target": TARGET_END_TO_END_RATIO,
            "measured": best_ratio and best_ratio["ratio"],
            "batch_size": best_ratio and best_ratio["batch_size"],
            "at_default_batch": default_ratio and default_ratio["ratio"],
            "met": bool(best_ratio and best_ratio["ratio"] >= TARGET_END_TO_END_RATIO) if judged else None,
        },
    }


def summary_lines(result: dict) -> list[str]:
    lines = [
        f"== gpu benchmark: {result['geometry']} geometry, {result['parameters']['total'] / 1e9:.3f} B parameters, "
        f"{result['dtype']} on {result['device']['name']}",
        f"matmul ceiling {result['matmul_ceiling']['tflops']} TFLOP/s measured; datasheet bf16 peak "
        f"{result['device']['datasheet_bf16_tflops'] or 'n/a'}",
        f"{'clip':>5} {'path':>5} {'batch':>5} {'clips/s':>9} {'fwd%':>5} {'feat%':>5} {'fwd TFLOP/s':>11} {'ceiling%':>8} {'mem GB':>7}",
    ]
    for c in result["scoring"]:
        if unmeasured(c):
            lines.append(f"{c['clip_seconds']:>5} {c['path']:>5} {c['batch_size']:>5}  {unmeasured(c)}")
            continue
        memory = "-" if c["peak_memory_gb"] is None else f"{c['peak_memory_gb']:.1f}"
        lines.append(
            f"{c['clip_seconds']:>5} {c['path']:>5} {c['batch_size']:>5} {c['clips_per_s']:>9.2f} "
            f"{100 * c['forward_share']:>5.0f} {100 * c['feature_extraction_share']:>5.0f} {c['forward_tflops']:>11.2f} "
            f"{100 * c['fraction_of_ceiling']:>8.1f} {memory:>7}"
        )
    seed = result["seed_style"]
    if unmeasured(seed):
        lines.append(f"seed-descendant style: {unmeasured(seed)}")
    for row in seed.get("rates", []):
        rate = unmeasured(row) or f"{row['clips_per_s']} clips/s"
        lines.append(f"seed-descendant style ({seed['new_tokens']} tokens, batch 1), {row['clip_seconds']} s clips: {rate}")
    pipeline = result["input_pipeline"]
    if unmeasured(pipeline):
        lines.append(f"input pipeline: {unmeasured(pipeline)}")
    for case in pipeline.get("cases", []):
        if unmeasured(case):
            lines.append(f"input pipeline, batch {case['batch_size']}: {unmeasured(case)}")
            continue
        inline, workers = case["inline"], case["dataloader"]
        lines.append(
            f"input pipeline, batch {case['batch_size']}: inline {inline['clips_per_s']} clips/s "
            f"(waiting for input {100 * inline['input_wait_share']:.0f} %), {workers['num_workers']} workers "
            f"{workers['clips_per_s']} clips/s (waiting {100 * workers['input_wait_share']:.0f} %)"
        )
    for name, section in result["training"].items():
        if unmeasured(section):
            lines.append(f"training {name}: {unmeasured(section)}")
            continue
        for path in ("fast_encoder", "stock_30s"):
            if path in section:
                entry = section[path]
                measured = f"{entry.get('samples_per_s')} samples/s, peak {entry.get('peak_memory_gb')} GB"
                lines.append(f"training {name} {path}: {unmeasured(entry) or measured}")
    t = result["targets"]
    score, ratio = t["scoring_1s_clips_per_s"], t["end_to_end_ratio_1s"]
    verdict = {True: "met", False: "NOT met", None: "not judged (self-check)"}
    default_ratio = "n/a" if ratio["at_default_batch"] is None else f"{ratio['at_default_batch']}x"
    lines.append(
        f"target >= {score['target']:.0f} clips/s (1-s clips): {score['measured']} at batch {score['batch_size']} "
        f"(FLOP ceiling {score['ceiling_clips_per_s']} clips/s at the measured matmul rate) -> {verdict[score['met']]}"
    )
    lines.append(
        f"target >= {ratio['target']:.0f}x seed-descendant style (1-s clips): {ratio['measured']}x at batch {ratio['batch_size']} "
        f"({default_ratio} at the default batch {HARNESS_DEFAULT_BATCH}) -> {verdict[ratio['met']]}"
    )
    if result["failed"]:
        lines.append(f"FAILED: {', '.join(result['failed'])}")
    if "note" in result:
        lines.append(result["note"])
    return lines


def unmeasured(entry: dict) -> str | None:
    """Why an entry holds no measurement (skipped for time or a missing package, or failed)."""
    return entry.get("skipped") or (entry.get("failed") and f"failed: {entry['failed']}")
