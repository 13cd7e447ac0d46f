"""Peak memory of a block of work: CUDA's allocator statistics, or the CPU process's resident peak.

CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``: every tensor the
block holds at its worst moment (the model's weights included), exactly, per device.

CPU: the kernel's resident high-water mark (VmHWM in /proc/self/status), reset at the start of
the block by writing 5 to /proc/self/clear_refs (Linux >= 4.0). torch's CPU tensors live in
memory that malloc returns to the kernel only sometimes, so resident memory is the only
complete measure: tracemalloc sees Python's own allocations and not torch's, torch keeps no
statistics for its CPU allocator, and ``getrusage``'s ru_maxrss cannot be reset (it would
report the peak of loading the model, not of the block). The figure is only comparable between
fresh processes: in a process where earlier work already grew the heap, the block reuses that
memory and its peak above the start shrinks towards zero (the artefact this replaces).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def resident_bytes(field: str = "VmRSS") -> int | None:
    """This process's resident memory (VmRSS) or its high-water mark (VmHWM), in bytes; None
    where /proc is not available."""
    try:
        found = re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


class PeakMemory:
    """``with PeakMemory(device) as peak: ...``; then ``peak.bytes`` (None if not measurable)
    and ``peak.start_bytes`` (what was in use when the block began)."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.start_bytes: int | None = None
        self.bytes: int | None = None
        self.kind = "cuda max_memory_allocated" if self.cuda else "resident high-water mark (VmHWM), reset at the start"

    def __enter__(self) -> PeakMemory:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start_bytes = torch.cuda.memory_allocated()
        else:
            self._resettable = _reset_high_water_mark()
            self.start_bytes = resident_bytes("VmRSS")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.cuda:
            torch.cuda.synchronize()
            self.bytes = torch.cuda.max_memory_allocated()
        elif self._resettable:
            self.bytes = resident_bytes("VmHWM")


def _reset_high_water_mark() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return resident_bytes("VmHWM") is not None


def megabytes(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)
