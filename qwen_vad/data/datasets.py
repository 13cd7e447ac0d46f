"""The two roles a dataset plays in a run, and how a stage opens each.

* The **evaluation set** (``data``): every row of the comparison matrix is scored on its test
  split, with the decision threshold and the calibration temperature learned on its full dev
  split. Fine-tuning also selects its best adapter on that dev split.
* The **training set** (``train_data``): what a system is trained (finetune) or searched (opro)
  on, its train split. ``train_data`` holds only what it changes relative to ``data`` (B1/B2:
  a small set), so it keeps the evaluation set's corpora, hygiene and axes; null means the
  evaluation set's own train split (B3, B4, A2). A separate training set is built from groups
  that are not in the evaluation set's dev or test splits, and a cross-dataset leakage audit
  checks that on every build and every time a stage opens it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from qwen_vad.config import Config, DataConfig, PathsConfig, apply_changes
from qwen_vad.data.manifest import read_manifest
from qwen_vad.data.splits import audit_cross_leakage, held_out_groups
from qwen_vad.data.store import build_record, dataset_dir, existing_build, require_built
from qwen_vad.errors import ConfigError

# The evaluation set's splits a training set must not share material with.
HELD_OUT_SPLITS = ("dev", "test")

__all__ = ["HELD_OUT_SPLITS", "Dataset", "held_out_groups", "open_evaluation_set", "open_training_set", "training_data_config"]


class TrainingDataError(ConfigError):
    """``train_data`` cannot make a training set (e.g. it would share the evaluation set's folder)."""


@dataclass(frozen=True)
class Dataset:
    """A built dataset folder, opened: its configuration, manifest and build fingerprint."""

    config: DataConfig
    folder: Path
    manifest: pd.DataFrame
    fingerprint: str

    def split(self, name: str) -> pd.DataFrame:
        return self.manifest[self.manifest["split"] == name].reset_index(drop=True)


def has_separate_training_set(cfg: Config) -> bool:
    """Whether ``train_data`` changes anything (else the evaluation set's train split trains)."""
    return any(getattr(cfg.train_data, f.name) is not None for f in dataclasses.fields(cfg.train_data))


def training_data_config(cfg: Config) -> DataConfig:
    """``data`` with ``train_data``'s changes applied (``data`` itself when there are none)."""
    if not has_separate_training_set(cfg):
        return cfg.data
    if cfg.train_data.name is None:
        raise TrainingDataError(
            "train_data changes the training set but gives it no name: set train_data.name, so the "
            "training set gets a dataset folder of its own"
        )
    training = apply_changes(cfg.data, cfg.train_data)
    if training.name == cfg.data.name:
        raise TrainingDataError(
            f"train_data.name: the training set needs a name of its own (it is {training.name!r}, the "
            "evaluation set's name), so the two datasets get separate folders"
        )
    return training


def evaluation_record(cfg: Config) -> dict:
    return build_record(cfg.data)


def training_record(cfg: Config) -> dict:
    """A separate training set's build record names the evaluation build it was held out from:
    rebuilding the evaluation set with another configuration makes the training set stale."""
    return build_record(training_data_config(cfg), held_out_from=_held_out_from(evaluation_record(cfg), cfg.data.name))


def open_evaluation_set(cfg: Config) -> Dataset:
    return _open(cfg.data, cfg.paths, evaluation_record(cfg), role="the evaluation set, data")


def open_training_set(cfg: Config) -> Dataset:
    """The dataset whose train split trains or searches; a separate one is audited against the
    evaluation set's dev and test splits every time it is opened."""
    if not has_separate_training_set(cfg):
        return open_evaluation_set(cfg)
    training = _open(training_data_config(cfg), cfg.paths, training_record(cfg), role="the training set, train_data")
    audit_cross_leakage(training.split("train"), open_evaluation_set(cfg).manifest, HELD_OUT_SPLITS)
    return training


def _held_out_from(record: dict, name: str) -> dict:
    return {"name": name, "fingerprint": record["fingerprint"], "splits": list(HELD_OUT_SPLITS)}


def _open(data: DataConfig, paths: PathsConfig, record: dict, role: str) -> Dataset:
    folder = dataset_dir(paths.data_dir, data.name)
    require_built(folder, record, f"{data.name} ({role})")
    return Dataset(config=data, folder=folder, manifest=read_manifest(folder), fingerprint=existing_build(folder)["fingerprint"])
