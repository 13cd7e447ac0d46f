"""The ``hf`` and ``self`` optimizers: proposals sampled from a local causal LM's chat turn.

``hf`` loads an instruction-tuned model (e.g. Qwen2.5-7B-Instruct) beside the scorer, on first
use, so a resumed run that only needs its final evaluation never loads it. ``self`` asks the
scorer's own language model (any audio-LLM family), text only: no second model, no audio placeholder in
the turn. Sampling is seeded per step (``seed + step``), so a step's proposals are reproducible.
"""

from __future__ import annotations

import logging

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from qwen_vad.config import HFOptimizerConfig
from qwen_vad.decoding import model_device
from qwen_vad.models.loader import TORCH_DTYPES, ModelLoadError, resolve_checkpoint, resolve_device

log = logging.getLogger(__name__)


class LocalChatOptimizer:
    """``n`` sampled replies of a causal LM to the meta-prompt as one user turn."""

    def __init__(
        self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, chat_template_owner: object,
        temperature: float, max_new_tokens: int, seed: int,
    ) -> None:  # fmt: skip
        # Audio LLMs keep their chat template on the processor, text LMs on the tokenizer.
        self.name, self.model, self.tokenizer = name, model, tokenizer
        self.chat_template_owner = chat_template_owner
        self.temperature, self.max_new_tokens, self.seed = temperature, max_new_tokens, seed

    @torch.inference_mode()
    def propose(self, meta_prompt: str, n: int, step: int) -> list[str]:
        text = self.chat_template_owner.apply_chat_template(
            [{"role": "user", "content": meta_prompt}], add_generation_prompt=True, tokenize=False
        )
        inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model_device(self.model))
        torch.manual_seed(self.seed + step)
        output = self.model.generate(
            **inputs,
            do_sample=True,
            temperature=self.temperature,
            max_new_tokens=self.max_new_tokens,
            num_return_sequences=n,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        return self.tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


class LazyHFOptimizer:
    """The ``hf`` optimizer, loading its model on the first proposal."""

    def __init__(self, cfg: HFOptimizerConfig, temperature: float, max_new_tokens: int, seed: int) -> None:
        self.cfg, self.temperature, self.max_new_tokens, self.seed = cfg, temperature, max_new_tokens, seed
        self.name = f"hf:{cfg.name_or_path}"
        self._loaded: LocalChatOptimizer | None = None

    def propose(self, meta_prompt: str, n: int, step: int) -> list[str]:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded.propose(meta_prompt, n, step)

    def _load(self) -> LocalChatOptimizer:
        if self.cfg.dtype not in TORCH_DTYPES:
            raise ModelLoadError(f"opro.hf.dtype {self.cfg.dtype!r}: choose one of {sorted(TORCH_DTYPES)}")
        checkpoint = resolve_checkpoint(self.cfg.name_or_path)
        device = resolve_device(self.cfg.device)
        log.info("loading the optimizer LM %s (%s, %s)", checkpoint, self.cfg.dtype, device)
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=TORCH_DTYPES[self.cfg.dtype]).to(device).eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token  # generate pads finished samples with it
        return LocalChatOptimizer(self.name, model, tokenizer, tokenizer, self.temperature, self.max_new_tokens, self.seed)
