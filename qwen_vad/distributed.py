"""Stages started by a multi-process launcher (``accelerate launch``, ``torchrun``): one run folder.

Every process of a data-parallel launch runs the same stage command. Rank 0 creates the run
folder and sends its path to the others, so all ranks write checkpoints into the same folder
and the run stays one run; rank 0 writes ``log.txt`` and the run's final status, every other
rank logs to ``log.rank<N>.txt``. A plain ``python -m`` command is a world of one process and
none of this applies (torch is not even imported).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def world_size() -> int:
    """Processes in the launch: the WORLD_SIZE variable torchrun (and accelerate) set, else 1."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def process_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """This process's index on its machine, which is also its GPU index."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    return process_rank() == 0


def log_file_name() -> str:
    return "log.txt" if is_main_process() else f"log.rank{process_rank()}.txt"


def share_from_main(make: Callable[[], T]) -> T:
    """``make()`` evaluated on rank 0 only, its (picklable) result given to every rank."""
    if world_size() == 1:
        return make()
    import torch
    from accelerate import PartialState

    # accelerate sets up the launch's process group here (NCCL on GPUs, gloo on CPUs) and the
    # trainer reuses it later; CPU-only machines need cpu=True or accelerate sees no distribution.
    PartialState(cpu=not torch.cuda.is_available())
    shared = [make() if is_main_process() else None]
    torch.distributed.broadcast_object_list(shared, src=0)
    return shared[0]
