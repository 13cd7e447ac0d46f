"""Progress bars for long work: shown on a terminal, silent in logs and CI."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(total: int, desc: str, unit: str = "clip", visible: bool = True) -> tqdm:
    # disable=None turns the bar off when stderr is not a terminal, so logs get the
    # stage's own summary lines rather than thousands of carriage-return updates.
    # visible=False: a bar nobody should see (the other ranks of a multi-process launch).
    return tqdm(total=total, desc=desc, unit=unit, disable=None if visible else True, file=sys.stderr, dynamic_ncols=True)
