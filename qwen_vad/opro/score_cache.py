"""Per-clip scores of every prompt already scored, so no prompt is scored twice on a clip.

The key is (prompt text and letter mapping, scorer identity, dataset fingerprint): the scorer
identity holds what changes the numbers (model, adapter, dtype, 4-bit, system prompt,
temperature, swapped-order averaging), and the fingerprint is the dataset's build record, so a
rebuilt dataset never reuses old scores. Entries are appended to a JSON-lines file in the run
folder, which a resumed run copies and reads back (rank 0 writes it; under a multi-process
launch every rank keeps the same scores in memory).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.distributed import is_main_process
from qwen_vad.prompts import PromptTemplate

SCORE_CACHE_FILE = "score_cache.jsonl"


def scorer_identity(model: ModelConfig, decoding: DecodingConfig, dataset_fingerprint: str) -> dict:
    """Everything besides the prompt that decides a clip's p_speech."""
    return {
        "model": model.name_or_path,
        "family": model.family,  # null: the one the checkpoint's config names
        "adapter": model.adapter,
        "dtype": model.dtype,
        "load_in_4bit": model.load_in_4bit,
        "system_prompt": decoding.system_prompt,
        "temperature": decoding.temperature,
        "swap_options": decoding.swap_options,
        "dataset": dataset_fingerprint,
    }


def cache_key(template: PromptTemplate, identity: dict) -> str:
    prompt = {"text": template.text, "speech": template.speech_option, "nonspeech": template.nonspeech_option}
    blob = json.dumps({"prompt": prompt, "scorer": identity}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class ScoreCache:
    """clip_id -> p_speech per cache key, backed by an append-only JSON-lines file."""

    def __init__(self, path: Path, identity: dict) -> None:
        self.path, self.identity = path, identity
        self._scores: dict[str, dict[str, float]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self._scores.setdefault(entry["key"], {}).update(zip(entry["clip_ids"], entry["p_speech"]))

    def missing(self, template: PromptTemplate, clip_ids: Sequence[str]) -> list[str]:
        known = self._scores.get(cache_key(template, self.identity), {})
        return [clip_id for clip_id in clip_ids if clip_id not in known]

    def lookup(self, template: PromptTemplate, clip_ids: Sequence[str]) -> np.ndarray:
        """Cached scores of these clips, in order; a KeyError names a clip never scored."""
        known = self._scores[cache_key(template, self.identity)]
        return np.array([known[clip_id] for clip_id in clip_ids], dtype=float)

    def store(self, template: PromptTemplate, clip_ids: Sequence[str], p_speech: np.ndarray) -> None:
        key = cache_key(template, self.identity)
        values = [float(p) for p in p_speech]
        self._scores.setdefault(key, {}).update(zip(clip_ids, values))
        if not is_main_process():
            return
        entry = {"key": key, "prompt_id": template.id, "clip_ids": list(clip_ids), "p_speech": values}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def scored_clip_ids(self) -> set[str]:
        """Every clip any prompt was scored on (what the test-data guard checks)."""
        return {clip_id for scores in self._scores.values() for clip_id in scores}
