"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwen_vad.models.tiny import build_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight tiny Qwen2-Audio checkpoint folder, built once per test session (~1 s)."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("checkpoints") / "tiny", size="tiny", seed=0)
