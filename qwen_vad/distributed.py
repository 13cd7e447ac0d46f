"""Stages started by a multi-process launcher (``accelerate launch``, ``torchrun``): one run folder.

Every process of a data-parallel launch runs the same stage command. Rank 0 creates the run
folder and sends its path to the others, so all ranks write into the same folder and the run
stays one run; rank 0 writes ``log.txt``, the run's outputs and its final status, every other
rank logs to ``log.rank<N>.txt``. Fine-tuning shares out training steps, scoring shares out
batches of clips (qwen_vad.scoring.sharding) and gathers their results on every rank, so all
ranks take the same decisions. A plain ``python -m`` command is a world of one process and none
of this applies (torch.distributed is not even imported).
"""

from __future__ import annotations

import os
import pickle
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


def process_device(device: str) -> str:
    """The device this process works on: under a multi-process launch a plain "cuda" becomes the
    process's own GPU (``cuda:LOCAL_RANK``); an explicit "cuda:N" or "cpu" is kept as asked."""
    if device == "cuda" and world_size() > 1:
        return f"cuda:{local_rank()}"
    return device


def join_process_group() -> None:
    """Set up the launch's process group once (a no-op when it exists): NCCL on GPUs, gloo on CPUs."""
    import torch
    from accelerate import PartialState

    # accelerate sets up the group here and the trainer reuses it later; CPU-only machines need
    # cpu=True or accelerate sees no distribution.
    PartialState(cpu=not torch.cuda.is_available())
    if torch.cuda.is_available():
        # NCCL moves pickled objects through the current CUDA device: it must be this rank's GPU.
        torch.cuda.set_device(local_rank())


def share_from_main(make: Callable[[], T]) -> T:
    """``make()`` evaluated on rank 0 only, its (picklable) result given to every rank. When it
    raises, every rank raises the same error, so no rank waits for a result that never comes."""
    if world_size() == 1:
        return make()
    import torch

    join_process_group()
    shared: list[object] = [None]
    if is_main_process():
        try:
            shared = [(True, make())]
        except BaseException as err:  # noqa: BLE001 - re-raised here and on every other rank
            shared = [(False, _sendable(err))]
            torch.distributed.broadcast_object_list(shared, src=0)
            raise
    torch.distributed.broadcast_object_list(shared, src=0)
    succeeded, value = shared[0]
    if not succeeded:
        raise value
    return value


def gather_from_all(value: T) -> list[T]:
    """Every rank's ``value`` (picklable), in rank order, on every rank; ``[value]`` in one process."""
    if world_size() == 1:
        return [value]
    import torch

    join_process_group()
    gathered: list[object] = [None] * world_size()
    torch.distributed.all_gather_object(gathered, value)
    return gathered


def wait_for_all_ranks() -> None:
    """Return once every rank got here (what rank 0 wrote before is then there for all)."""
    if world_size() == 1:
        return
    import torch

    join_process_group()
    torch.distributed.barrier()


def _sendable(err: BaseException) -> BaseException:
    """``err`` if it survives pickling (it crosses processes), else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:  # noqa: BLE001 - any failure to round-trip means: send the text
        return RuntimeError(f"{type(err).__name__}: {err}")
