"""Offline rehearsals: each row's real model replaced by a tiny random checkpoint of its family.

``model.stand_in_dir`` (the smoke overlay sets it) keeps every row's own ``model.name_or_path``
(Qwen2-Audio for a1, Qwen3-Omni for c1, ...) and loads ``<stand_in_dir>/<family>`` instead: the
family is ``model.family``, or the one the hub id is known to belong to
(qwen_vad.models.families.FAMILIES). A local folder given explicitly (``model.name_or_path=<a tiny
folder>``, as tests do) is used as it is. The pipeline builds the stand-ins its steps need
(``pipeline.build_tiny_checkpoint``); the report says which real model each one stands in for.

Pure path logic, no model code: the report reads resolved paths from old runs' configs with it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qwen_vad.config import ModelConfig
from qwen_vad.errors import ConfigError
from qwen_vad.models.families import FAMILIES, family_for_checkpoint_id


def stand_in_family(name_or_path: str, family: str | None, stand_in_dir: str | None) -> str | None:
    """The family whose stand-in replaces ``name_or_path``, or None when it is loaded as given."""
    if not stand_in_dir or Path(str(name_or_path)).expanduser().exists():
        return None
    chosen = family or family_for_checkpoint_id(str(name_or_path))
    if chosen is None:
        known = ", ".join(c for entry in FAMILIES.values() for c in entry.checkpoints)
        raise ConfigError(
            f"model.stand_in_dir is set, but model.name_or_path={name_or_path!r} is neither a local folder nor a known "
            f"checkpoint ({known}); set model.family to choose its stand-in"
        )
    if chosen not in FAMILIES:
        raise ConfigError(f"unknown model family {chosen!r}; choose one of {', '.join(FAMILIES)} (model.family)")
    return chosen


def stand_in_folder(name_or_path: str, family: str | None, stand_in_dir: str | None) -> Path | None:
    chosen = stand_in_family(name_or_path, family, stand_in_dir)
    return None if chosen is None else Path(str(stand_in_dir)) / chosen


def resolve_stand_in(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` loading its stand-in (with the family set), or ``cfg`` itself when none applies."""
    chosen = stand_in_family(cfg.name_or_path, cfg.family, cfg.stand_in_dir)
    if chosen is None:
        return cfg
    return dataclasses.replace(cfg, name_or_path=str(Path(str(cfg.stand_in_dir)) / chosen), family=chosen, stand_in_dir=None)


def checkpoint_loaded(model_cfg) -> str:
    """The checkpoint a run's ``model`` section loads (its stand-in, if any); for configs read
    back from run folders too, where older runs lack the family keys."""
    name_or_path = str(model_cfg.name_or_path)
    folder = stand_in_folder(name_or_path, getattr(model_cfg, "family", None), getattr(model_cfg, "stand_in_dir", None))
    return name_or_path if folder is None else str(folder)
