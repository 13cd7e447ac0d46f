"""``python -m benchmarks [NAME ...] [--option ...]``: run the benchmarks (all by default); JSON in
benchmarks/out/. Options after a single NAME go to that benchmark (``python -m benchmarks gpu
--geometry tiny --device cpu``)."""

from __future__ import annotations

import importlib
import sys

# gpu last: on a machine without CUDA it only says that it needs one.
BENCHMARKS = ("data_build", "scoring_speed", "vad_speed", "opro_audio_cache", "finetune_speed", "psychometric_validation", "gpu")


def main(argv: list[str]) -> None:
    first_option = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:first_option], argv[first_option:]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; valid: {', '.join(BENCHMARKS)}")
    if options and len(names) != 1:
        raise SystemExit(f"options {options} need exactly one benchmark name before them")
    selected = names or BENCHMARKS
    for name in selected:
        if len(selected) > 1:
            print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        module.main(options) if options else module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
