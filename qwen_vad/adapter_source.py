"""Where a row's LoRA adapter comes from when another row trained it (B4 builds on B3).

``model.adapter_from_finetune: b3`` names the finetune experiment; the adapter is the
``adapter/`` folder of its latest finished run *with this run's seed*, so a seed sweep of B4
builds each seed on B3's adapter of the same seed. The evaluate and opro stages resolve it
through this one function, so ``evaluate exp=b4`` re-scores exactly what ``opro exp=b4`` searched.
"""

from __future__ import annotations

import dataclasses
import logging

from omegaconf import OmegaConf

from qwen_vad.config import Config, ModelConfig
from qwen_vad.errors import UserError
from qwen_vad.models.stand_ins import resolve_stand_in
from qwen_vad.runs import find_runs

log = logging.getLogger(__name__)

ADAPTER_FOLDER = "adapter"  # what a finetune run saves its best adapter as


class AdapterNotFound(UserError, FileNotFoundError):
    pass


def resolve_model_config(cfg: Config) -> ModelConfig:
    """``cfg.model`` with ``adapter_from_finetune`` turned into the adapter folder it names, and
    the checkpoint it loads (its tiny stand-in under ``model.stand_in_dir``) in ``name_or_path``."""
    model = resolve_stand_in(cfg.model)
    source = model.adapter_from_finetune
    if source is None:
        return model
    runs = [run for run in find_runs(cfg.paths.results_dir, "finetune", source) if (run / ADAPTER_FOLDER).is_dir()]
    same_seed = [run for run in runs if _seed(run) == cfg.seed]
    if not same_seed:
        seeds = sorted({_seed(run) for run in runs})
        found = f"it has runs with seeds {seeds}" if seeds else "it has no finished run with an adapter"
        raise AdapterNotFound(
            f"model.adapter_from_finetune={source!r}: no finished finetune run of {source!r} with seed {cfg.seed} under "
            f"{cfg.paths.results_dir}/finetune/{source} ({found}); run `python -m qwen_vad.finetune exp={source} seed={cfg.seed}` first"
        )
    adapter = str(same_seed[-1] / ADAPTER_FOLDER)
    log.info("adapter from finetune run %s", adapter)
    return dataclasses.replace(model, adapter=adapter)


def _seed(run_dir) -> int:
    return int(OmegaConf.load(run_dir / "config.yaml").get("seed", 0))
