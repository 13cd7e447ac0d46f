"""User-facing failures: a bad input the user can fix, reported as one clean message."""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix (a bad config value, a missing corpus or dataset, too little
    material, an unreadable checkpoint). The message says what was found, what was needed and
    what to change; stages print it as one line, without a traceback."""
