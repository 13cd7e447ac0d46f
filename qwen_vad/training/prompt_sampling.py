"""The prompt each training example is shown, and the answer it is trained to give.

The text is the evaluation's own (the family's ``render_prompt``: the chat template up to
``<|im_start|>assistant\\n``) followed by the answer letter and the family's end-of-turn token,
so the model is trained on exactly the context it is scored in. With several templates (prompt
augmentation) each example draws one; the letter follows that template's mapping, so a prompt
with swapped options teaches B for SPEECH.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import ProcessorMixin

from qwen_vad.decoding import option_token_ids
from qwen_vad.models.families.base import ModelFamily
from qwen_vad.prompts import AB_MODE, PromptTemplate


@dataclass(frozen=True)
class TrainingText:
    text: str  # rendered prompt + answer letter + end of turn
    answer_token_id: int


class PromptSampler:
    """Draws a template per example, with the example's own generator."""

    def __init__(
        self, processor: ProcessorMixin, templates: Sequence[PromptTemplate], system_prompt: str | None, family: ModelFamily
    ) -> None:
        if not templates:
            raise ValueError("fine-tuning needs at least one prompt template")
        for template in templates:
            if template.mode != AB_MODE:
                raise ValueError(f"prompt {template.id!r} is open-ended; fine-tuning trains the A/B answer of ab prompts")
        tokenizer = processor.tokenizer
        self.family, self.end_of_turn = family, family.end_of_turn
        if tokenizer.convert_tokens_to_ids(self.end_of_turn) in (None, tokenizer.unk_token_id):
            raise ValueError(f"the tokenizer has no {self.end_of_turn} token: not a {family.name} chat model")
        self.templates = list(templates)
        self.rendered = [family.render_prompt(processor, t.text, system_prompt) for t in self.templates]
        # (speech id, nonspeech id) per template; also checks each letter is one token.
        self.option_ids = [option_token_ids(tokenizer, t.speech_option, t.nonspeech_option, t.id) for t in self.templates]

    def draw(self, generator: torch.Generator) -> int:
        """A template index."""
        return int(torch.randint(len(self.templates), (), generator=generator).item())

    def training_text(self, template_index: int, is_speech: bool) -> TrainingText:
        template = self.templates[template_index]
        letter = template.speech_option if is_speech else template.nonspeech_option
        speech_id, nonspeech_id = self.option_ids[template_index]
        return TrainingText(
            text=f"{self.rendered[template_index]}{letter}{self.end_of_turn}",
            answer_token_id=speech_id if is_speech else nonspeech_id,
        )

    def option_pair(self) -> tuple[int, int]:
        """The two option token ids every template shares (sorted), for the ab loss."""
        pairs = {tuple(sorted(ids)) for ids in self.option_ids}
        if len(pairs) != 1:
            ids = ", ".join(f"{t.id}: {t.speech_option}/{t.nonspeech_option}" for t in self.templates)
            raise ValueError(f"loss.mode=ab needs every training prompt to use the same two option letters; got {ids}")
        return pairs.pop()
