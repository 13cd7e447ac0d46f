"""Time-boxed repetition: warm up, then repeat until enough runs and seconds, never past a cap.

A fixed repeat count either wastes minutes on a slow case or measures noise on a fast one; a
time box gives every case a few warm-up runs, then at least ``min_runs`` runs over at least
``min_seconds``, and stops at ``max_runs`` or ``max_seconds``, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class TimeBox:
    warmup: int = 1
    min_runs: int = 2
    max_runs: int = 50
    min_seconds: float = 2.0
    max_seconds: float = 6.0


@dataclass
class Timed:
    seconds: list[float]  # wall time of each timed run
    results: list  # what each timed run returned

    @property
    def total(self) -> float:
        return sum(self.seconds)


def run_time_boxed(run: Callable[[], T], box: TimeBox, synchronize: Callable[[], None] = lambda: None) -> Timed:
    """Run ``run`` ``box.warmup`` times untimed, then time it as the box allows. ``synchronize``
    (e.g. torch.cuda.synchronize) is called around each timed run, so asynchronous work is
    charged to the run that launched it."""
    for _ in range(box.warmup):
        run()
    timed = Timed(seconds=[], results=[])
    while True:
        synchronize()
        started = time.perf_counter()
        result = run()
        synchronize()
        timed.seconds.append(time.perf_counter() - started)
        timed.results.append(result)
        runs, total = len(timed.seconds), timed.total
        if runs >= box.max_runs or total >= box.max_seconds:
            return timed
        if runs >= box.min_runs and total >= box.min_seconds:
            return timed


class Deadline:
    """The whole benchmark's wall-clock budget: later measurements are skipped, with a reason,
    once too little of it is left for them."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.started = seconds, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def allows(self, needed_seconds: float) -> bool:
        return self.remaining() >= needed_seconds

    def skip_reason(self, needed_seconds: float) -> str:
        return (
            f"skipped: {self.remaining():.0f} s of the {self.seconds:.0f}-s budget left, "
            f"{needed_seconds:.0f} s needed"
        )
