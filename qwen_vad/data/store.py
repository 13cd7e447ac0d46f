"""Dataset folders: built once per configuration, never silently replaced.

A build writes into ``<name>.partial-<stamp>`` and renames it into place only when complete,
so an interrupted build never leaves a half dataset behind. ``build.json`` records the data
configuration and seed; rebuilding with the same ones is a no-op, with different ones an
error (or, with ``force=true``, the old folder is kept as ``<name>.replaced-<stamp>``). The
configuration is recorded with the sources actually used (``effective_sources``): the default,
empty ``data.sources`` is recorded as the synthetic source it stands for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from pathlib import Path

from omegaconf import OmegaConf

from qwen_vad.config import DataConfig
from qwen_vad.data.sources.registry import effective_sources
from qwen_vad.errors import MissingInputError, UserError
from qwen_vad.settings import changed_keys, flat_settings

BUILD_RECORD = "build.json"


class DatasetExistsError(UserError, FileExistsError):
    """A dataset folder that holds something other than a build of this configuration."""


class DatasetNotBuiltError(MissingInputError):
    """A stage needs a dataset that has not been built (from this configuration)."""


def dataset_dir(data_dir: str | Path, name: str) -> Path:
    return Path(data_dir) / name


def build_record(cfg: DataConfig, **inputs: object) -> dict:
    """What build.json records; its fingerprint identifies the build. ``inputs``: anything else
    the dataset depends on (JSON values), e.g. the fingerprint of the evaluation set whose
    dev/test groups a training set leaves out; they are part of the fingerprint. Without
    inputs the record is the data configuration alone."""
    used = dataclasses.replace(cfg, sources=effective_sources(cfg.sources))
    config = OmegaConf.to_container(OmegaConf.structured(used), resolve=True)
    identity = {**config, "inputs": inputs} if inputs else config
    record = {
        "fingerprint": hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16],
        "seed": cfg.seed,
        "data": config,
    }
    return {**record, "inputs": inputs} if inputs else record


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
    differences = changed_keys(
        flat_settings({"data": existing["data"], "inputs": existing.get("inputs", {})}),
        flat_settings({"data": record["data"], "inputs": record.get("inputs", {})}),
    )
    raise DatasetExistsError(
        f"{folder} was built from a different configuration (differs in: {', '.join(differences)}). "
        "Use another data.name, or force=true to rebuild (the old folder is kept beside it)."
    )


def require_built(folder: Path, record: dict, name: str) -> None:
    """For stages that read a dataset: fail with the command to build it when it is not built."""
    if not is_built(folder, record):
        raise DatasetNotBuiltError(
            f"{folder}: dataset {name!r} is not built; run `python -m qwen_vad.data exp=...` with the same experiment first"
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
