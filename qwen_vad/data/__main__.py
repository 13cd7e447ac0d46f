"""``python -m qwen_vad.data exp=NAME``: build the datasets an experiment uses.

The evaluation set (``data``) goes to ``<paths.data_dir>/<data.name>/`` (audio, manifest,
report, build.json); an experiment with a separate training set (``train_data``, B1/B2) also
gets ``<paths.data_dir>/<train_data.name>/``, built after the evaluation set from groups that
are not in its dev or test splits. The run folder keeps the reports and the log. A dataset
already built from the same configuration is reused.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from qwen_vad.cli import stage_main
from qwen_vad.config import Config, DataConfig
from qwen_vad.data.builder import build_dataset
from qwen_vad.data.datasets import (
    evaluation_record,
    has_separate_training_set,
    held_out_groups,
    open_evaluation_set,
    open_training_set,
    training_data_config,
    training_record,
)
from qwen_vad.data.export import export_hf
from qwen_vad.data.report import build_report, write_report
from qwen_vad.data.store import abandon_build, dataset_dir, finish_build, is_built, start_build
from qwen_vad.runs import Run

log = logging.getLogger("qwen_vad.data")

RECORD_FILES = ("report.json", "report.md", "build.json")
TRAINING_SET_FOLDER = "training_set"  # in the run folder: the training set's reports


def build(cfg: Config, run: Run) -> None:
    evaluation = build_folder(cfg.data, cfg.paths.data_dir, evaluation_record(cfg), cfg.force)
    keep_records(evaluation, run.dir)
    if has_separate_training_set(cfg):
        held_out = held_out_groups(open_evaluation_set(cfg).manifest)
        training = build_folder(training_data_config(cfg), cfg.paths.data_dir, training_record(cfg), cfg.force, held_out)
        open_training_set(cfg)  # the cross-dataset leakage audit, on what was just built
        keep_records(training, run.path(TRAINING_SET_FOLDER))


def build_folder(data: DataConfig, data_dir: str, record: dict, force: bool, excluded_groups: frozenset[str] = frozenset()) -> Path:
    """``<data_dir>/<data.name>``, built unless a build of exactly ``record`` is there."""
    folder = dataset_dir(data_dir, data.name)
    if not force and is_built(folder, record):
        log.info("dataset %s is already built from this configuration; reusing it", folder)
        return folder
    partial = start_build(folder)
    try:
        result = build_dataset(data, data.seed, partial, excluded_groups)
        write_report(build_report(result, data, data.name), partial)
        if data.export_hf:
            export_hf(partial, result.manifest)
    except BaseException:
        abandon_build(partial)
        raise
    finish_build(partial, folder, record)
    log.info("built %d clips into %s in %.1f s", len(result.manifest), folder, result.seconds)
    return folder


def keep_records(folder: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    for name in RECORD_FILES:
        shutil.copy2(folder / name, into / name)
    (into / "dataset.txt").write_text(f"{folder.resolve()}\n")


main = stage_main("data")(build)

if __name__ == "__main__":
    main()
