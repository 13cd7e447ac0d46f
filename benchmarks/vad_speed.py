"""Real-time factors (processing time / audio time) of the classic VADs on the smoke dataset
(built into a temporary folder: 1,200 clips of 200-1000 ms), side by side in one run."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_result
from qwen_vad.audio.io import load_audio
from qwen_vad.cli import compose_config
from qwen_vad.data.builder import build_dataset
from qwen_vad.scoring.systems import SYSTEMS, VAD, make_scorer

VADS = [name for name, entry in SYSTEMS.items() if entry.kind == VAD]  # every registered baseline


def main() -> None:
    cfg, _ = compose_config(["exp=smoke"])
    with tempfile.TemporaryDirectory() as tmp:
        result = build_dataset(cfg.data, cfg.data.seed, Path(tmp) / "smoke")
        clips = [load_audio(Path(tmp) / "smoke" / p) for p in result.manifest["path"]]
    audio_seconds = sum(c.size for c in clips) / 16000
    factors = {}
    for system in VADS:
        scorer = make_scorer(dataclasses.replace(cfg, evaluate=dataclasses.replace(cfg.evaluate, system=system)))
        scorer.score(clips[:8])  # warm-up (model load, first-call costs)
        start = time.perf_counter()
        for i in range(0, len(clips), scorer.batch_size):
            scorer.score(clips[i : i + scorer.batch_size])
        factors[scorer.system] = round((time.perf_counter() - start) / audio_seconds, 5)
    write_result("vad_speed", {"clips": len(clips), "audio_seconds": round(audio_seconds, 1), "real_time_factor": factors})


if __name__ == "__main__":
    main()
