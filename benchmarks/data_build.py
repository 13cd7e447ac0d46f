"""Build the default smoke-size factorial set (4 durations x 5 SNRs x 2 classes x 30 = 1,200
clips) with hygiene, and time it. Target: under 2 minutes on a 2-core machine."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import write_result
from qwen_vad.cli import compose_config
from qwen_vad.data.builder import build_dataset

TARGET_SECONDS = 120.0


def main() -> None:
    cfg, _ = compose_config(["exp=smoke"])
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = build_dataset(cfg.data, cfg.data.seed, Path(tmp) / "smoke")
        seconds = time.perf_counter() - started
    write_result(
        "data_build",
        {
            "clips": len(result.manifest),
            "hygiene_rejections": sum(result.rejections.values()),
            "seconds": round(seconds, 1),
            "clips_per_second": round(len(result.manifest) / seconds, 1),
            "target_seconds": TARGET_SECONDS,
            "meets_target": seconds < TARGET_SECONDS,
        },
    )


if __name__ == "__main__":
    main()
