"""Audio-LLM families: what differs between Qwen2-Audio, Qwen2.5-Omni and Qwen3-Omni.

Everything model-specific (classes, processor, chat rendering, audio-token arithmetic, the
short-clip encoder, LoRA scope, 4-bit skips, the OPRO audio cache, the tiny stand-in) lives in
one adapter object per family (``qwen_vad.models.families.<name>.FAMILY``, a
``qwen_vad.models.families.base.ModelFamily``); the rest of the harness asks that object. This
module is the one table of families and the lookups on it; it imports no model code, so config
resolution and the report can use it without loading torch.

A checkpoint's family is read from its config.json ``model_type`` (a thinker folder's type or a
full Omni model's, from which the thinker is loaded), unless ``model.family`` names it. Adding a
family: a module beside this one and one row below (docs/families.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from qwen_vad.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from qwen_vad.models.families.base import ModelFamily


@dataclass(frozen=True)
class FamilyEntry:
    adapter: str  # "module:attribute" of the family's ModelFamily object, imported on first use
    model_types: tuple[str, ...]  # config.json model_type values of its checkpoints
    checkpoints: tuple[str, ...]  # hub ids of the real models (the first: what its tiny stand-in stands for)


FAMILIES: dict[str, FamilyEntry] = {
    "qwen2_audio": FamilyEntry(
        "qwen_vad.models.families.qwen2_audio:FAMILY",
        ("qwen2_audio",),
        ("Qwen/Qwen2-Audio-7B-Instruct", "Qwen/Qwen2-Audio-7B"),
    ),
    "qwen2_5_omni": FamilyEntry(
        "qwen_vad.models.families.qwen2_5_omni:FAMILY",
        ("qwen2_5_omni", "qwen2_5_omni_thinker"),
        ("Qwen/Qwen2.5-Omni-7B", "Qwen/Qwen2.5-Omni-3B"),
    ),
    "qwen3_omni": FamilyEntry(
        "qwen_vad.models.families.qwen3_omni:FAMILY",
        ("qwen3_omni_moe", "qwen3_omni_moe_thinker"),
        ("Qwen/Qwen3-Omni-30B-A3B-Instruct", "Qwen/Qwen3-Omni-30B-A3B-Thinking", "Qwen/Qwen3-Omni-30B-A3B-Captioner"),
    ),
}
DEFAULT_FAMILY = "qwen2_audio"  # what `python -m qwen_vad.models.tiny` builds unless told otherwise


def family_named(name: str) -> ModelFamily:
    """The adapter object of family ``name``."""
    if name not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)} (model.family)")
    module, _, attribute = FAMILIES[name].adapter.partition(":")
    return getattr(importlib.import_module(module), attribute)


def family_for_model_type(model_type: str | None, where: str) -> str:
    """The family whose checkpoints have this config.json ``model_type`` (``where`` names the checkpoint)."""
    for name, entry in FAMILIES.items():
        if model_type in entry.model_types:
            return name
    known = ", ".join(t for entry in FAMILIES.values() for t in entry.model_types)
    raise ConfigError(
        f"{where}: model_type {model_type!r} is not a known audio-LLM family (known: {known}); "
        f"set model.family to one of {', '.join(FAMILIES)} if it loads like one of them"
    )


def family_for_checkpoint_id(hub_id: str) -> str | None:
    """The family of a known real checkpoint (hub id, case-insensitive), or None."""
    wanted = hub_id.strip("/").lower()
    for name, entry in FAMILIES.items():
        if wanted in (c.lower() for c in entry.checkpoints):
            return name
    return None


# The family each loaded model was loaded as (load_model records it, model.family included), so
# code holding only the model asks the same adapter; keyed weakly, so models are freed as usual.
_LOADED_AS: WeakKeyDictionary = WeakKeyDictionary()


def remember_family(model: nn.Module, family: ModelFamily) -> None:
    _LOADED_AS[base_model(model)] = family


def family_of(model: nn.Module) -> ModelFamily:
    """The family ``model`` (bare or PEFT-wrapped) was loaded as, else the one its config names."""
    base = base_model(model)
    if base in _LOADED_AS:
        return _LOADED_AS[base]
    model_type = getattr(getattr(base, "config", None), "model_type", None)
    return family_named(family_for_model_type(model_type, type(base).__name__))


def base_model(model: nn.Module) -> nn.Module:
    """The transformers model inside a PeftModel (the model itself otherwise)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model
