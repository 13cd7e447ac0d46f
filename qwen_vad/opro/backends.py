"""Choosing the optimizer LLM (``opro.optimizer``): every backend answers ``propose``.

  openai    an OpenAI-compatible chat-completions server (qwen_vad.opro.openai_client)
  hf        a local transformers causal LM (qwen_vad.opro.local_lm)
  self      the scorer's own language model, text only (qwen_vad.opro.local_lm)
  scripted  the openai client against the scripted server, started here on localhost: the
            offline stand-in for smoke runs (qwen_vad.opro.scripted_server)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from transformers import PreTrainedModel, ProcessorMixin

from qwen_vad.errors import ConfigError
from qwen_vad.config import OproConfig
from qwen_vad.opro.local_lm import LazyHFOptimizer, LocalChatOptimizer
from qwen_vad.opro.openai_client import OpenAIChatOptimizer
from qwen_vad.opro.scripted_server import ScriptedOptimizerServer

OPTIMIZERS = ("openai", "hf", "self", "scripted")


class Optimizer(Protocol):
    name: str  # recorded in the history, e.g. "openai:Qwen/Qwen2.5-7B-Instruct"

    def propose(self, meta_prompt: str, n: int, step: int) -> list[str]:
        """``n`` raw replies to the meta-prompt (proposals between <PROMPT> tags, or not)."""


@contextmanager
def open_optimizer(cfg: OproConfig, seed: int, model: PreTrainedModel | None, processor: ProcessorMixin | None) -> Iterator[Optimizer]:
    """The configured optimizer, with whatever it needs (the scripted server) running meanwhile."""
    if cfg.optimizer == "openai":
        yield OpenAIChatOptimizer(cfg.openai, cfg.temperature, cfg.max_new_tokens)
    elif cfg.optimizer == "scripted":
        with ScriptedOptimizerServer() as server:
            local = dataclasses.replace(cfg.openai, base_url=server.base_url, model="scripted", api_key_env="")
            yield OpenAIChatOptimizer(local, cfg.temperature, cfg.max_new_tokens)
    elif cfg.optimizer == "hf":
        yield LazyHFOptimizer(cfg.hf, cfg.temperature, cfg.max_new_tokens, seed)
    elif cfg.optimizer == "self":
        if model is None:
            raise ConfigError("opro.optimizer=self proposes with the scorer's own model, but model.backend=server keeps it "
                              "on the scoring server; use opro.optimizer=openai with that server or another one (docs/opro.md)")  # fmt: skip
        yield LocalChatOptimizer("self", model, processor.tokenizer, processor, cfg.temperature, cfg.max_new_tokens, seed)
    else:
        raise ConfigError(f"opro.optimizer must be one of {', '.join(OPTIMIZERS)}, got {cfg.optimizer!r}")
