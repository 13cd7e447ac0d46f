"""Nested configuration dicts as flat dotted keys, to say which settings two runs differ in."""

from __future__ import annotations


def flat_settings(node: object, prefix: str = "") -> dict[str, object]:
    """{"finetune": {"lora": {"r": 16}}} -> {"finetune.lora.r": 16}; an empty section stays a key."""
    if isinstance(node, dict):
        flat: dict[str, object] = {}
        for key, value in node.items():
            flat.update(flat_settings(value, f"{prefix}{key}."))
        return flat or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): node}


def changed_keys(before: dict[str, object], now: dict[str, object]) -> list[str]:
    """The flat keys whose values differ (or exist on one side only), sorted."""
    return sorted(key for key in before.keys() | now.keys() if before.get(key) != now.get(key))
