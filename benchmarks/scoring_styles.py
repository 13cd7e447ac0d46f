"""The two ways of scoring a clip that users compare, end to end from audio in memory to an answer.

harness default   ``LLMScorer`` as ``evaluate`` runs it: the short-clip encoder path, constrained
                  A/B (one forward pass per batch, p_speech from the two option logits), batched.
seed-descendant   how the code this project descends from (and Qwen2-Audio's model card) scores a
                  clip: the stock encoder path (audio padded to 30 s, the encoder over 1500
                  positions), free-text ``generate`` with an open prompt, one clip at a time,
                  the answer read from the decoded text.

Generation is greedy with the harness's settings (``greedy_generation_config``) and forced to a
fixed length (``min_new_tokens = max_new_tokens``): a random-weight model may emit an end token
at once or never, so without forcing, its timing would measure chance; the real model's
answers to "SPEECH or NONSPEECH?" are short, so the forced length is an upper bound for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from qwen_vad.answers import AnswerReading, read_answer
from qwen_vad.decoding import greedy_generation_config
from qwen_vad.models.fast_encoder import use_short_clip_encoder, uses_short_clip_encoder
from qwen_vad.models.rendering import render_prompt
from qwen_vad.models.families import family_of
from qwen_vad.prompts import PromptTemplate

SEED_STYLE_PROMPT = "open_speech_or_nonspeech"  # an open prompt, answered in free text
HARNESS_PROMPT = "baseline"  # the A/B prompt evaluate scores with by default


@contextmanager
def encoder_path(model: torch.nn.Module, short_clip: bool) -> Iterator[None]:
    """Run the block on the short-clip (True) or the stock 30-s (False) encoder path."""
    before = uses_short_clip_encoder(model)
    use_short_clip_encoder(model, short_clip)
    try:
        yield
    finally:
        use_short_clip_encoder(model, before)


class SeedStyleScorer:
    """One clip at a time: stock 30-s features, ``generate`` of exactly ``new_tokens`` tokens,
    decoded and read by the answer normaliser."""

    def __init__(self, model, processor, template: PromptTemplate, new_tokens: int) -> None:
        self.model, self.processor, self.template, self.new_tokens = model, processor, template, new_tokens
        self.text = render_prompt(processor, template.text, None)
        self.device = next(model.parameters()).device

    @torch.inference_mode()
    def score(self, clip: np.ndarray) -> AnswerReading:
        with encoder_path(self.model, short_clip=False):
            inputs = family_of(self.model).model_inputs(self.processor, [self.text], [clip], short_clip_features=False).to(self.device)
            with greedy_generation_config(self.model, self.new_tokens) as settings:
                settings.min_new_tokens = self.new_tokens
                output = self.model.generate(**inputs, generation_config=settings)
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        if new_tokens.numel() != self.new_tokens:
            raise AssertionError(f"generate gave {new_tokens.numel()} new tokens, {self.new_tokens} were forced")
        return read_answer(self.processor.tokenizer.decode(new_tokens, skip_special_tokens=True), self.template)
