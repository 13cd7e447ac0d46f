"""The systems the harness can score, by name (``evaluate.system``), in one table.

Each entry names a lazy ``"module:function"`` factory taking the whole configuration and
returning a ``Scorer`` (the module is imported only when that system is scored), the system's
kind (``llm``: an audio LLM asked a prompt; ``vad``: a classic detector), a display label, and
for a VAD the licence of what it runs (an LLM's licence is its checkpoint's, qwen_vad.licences).
The kind is recorded with every scoring run (``system_kind`` in predictions.parquet and
metrics.json), so the analysis and the report read it instead of guessing.

Adding a VAD baseline: its module (with a factory), one line here, an experiment file.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from qwen_vad.config import Config, ModelConfig
from qwen_vad.errors import BadInputError, ConfigError
from qwen_vad.licences import PROJECT_LICENCE, Licence
from qwen_vad.scoring.base import Scorer
from qwen_vad.scoring.predictions import SYSTEM_KIND_COLUMN

LLM, VAD = "llm", "vad"
KINDS = (LLM, VAD)


@dataclass(frozen=True)
class ScoringSystem:
    factory: str  # "module:function" (cfg: Config) -> Scorer
    kind: str  # llm | vad
    label: str  # what tables call it
    licence: Licence | None = None  # a VAD's terms; None for an LLM (its checkpoint's terms apply)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"scoring system {self.label!r}: kind must be one of {KINDS}")
        if self.kind == VAD and self.licence is None:
            raise ValueError(f"scoring system {self.label!r}: a VAD entry states the licence of what it runs (the report lists it)")


SYSTEMS: dict[str, ScoringSystem] = {
    # The audio LLM of the experiment's model section (any family), adapter and prompt.
    "qwen": ScoringSystem("qwen_vad.scoring.systems:llm_scorer", LLM, "audio LLM"),
    "webrtc": ScoringSystem(
        "qwen_vad.baselines.webrtc:webrtc_scorer", VAD, "WebRTC VAD",
        Licence("MIT (webrtcvad-wheels) + BSD-3-Clause (WebRTC VAD code)", "https://github.com/daanzu/py-webrtcvad-wheels"),
    ),
    "silero": ScoringSystem("qwen_vad.baselines.silero:silero_scorer", VAD, "Silero VAD", Licence("MIT", "https://github.com/snakers4/silero-vad")),
    "energy": ScoringSystem(
        "qwen_vad.baselines.energy:energy_scorer", VAD, "energy detector", Licence(f"{PROJECT_LICENCE} (this project's own code)", "LICENSE")
    ),
    "ten_vad": ScoringSystem(
        "qwen_vad.baselines.ten:ten_vad_scorer", VAD, "TEN VAD",
        Licence("Apache-2.0 with additional conditions (THIRD_PARTY_NOTICES.md)", "https://github.com/TEN-framework/ten-vad"),
    ),
}  # fmt: skip


def scoring_system(name: str, key: str = "evaluate.system") -> ScoringSystem:
    """The registered system ``name``; a ConfigError naming the valid ones otherwise."""
    if name in SYSTEMS:
        return SYSTEMS[name]
    close = difflib.get_close_matches(name, list(SYSTEMS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"{key}: unknown system {name!r}{hint}; valid: {', '.join(SYSTEMS)}")


def make_scorer(cfg: Config) -> Scorer:
    """The scorer of the system ``evaluate.system`` names, built from the whole configuration."""
    module, _, function = scoring_system(cfg.evaluate.system).factory.partition(":")
    return getattr(importlib.import_module(module), function)(cfg)


def system_kind(cfg: Config) -> str:
    return scoring_system(cfg.evaluate.system).kind


def recorded_kind(predictions: pd.DataFrame, path: Path) -> str:
    """The kind a scoring run recorded in its predictions (``system_kind``). Predictions written
    before that column existed take the kind of the system their run's config.yaml names."""
    if SYSTEM_KIND_COLUMN in predictions.columns:
        return str(predictions[SYSTEM_KIND_COLUMN].iloc[0])
    config = path.parent / "config.yaml"
    if not config.is_file():
        raise BadInputError(f"{path}: no {SYSTEM_KIND_COLUMN} column and no config.yaml beside it to read evaluate.system from")
    name = str(OmegaConf.load(config).evaluate.system)
    return scoring_system(name, key=f"{config}: evaluate.system").kind


def require_llm(cfg: Config, stage: str) -> None:
    """Fine-tuning and prompt search act on the audio LLM: ``evaluate.system`` must name one."""
    if system_kind(cfg) != LLM:
        llms = ", ".join(name for name, entry in SYSTEMS.items() if entry.kind == LLM)
        raise ConfigError(f"evaluate.system: the {stage} stage works on an audio LLM, but {cfg.evaluate.system!r} is a VAD; use one of {llms}")


def llm_scorer(cfg: Config) -> Scorer:
    """The audio LLM: the experiment's model (an adapter resolved), its prompt and decoding,
    scored where ``model.backend`` says (in this process, or through a server)."""
    from qwen_vad.adapter_source import resolve_model_config
    from qwen_vad.prompts import load_prompt
    from qwen_vad.scoring.backends import open_backend

    model_cfg = resolve_model_config(cfg)
    template = load_prompt(cfg.decoding.prompt, optimized_dir=Path(cfg.opro.optimized_dir))
    return open_backend(model_cfg).scorer(template, cfg.decoding, llm_system_name(model_cfg))


def llm_system_name(model: ModelConfig) -> str:
    """The checkpoint's folder (or hub) name, ``+lora`` with an adapter."""
    name = Path(model.name_or_path.rstrip("/")).name
    return f"{name}+lora" if model.adapter else name
