"""Where the audio LLM runs (``model.backend``), in one table of lazy ``"module:class"`` entries.

  local   the model loaded in this process (qwen_vad.models.loader), scored by
          qwen_vad.decoding.LLMScorer; OPRO encodes each clip's audio once (qwen_vad.opro.audio_cache)
  server  an OpenAI-compatible chat-completions server holds the model (vLLM, or
          ``python -m qwen_vad.models.serve``): qwen_vad.serving.scorers; docs/serving.md

A backend gives the scorer of a prompt (evaluate, and the protocol's final scoring of the other
stages) and OPRO's prompt scorer (many prompts on the same clips). Its ``model`` and
``processor`` are the in-process model's, None when a server holds it.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.errors import ConfigError
from qwen_vad.prompts import PromptTemplate
from qwen_vad.scoring.base import Scorer

BACKENDS: dict[str, str] = {
    "local": "qwen_vad.scoring.backends:LocalBackend",
    "server": "qwen_vad.serving.scorers:ServerBackend",
}
LOCAL = "local"


class PromptScorer(Protocol):
    """p_speech of (prompt, clips) for many prompts on one set of clips (OPRO's search)."""

    decoding: DecodingConfig

    def score(self, template: PromptTemplate, clip_ids: Sequence[str]) -> np.ndarray: ...


class LLMBackend(Protocol):
    model: object | None
    processor: object | None

    def scorer(self, template: PromptTemplate, decoding: DecodingConfig, system: str) -> Scorer: ...

    def prompt_scorer(self, decoding: DecodingConfig, audio: dict[str, np.ndarray]) -> PromptScorer: ...


def open_backend(cfg: ModelConfig) -> LLMBackend:
    """The backend ``model.backend`` names, opened (local: the model loaded; server: reached)."""
    if cfg.backend not in BACKENDS:
        close = difflib.get_close_matches(cfg.backend, list(BACKENDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"model.backend: unknown backend {cfg.backend!r}{hint}; valid: {', '.join(BACKENDS)}")
    module, _, name = BACKENDS[cfg.backend].partition(":")
    return getattr(importlib.import_module(module), name)(cfg)


def require_local_model(cfg: ModelConfig, stage: str) -> None:
    """Stages that change the model (fine-tuning) need it in this process."""
    if cfg.backend != LOCAL:
        raise ConfigError(f"model.backend={cfg.backend}: the {stage} stage trains the model in this process; run it with "
                          "model.backend=local, then serve the adapter to score it through a server (docs/serving.md)")  # fmt: skip


class LocalBackend:
    """The model in this process."""

    def __init__(self, cfg: ModelConfig) -> None:
        from qwen_vad.models.loader import load_model

        self.model, self.processor = load_model(cfg)

    def scorer(self, template: PromptTemplate, decoding: DecodingConfig, system: str) -> Scorer:
        from qwen_vad.decoding import LLMScorer

        return LLMScorer(self.model, self.processor, template, decoding, system)

    def prompt_scorer(self, decoding: DecodingConfig, audio: dict[str, np.ndarray]) -> PromptScorer:
        from qwen_vad.opro.audio_cache import AudioCacheScorer

        return AudioCacheScorer(self.model, self.processor, decoding, audio)
