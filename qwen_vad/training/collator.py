"""Training examples -> one batch of model inputs and labels.

Built exactly as evaluation builds its batches (the family's ``model_inputs``: left padding, the
features the model's encoder path expects, positions counted from each row's first real token),
plus the answer, the labels of ``loss.mode`` and, for training only, SpecAugment.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import ProcessorMixin

from qwen_vad.decoding import left_padded_position_ids
from qwen_vad.training.examples import TrainingExample
from qwen_vad.training.labels import ANSWER_POSITION, END_OF_TURN_POSITION, check_loss_mode, training_labels
from qwen_vad.training.prompt_sampling import PromptSampler
from qwen_vad.training.specaugment import SpecAugment


class TrainingCollator:
    def __init__(
        self,
        processor: ProcessorMixin,
        prompts: PromptSampler,
        loss_mode: str,
        specaugment: SpecAugment | None,
        short_clip_features: bool,
    ) -> None:
        check_loss_mode(loss_mode)
        self.processor, self.prompts, self.loss_mode = processor, prompts, loss_mode
        self.specaugment = specaugment if specaugment is not None and specaugment.enabled else None
        self.short_clip_features = short_clip_features
        self.family = prompts.family
        tokenizer = processor.tokenizer
        self.end_of_turn_id = tokenizer.convert_tokens_to_ids(prompts.end_of_turn)
        self.audio_token_id = tokenizer.convert_tokens_to_ids(processor.audio_token)

    def __call__(self, examples: Sequence[TrainingExample]) -> dict[str, torch.Tensor]:
        generators = [torch.Generator().manual_seed(example.augmentation_seed) for example in examples]
        texts = [
            self.prompts.training_text(self.prompts.draw(generator), example.clip.is_speech)
            for generator, example in zip(generators, examples, strict=True)
        ]
        inputs = self.family.model_inputs(
            self.processor, [t.text for t in texts], [e.clip.audio for e in examples], self.short_clip_features, padding_side="left"
        )
        input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
        self._check_answer_positions(input_ids, [t.answer_token_id for t in texts])
        features = inputs["input_features"]
        if self.specaugment is not None:
            features = self.specaugment(features, inputs["feature_attention_mask"], generators)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "position_ids": left_padded_position_ids(attention_mask),
            "input_features": features,
            "feature_attention_mask": inputs["feature_attention_mask"],
            "labels": training_labels(input_ids, attention_mask, self.loss_mode, self.audio_token_id),
        }

    def _check_answer_positions(self, input_ids: torch.Tensor, answer_ids: list[int]) -> None:
        # A tokenizer that merged the letter with a neighbour would silently train the wrong token.
        expected = torch.tensor(answer_ids, dtype=input_ids.dtype)
        if not torch.equal(input_ids[:, ANSWER_POSITION], expected) or not (input_ids[:, END_OF_TURN_POSITION] == self.end_of_turn_id).all():
            raise ValueError(
                f"the rendered training text does not end in [answer letter, {self.family.end_of_turn}] as single tokens; "
                "this tokenizer merges the answer with its neighbours"
            )
