"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from qwen_vad.models.tiny import build_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight tiny Qwen2-Audio checkpoint folder, built once per test session (~1 s)."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("checkpoints") / "tiny", size="tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_family_checkpoint(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny_family_checkpoint(family)``: the tiny checkpoint of any model family, each built at
    most once per test session (about a second each); qwen2_audio is ``tiny_checkpoint``."""
    built: dict[str, Path] = {"qwen2_audio": tiny_checkpoint}

    def checkpoint(family: str) -> Path:
        if family not in built:
            built[family] = build_tiny_checkpoint(tmp_path_factory.mktemp("checkpoints") / family, family=family)
        return built[family]

    return checkpoint


@pytest.fixture(scope="module")
def single_torch_thread() -> Iterator[None]:
    """One torch thread for a module's training runs: on a busy 2-core runner two threads spin
    against each other (a tiny-model training step measured 20x slower); results are the same."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
