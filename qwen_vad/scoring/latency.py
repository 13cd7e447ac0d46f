"""Per-stage wall-clock timing that is honest on GPUs (synchronises before reading clocks)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# The stages every scorer reports, in pipeline order (research plan: latency per component).
STAGES = ("audio_loading", "feature_extraction", "forward", "post_processing")


class Stopwatch:
    """Accumulates seconds per named stage. With ``cuda=True`` the device is synchronised at
    both ends of a stage, so asynchronous kernels are charged to the stage that launched them."""

    def __init__(self, cuda: bool = False) -> None:
        self.cuda = cuda
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] += time.perf_counter() - start

    def _sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()


def percentiles_ms(per_clip_seconds: list[float] | np.ndarray) -> dict[str, float | None]:
    values = np.asarray(per_clip_seconds, dtype=float) * 1000
    if values.size == 0:
        return {"p50": None, "p95": None, "mean": None}
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p95": round(float(np.percentile(values, 95)), 3),
        "mean": round(float(values.mean()), 3),
    }
