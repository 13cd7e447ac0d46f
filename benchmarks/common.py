"""Shared helpers of the benchmarks: where results go and what they record."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from qwen_vad.runs import git_state, package_versions

OUT_DIR = Path(__file__).resolve().parent / "out"


def write_result(name: str, result: dict, out_dir: Path | None = None, echo: bool = True) -> Path:
    """Write ``<out_dir>/<name>.json`` (default benchmarks/out/) with the machine and code it was
    measured on; ``echo`` also prints the result."""
    out_dir = OUT_DIR if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        "git": git_state(),
        "packages": package_versions(),
        **result,
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    if echo:
        print(json.dumps(result, indent=2))
    print(f"written: {path}")
    return path
