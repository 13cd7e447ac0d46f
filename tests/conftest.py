"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from qwen_vad.models.tiny import build_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight tiny Qwen2-Audio checkpoint folder, built once per test session (~1 s)."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("checkpoints") / "tiny", size="tiny", seed=0)


@pytest.fixture(scope="module")
def single_torch_thread() -> Iterator[None]:
    """One torch thread for a module's training runs: on a busy 2-core runner two threads spin
    against each other (a tiny-model training step measured 20x slower); results are the same."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
