"""Failures the user can fix, told apart from programming errors.

A stage that raises a ``UserError`` ends with one line on stderr, ``error: <message>``, and
exit code 2 (``qwen_vad.cli.stage_main``); ``HYDRA_FULL_ERROR=1`` shows the traceback as well.
Anything else is a bug and keeps its traceback. So a message must stand alone: what was
found, what was needed, and what to change (the key, file or folder to look at).

Each class is also the built-in exception the failure used to be (a missing corpus is still
a ``FileNotFoundError``), so callers that catch those keep working.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure caused by the configuration or the inputs, not by the code."""


class ConfigError(UserError, ValueError):
    """A bad experiment name, key or value; the message names the key and the valid choices."""


class MissingInputError(UserError, FileNotFoundError):
    """A corpus folder, metadata file, dataset, checkpoint or run folder that is not there."""


class BadInputError(UserError, ValueError):
    """An input that exists but cannot be used as configured (corpus metadata, a manifest, ...)."""


class MaterialShortage(UserError, RuntimeError):
    """The corpora cannot give what the data configuration asks for (a split, a cell, ...)."""


__all__ = ["BadInputError", "ConfigError", "MaterialShortage", "MissingInputError", "UserError"]
