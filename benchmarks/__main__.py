"""``python -m benchmarks [NAME ...]``: run the benchmarks (all by default); JSON in benchmarks/out/."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("data_build", "scoring_speed", "vad_speed", "opro_audio_cache", "finetune_speed", "psychometric_validation")


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; valid: {', '.join(BENCHMARKS)}")
    for name in names or BENCHMARKS:
        print(f"== {name}")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
