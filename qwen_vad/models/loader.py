"""Load an audio LLM of any family (hub id or local folder) with its processor, ready for scoring.

The family (qwen_vad.models.families) is ``model.family`` or the one the checkpoint's
config.json ``model_type`` names; it decides the class, the processor, the 4-bit skips and the
short-clip encoder switch. Every failure a user can fix (no CUDA for 4-bit, a hub id not
available offline, an adapter folder without adapter_config.json, an unknown model type) is
reported before any weights are read, with what to do.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Literal

import torch
from huggingface_hub import constants as hub_constants
from huggingface_hub import try_to_load_from_cache
from peft import PeftModel
from safetensors import SafetensorError
from transformers import BitsAndBytesConfig, PreTrainedModel, ProcessorMixin
from transformers.utils import cached_file, is_bitsandbytes_available

from qwen_vad.config import ModelConfig
from qwen_vad.distributed import process_device
from qwen_vad.errors import UserError
from qwen_vad.models.families import family_for_model_type, family_named, remember_family
from qwen_vad.models.families.base import ModelFamily
from qwen_vad.models.stand_ins import resolve_stand_in

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen2-Audio-7B-Instruct"

DtypeName = Literal["bf16", "fp16", "fp32"]
TORCH_DTYPES: dict[str, torch.dtype] = {
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
    "fp32": torch.float32,
}

# "owner/name" or "name", the shapes of a Hugging Face Hub model id.
HUB_ID_PATTERN = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


class ModelLoadError(UserError, RuntimeError):
    """The model, processor or adapter cannot be loaded as asked; the message says what to change."""


def load_model(cfg: ModelConfig) -> tuple[PreTrainedModel | PeftModel, ProcessorMixin]:
    """Load an audio LLM (eval mode; a PeftModel when ``cfg.adapter`` is given) and its processor.

    ``cfg`` (``qwen_vad.config.ModelConfig``):
        name_or_path: a local checkpoint folder, or a hub id found in the local HF cache (or
            downloadable, when online); with ``stand_in_dir`` a hub id loads its tiny stand-in.
        family: the model family, or None to read it from the checkpoint's config.json.
        dtype: "bf16", "fp16" or "fp32". On CPU bf16 works but is slow and less precise; fp32 is
            the sane choice there. What is asked for is what is loaded.
        device: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N"; under a
            multi-process launch "auto" and "cuda" mean the process's own GPU (cuda:LOCAL_RANK).
        attn_implementation: "sdpa" (default), "eager" or "flash_attention_2".
        adapter: a PEFT LoRA folder (holding adapter_config.json) to load on top, or None
            (``adapter_from_finetune`` is resolved before, by qwen_vad.adapter_source).
        load_in_4bit: NF4 4-bit language model with double quantization and bf16 compute
            (bitsandbytes, CUDA only); the family's audio modules stay unquantized.
        fast_encoder: Qwen2-Audio's short-clip encoder path (qwen_vad.models.fast_encoder);
            inputs must then be built by the family's ``model_inputs`` with the same setting.
    The family the model was loaded as is recorded (``qwen_vad.models.families.family_of``).
    """
    requested, cfg = cfg, resolve_stand_in(cfg)
    if cfg is not requested and not Path(cfg.name_or_path).is_dir():
        raise ModelLoadError(
            f"{cfg.name_or_path}: the tiny {cfg.family} stand-in for {requested.name_or_path} (model.stand_in_dir) is not built; "
            f"run `python -m qwen_vad.models.tiny {cfg.name_or_path} --family {cfg.family}` (the smoke pipeline builds it itself)"
        )
    if cfg.dtype not in TORCH_DTYPES:
        raise ModelLoadError(f"unknown dtype {cfg.dtype!r}; choose one of {sorted(TORCH_DTYPES)}")
    device = resolve_device(cfg.device)
    if cfg.load_in_4bit:
        _check_four_bit_possible(device)
    if cfg.adapter is not None:
        _check_adapter_folder(cfg.adapter)
    checkpoint = resolve_checkpoint(cfg.name_or_path)
    family = checkpoint_family(checkpoint, cfg.family)

    try:
        model = family.model_class().from_pretrained(
            checkpoint,
            dtype=TORCH_DTYPES[cfg.dtype],
            attn_implementation=cfg.attn_implementation,
            device_map={"": device} if device != "cpu" else None,
            quantization_config=_four_bit_config(family) if cfg.load_in_4bit else None,
        )
        processor = family.load_processor(checkpoint)
    except (OSError, ValueError, SafetensorError) as err:
        _raise_unreadable(checkpoint, err)
    family.check_loaded(model, processor, checkpoint)
    if cfg.adapter is not None:
        model = PeftModel.from_pretrained(model, cfg.adapter)
    family.set_short_clip_encoder(model, cfg.fast_encoder)
    model.eval()
    remember_family(model, family)
    log.info("loaded %s as %s (%s, %s)", checkpoint, family.name, cfg.dtype, device)
    return model, processor


def checkpoint_family(checkpoint: str, family: str | None = None) -> ModelFamily:
    """``family`` when given, else the family the checkpoint's config.json ``model_type`` names."""
    if family is not None:
        return family_named(family)
    try:
        config_file = cached_file(checkpoint, "config.json")
        model_type = json.loads(Path(config_file).read_text()).get("model_type")
    except (OSError, ValueError) as err:
        _raise_unreadable(checkpoint, err)
    return family_named(family_for_model_type(model_type, f"{checkpoint}/config.json"))


def _raise_unreadable(checkpoint: str, err: Exception) -> None:
    if Path(checkpoint).exists():
        # A local folder with missing, truncated or corrupt files (weights, config, tokenizer).
        raise ModelLoadError(
            f"{checkpoint}: the checkpoint could not be read ({type(err).__name__}: {err}). Copy or download "
            "it again, or point model.name_or_path at another checkpoint folder."
        ) from err
    if not isinstance(err, OSError):
        raise err
    # A hub id that is not cached and could not be downloaded (no network, gated, typo).
    raise ModelLoadError(f"{checkpoint} could not be loaded: {err}\n{_local_copy_hint(checkpoint)}") from err


def resolve_device(device: str) -> str:
    """"auto" becomes "cuda" when a CUDA device is visible, else "cpu"; other names pass through.
    Under a multi-process launch a plain "cuda" is the process's own GPU (cuda:LOCAL_RANK)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(
            f"device {device!r} asked for, but torch sees no CUDA device; use device='cpu'"
        )
    return process_device(device)


def resolve_checkpoint(name_or_path: str) -> str:
    """A local folder as it is, or a hub id that from_pretrained can load without surprises.

    Offline (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set) a hub id must already be in the local HF
    cache; the error then says how to get a local copy instead of failing deep in the download code.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path} holds no config.json; it is not a Hugging Face model folder")
        return str(path)
    if not HUB_ID_PATTERN.match(name_or_path):
        raise ModelLoadError(
            f"{name_or_path}: no such local folder (and not a Hugging Face Hub model id)"
        )
    if isinstance(try_to_load_from_cache(name_or_path, "config.json"), str):
        return name_or_path
    if _hub_offline():
        raise ModelLoadError(_not_available_offline_message(name_or_path))
    return name_or_path


def _hub_offline() -> bool:
    # huggingface_hub reads the variables once at import; read them again so a change made
    # later in the process (a test, a notebook cell) counts too.
    from_environment = any(
        os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    return from_environment or hub_constants.HF_HUB_OFFLINE


def _not_available_offline_message(hub_id: str) -> str:
    return (
        f"{hub_id} is neither a local folder nor in the local Hugging Face cache "
        f"({hub_constants.HF_HUB_CACHE}), and the hub is offline (HF_HUB_OFFLINE).\n"
        f"{_local_copy_hint(hub_id)}"
    )


def _local_copy_hint(hub_id: str) -> str:
    return (
        "On a machine with internet run\n"
        f"    hf download {hub_id} --local-dir /path/to/{hub_id.split('/')[-1]}\n"
        "(`huggingface-cli download` with huggingface_hub < 1.0), copy the folder here and set "
        "model.name_or_path=/path/to/that/folder."
    )


def _check_four_bit_possible(device: str) -> None:
    if not device.startswith("cuda"):
        raise ModelLoadError(
            f"load_in_4bit needs a CUDA GPU (bitsandbytes NF4), but the device is {device!r}; "
            "load in bf16/fp32 instead (load_in_4bit=False)"
        )
    if not is_bitsandbytes_available():
        raise ModelLoadError("load_in_4bit needs bitsandbytes: pip install -e '.[qlora]'")


def _four_bit_config(family: ModelFamily) -> BitsAndBytesConfig:
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        bnb_4bit_use_double_quant=True,
        llm_int8_skip_modules=list(family.four_bit_skipped_modules),
    )


def _check_adapter_folder(adapter: str) -> None:
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise ModelLoadError(f"{adapter} holds no adapter_config.json; it is not a PEFT adapter folder")
