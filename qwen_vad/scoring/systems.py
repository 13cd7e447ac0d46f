"""From the configuration to the scorer of the system it names (``evaluate.system``)."""

from __future__ import annotations

from pathlib import Path

from qwen_vad.config import Config, ModelConfig
from qwen_vad.scoring.base import Scorer

LLM_SYSTEM = "qwen"


def make_scorer(cfg: Config) -> Scorer:
    """The audio LLM (``evaluate.system=qwen``: model, adapter, prompt, decoding) or a VAD."""
    if cfg.evaluate.system != LLM_SYSTEM:
        from qwen_vad.baselines.scorers import make_vad_scorer

        return make_vad_scorer(cfg.evaluate.system, cfg.baselines)
    from qwen_vad.adapter_source import resolve_model_config
    from qwen_vad.decoding import LLMScorer
    from qwen_vad.models.loader import load_model
    from qwen_vad.prompts import load_prompt

    model_cfg = resolve_model_config(cfg)
    model, processor = load_model(model_cfg)
    template = load_prompt(cfg.decoding.prompt, optimized_dir=Path(cfg.opro.optimized_dir))
    return LLMScorer(model, processor, template, cfg.decoding, llm_system_name(model_cfg))


def llm_system_name(model: ModelConfig) -> str:
    """The checkpoint's folder (or hub) name, ``+lora`` with an adapter."""
    name = Path(model.name_or_path.rstrip("/")).name
    return f"{name}+lora" if model.adapter else name
