"""``python -m qwen_vad.data exp=NAME``: build the dataset an experiment uses.

The dataset goes to ``<paths.data_dir>/<data.name>/`` (audio, manifest, report, build.json);
the run folder keeps the report and the log. A dataset already built from the same
configuration is reused.
"""

from __future__ import annotations

import logging
import shutil

from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.data.builder import build_dataset
from qwen_vad.data.export import export_hf
from qwen_vad.data.report import build_report, write_report
from qwen_vad.data.store import abandon_build, build_record, dataset_dir, finish_build, is_built, start_build
from qwen_vad.runs import Run

log = logging.getLogger("qwen_vad.data")


def build(cfg: Config, run: Run) -> None:
    folder = dataset_dir(cfg.paths.data_dir, cfg.data.name)
    record = build_record(cfg.data)
    if not cfg.force and is_built(folder, record):
        log.info("dataset %s is already built from this configuration; reusing it", folder)
    else:
        partial = start_build(folder)
        try:
            result = build_dataset(cfg.data, cfg.data.seed, partial)
            write_report(build_report(result, cfg.data, cfg.data.name), partial)
            if cfg.data.export_hf:
                export_hf(partial, result.manifest)
        except BaseException:
            abandon_build(partial)
            raise
        finish_build(partial, folder, record)
        log.info("built %d clips into %s in %.1f s", len(result.manifest), folder, result.seconds)
    for name in ("report.json", "report.md", "build.json"):
        shutil.copy2(folder / name, run.path(name))
    run.path("dataset.txt").write_text(f"{folder.resolve()}\n")


main = stage_main("data")(build)

if __name__ == "__main__":
    main()
