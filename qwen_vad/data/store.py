"""Dataset folders: built once per configuration, never silently replaced.

A build writes into ``<name>.partial-<stamp>`` and renames it into place only when complete,
so an interrupted build never leaves a half dataset behind. ``build.json`` records the data
configuration and seed; rebuilding with the same ones is a no-op, with different ones an
error (or, with ``force=true``, the old folder is kept as ``<name>.replaced-<stamp>``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from omegaconf import OmegaConf

from qwen_vad.config import DataConfig
from qwen_vad.errors import UserError
from qwen_vad.settings import changed_keys, flat_settings

BUILD_RECORD = "build.json"


class DatasetExistsError(UserError, FileExistsError):
    pass


def dataset_dir(data_dir: str | Path, name: str) -> Path:
    return Path(data_dir) / name


def build_record(cfg: DataConfig, held_out_from: dict | None = None) -> dict:
    """What a build is made from: the data configuration and seed, and for a training set the
    evaluation build whose dev and test groups it leaves out (both enter the fingerprint)."""
    config = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)
    identity = config if held_out_from is None else {"data": config, "held_out_from": held_out_from}
    record = {
        "fingerprint": hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16],
        "seed": cfg.seed,
        "data": config,
    }
    if held_out_from is not None:
        record["held_out_from"] = held_out_from
    return record


def existing_build(folder: Path) -> dict | None:
    path = folder / BUILD_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def is_built(folder: Path, record: dict) -> bool:
    """True when ``folder`` holds a complete build of exactly this configuration."""
    existing = existing_build(folder)
    if existing is None and folder.exists():
        raise DatasetExistsError(f"{folder} exists but holds no {BUILD_RECORD}; move it away or choose another data.name")
    if existing is None:
        return False
    if existing["fingerprint"] == record["fingerprint"]:
        return True
    differences = changed_keys(flat_settings(existing["data"], "data."), flat_settings(record["data"], "data."))
    if existing.get("held_out_from") != record.get("held_out_from"):
        differences.append("held_out_from (the evaluation set it is held out from was rebuilt)")
    raise DatasetExistsError(
        f"{folder} was built from a different configuration (differs in: {', '.join(differences)}). "
        "Use another data.name, or force=true to rebuild (the old folder is kept beside it)."
    )


def start_build(folder: Path) -> Path:
    partial = folder.with_name(f"{folder.name}.partial-{time.strftime('%Y%m%d-%H%M%S')}")
    partial.mkdir(parents=True)
    return partial


def finish_build(partial: Path, folder: Path, record: dict) -> Path:
    (partial / BUILD_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    if folder.exists():
        folder.rename(folder.with_name(f"{folder.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"))
    partial.rename(folder)
    return folder


def abandon_build(partial: Path) -> None:
    shutil.rmtree(partial, ignore_errors=True)
