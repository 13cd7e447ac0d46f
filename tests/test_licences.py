"""The licence table the report's provenance reads, and the notices it points to."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from qwen_vad import licences as L
from qwen_vad.models.tiny import BUILD_STAMP
from qwen_vad.scoring.systems import SYSTEMS, VAD, ScoringSystem

REPO = Path(__file__).resolve().parents[1]


def test_checkpoints_are_recognised_by_hub_id_local_folder_or_hub_cache(tmp_path: Path) -> None:
    cache = tmp_path / "hub" / "models--Qwen--Qwen2-Audio-7B-Instruct" / "snapshots" / "0a0952"
    for name in ("Qwen/Qwen2-Audio-7B-Instruct", "/models/qwen2-audio-7b-instruct/", str(cache)):
        assert L.checkpoint_name(name).lower() == "qwen2-audio-7b-instruct"
        assert L.checkpoint_licence(name).terms == "Apache-2.0"
    assert L.checkpoint_licence("Qwen/Qwen3-Omni-30B-A3B-Instruct").source.endswith("Qwen3-Omni-30B-A3B-Instruct")
    assert L.checkpoint_licence("/models/my-own-audio-llm").terms == L.UNKNOWN_LICENCE


def test_the_tiny_checkpoint_is_the_projects_own(tiny_checkpoint: Path) -> None:
    assert L.TINY_STAMP == BUILD_STAMP
    assert L.checkpoint_licence(str(tiny_checkpoint)) == L.TINY_LICENCE


def test_every_vad_system_states_its_licence() -> None:
    vads = {name: entry for name, entry in SYSTEMS.items() if entry.kind == VAD}
    assert set(vads) == {"webrtc", "silero", "energy", "ten_vad"}
    assert vads["silero"].licence.terms == "MIT" and all(entry.licence.source for entry in vads.values())
    with pytest.raises(ValueError, match="licence"):
        ScoringSystem("some.module:factory", VAD, "a VAD without terms")


def test_notices_name_every_dependency_and_the_project_licence() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    notices = (REPO / "THIRD_PARTY_NOTICES.md").read_text().lower()
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group().lower() for r in requirements}
    assert not [name for name in sorted(names) if name not in notices]
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (REPO / "LICENSE").read_text() and "Version 2.0, January 2004" in (REPO / "LICENSE").read_text()
