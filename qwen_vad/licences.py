"""The licence of every checkpoint the harness can score, for the report's provenance.

Checkpoints by name (the hub id's last part or the local folder's name, case-insensitive); a
VAD's licence is part of its entry in the systems registry (qwen_vad.scoring.systems). A local
checkpoint the table does not know is reported as unknown rather than guessed; the tiny random
checkpoint is this project's own. THIRD_PARTY_NOTICES.md holds the full list of what the
harness loads or installs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Written by qwen_vad.models.tiny into every checkpoint it builds (its BUILD_STAMP; not
# imported from there, since that module pulls in transformers).
TINY_STAMP = "qwen_vad_tiny_checkpoint.json"
PROJECT_LICENCE = "Apache-2.0"
UNKNOWN_LICENCE = "unknown — check the model card"


@dataclass(frozen=True)
class Licence:
    terms: str  # SPDX identifier, or a short description
    source: str  # where the terms are stated


CHECKPOINT_LICENCES: dict[str, Licence] = {
    name.lower(): Licence("Apache-2.0", f"https://huggingface.co/Qwen/{name}")
    for name in (
        "Qwen2-Audio-7B",
        "Qwen2-Audio-7B-Instruct",
        "Qwen2.5-Omni-7B",
        "Qwen3-Omni-30B-A3B-Instruct",
        "Qwen3-Omni-30B-A3B-Thinking",
        "Qwen3-Omni-30B-A3B-Captioner",
    )
}
TINY_LICENCE = Licence(f"{PROJECT_LICENCE} (this project's own random checkpoint)", "LICENSE")

# A hub cache folder: .../models--Qwen--Qwen2-Audio-7B-Instruct/snapshots/<hash>
_HUB_CACHE_FOLDER = re.compile(r"^models--[^/]+?--(?P<name>.+)$")


def checkpoint_name(name_or_path: str) -> str:
    """"Qwen2-Audio-7B-Instruct" for the hub id, a local copy's folder or a hub cache snapshot."""
    path = Path(str(name_or_path).rstrip("/"))
    for part in reversed(path.parts):
        match = _HUB_CACHE_FOLDER.match(part)
        if match:
            return match["name"]
    return path.name


def checkpoint_licence(name_or_path: str) -> Licence:
    if (Path(str(name_or_path)) / TINY_STAMP).is_file():
        return TINY_LICENCE
    return CHECKPOINT_LICENCES.get(checkpoint_name(name_or_path).lower(), Licence(UNKNOWN_LICENCE, ""))

