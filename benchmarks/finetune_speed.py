"""Fine-tuning throughput with the short-clip encoder path vs the stock 30-s path.

The mid checkpoint (the real Whisper-large-v3-sized audio encoder of Qwen2-Audio, 32 layers x
1280, with a small language model; built into checkpoints/mid on first use, ~1.3 GB) is trained
with LoRA exactly as ``python -m qwen_vad.finetune`` trains it: the same collator (features,
labels), loss and AdamW step. Both paths train on the same batch of short clips (0.2-1 s, the
study's durations) for the same number of steps; the stock path pads every clip to 30 s and runs
the encoder over 1500 positions. Reported: training samples/s of each, their ratio, and the peak
memory of the training steps (CUDA: peak allocated; CPU: peak resident memory above the level
before the steps).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import psutil
import torch

from benchmarks.common import write_result
from qwen_vad.cli import compose_config
from qwen_vad.config import REPO_ROOT
from qwen_vad.models.families import family_of
from qwen_vad.models.fast_encoder import use_short_clip_encoder
from qwen_vad.models.loader import resolve_device
from qwen_vad.models.tiny import build_tiny_checkpoint
from qwen_vad.prompts import load_prompt
from qwen_vad.training.collator import TrainingCollator
from qwen_vad.training.examples import ClipDataset, LabelledClip, TrainingExample
from qwen_vad.training.loss import AnswerLoss
from qwen_vad.training.model_setup import load_trainable_model
from qwen_vad.training.prompt_sampling import PromptSampler

MID_CHECKPOINT = REPO_ROOT / "checkpoints" / "mid"
CLIP_SECONDS = (0.2, 0.3, 0.5, 1.0)
# (batch size, timed steps, warm-up steps): the research plan's batch of 8 on a GPU; on CPU the
# stock path costs ~2 TFLOP of encoder work per clip, so a small batch keeps it to minutes.
SETTINGS = {"cuda": (8, 10, 2), "cpu": (2, 2, 1)}


def main() -> None:
    device = resolve_device("auto")
    batch_size, steps, warmup = SETTINGS["cuda" if device.startswith("cuda") else "cpu"]
    checkpoint = build_tiny_checkpoint(MID_CHECKPOINT, size="mid", seed=0)
    dtype = "bf16" if device.startswith("cuda") else "fp32"
    cfg, _ = compose_config(["exp=smoke", f"model.name_or_path={checkpoint}", f"model.dtype={dtype}", "model.device=auto"])
    model, processor = load_trainable_model(cfg, device)
    model.train()
    examples = synthetic_examples(batch_size)
    sampler = PromptSampler(processor, [load_prompt(cfg.decoding.prompt)], cfg.decoding.system_prompt, family_of(model))
    results = {}
    for path, short_clip in (("fast_encoder", True), ("stock_30s", False)):
        use_short_clip_encoder(model, short_clip)
        collator = TrainingCollator(processor, sampler, "answer", None, short_clip_features=short_clip)
        step = training_step(model, collator, examples, device, autocast=dtype == "bf16")
        results[path] = measure(step, steps, warmup, batch_size, device)
        print(path, results[path], flush=True)
    write_result(
        "finetune_speed",
        {
            "device": torch.cuda.get_device_name() if device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)",
            "checkpoint": "mid (Whisper-large-v3-sized audio encoder, small LLM)",
            "dtype": dtype,
            "batch_size": batch_size,
            "timed_steps": steps,
            "clip_seconds": clip_durations(batch_size),
            **results,
            "speedup": round(results["fast_encoder"]["samples_per_second"] / results["stock_30s"]["samples_per_second"], 1),
            "memory_ratio": round(results["stock_30s"]["peak_memory_mb"] / max(results["fast_encoder"]["peak_memory_mb"], 1e-9), 1),
        },
    )


def clip_durations(count: int) -> list[float]:
    """The study's durations spread over the batch, shortest and longest always included (the
    longest clip sets the batch's feature length)."""
    last = len(CLIP_SECONDS) - 1
    return [CLIP_SECONDS[round(i * last / max(count - 1, 1))] for i in range(count)]


def synthetic_examples(count: int) -> list[TrainingExample]:
    rng = np.random.default_rng(0)
    clips = [
        LabelledClip(f"clip{i}", (0.1 * rng.standard_normal(round(seconds * 16_000))).astype(np.float32), i % 2 == 0)
        for i, seconds in enumerate(clip_durations(count))
    ]
    dataset = ClipDataset(clips, seed=0)
    return [dataset[i] for i in range(count)]


def training_step(
    model: torch.nn.Module, collator: TrainingCollator, examples: list[TrainingExample], device: str, autocast: bool
) -> Callable[[], None]:
    loss_fn = AnswerLoss("answer", None)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step() -> None:
        batch = {name: tensor.to(device) for name, tensor in collator(examples).items()}
        labels = batch.pop("labels")
        with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model(**batch), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def measure(step: Callable[[], None], steps: int, warmup: int, batch_size: int, device: str) -> dict[str, float]:
    cuda = device.startswith("cuda")
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    with PeakResidentMemory() as resident:
        started = time.perf_counter()
        for _ in range(steps):
            step()
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() if cuda else resident.peak_above_start
    return {
        "samples_per_second": round(steps * batch_size / seconds, 3),
        "seconds_per_step": round(seconds / steps, 3),
        "peak_memory_mb": round(peak / 2**20, 1),
    }


class PeakResidentMemory:
    """Peak resident memory of this process while the block runs, above its level at the start."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s, self.process = interval_s, psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakResidentMemory:
        self.start = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_above_start(self) -> int:
        return self.peak - self.start

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval_s)


if __name__ == "__main__":
    main()
