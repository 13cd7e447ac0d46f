"""Score many prompts on the same clips while running the audio encoder once per clip.

An audio LLM turns a clip into audio embeddings (encoder, and Qwen2-Audio's projector) that
replace the audio placeholder tokens of the prompt; nothing on the audio side depends on the
prompt. OPRO scores dozens of prompts on the same clips, so this scorer keeps each clip's
embeddings after the first time it is scored and, for every later prompt, builds the language
model's input embeddings itself: token embeddings of the prompt, with the cached audio embeddings
scattered into the placeholder positions, exactly as every family's forward does
(transformers 5.x: ``inputs_embeds.masked_scatter(audio_mask, audio_features)``), then one
forward of the model with ``inputs_embeds``. The first pass of a batch is the stock forward of
``qwen_vad.decoding.LLMScorer`` (same inputs, same position ids); a forward pre-hook on the
family's language model records the input embeddings it receives, whose placeholder rows are the
clip's audio embeddings. A family that cannot be served this way says why
(``ModelFamily.audio_cache_unavailable``) and is scored by ``LLMScorer`` for every prompt.

For the same clips in the same batches the scores equal ``LLMScorer``'s (tests compare them);
the prompt's token ids are built without the processor, from the rendered text split at the
placeholder, which gives the processor's ids because special tokens always split tokenisation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedModel, ProcessorMixin

from qwen_vad.config import DecodingConfig
from qwen_vad.decoding import LLMScorer, left_padded_position_ids, model_device, option_probability, option_token_ids
from qwen_vad.models.families import family_of
from qwen_vad.prompts import AB_MODE, PromptTemplate, swap_options

log = logging.getLogger(__name__)


class AudioCacheScorer:
    """p_speech of (prompt, clips) for many prompts; each clip's audio is encoded once."""

    def __init__(
        self, model: PreTrainedModel, processor: ProcessorMixin, decoding: DecodingConfig, audio: dict[str, np.ndarray]
    ) -> None:
        if decoding.mode != AB_MODE:
            raise ValueError(f"prompt search scores constrained A/B answers: decoding.mode must be {AB_MODE!r}")
        self.model, self.processor, self.decoding = model, processor, decoding
        self.audio = audio  # clip_id -> 16 kHz waveform, loaded by the caller
        self.embeddings: dict[str, torch.Tensor] = {}  # clip_id -> (audio tokens, hidden)
        self.device = model_device(model)
        self.family = family_of(model)
        self.audio_token = processor.audio_token  # "<|AUDIO|>", "<|audio_pad|>", ...
        self.audio_token_id = self.family.audio_token_id(model)
        self.pad_token_id = processor.tokenizer.pad_token_id
        self.uses_cache = self.family.audio_cache_unavailable is None
        if not self.uses_cache:
            log.info("audio cache off for %s (%s): every prompt is scored from the audio", self.family.name, self.family.audio_cache_unavailable)

    @torch.inference_mode()
    def score(self, template: PromptTemplate, clip_ids: Sequence[str]) -> np.ndarray:
        """p_speech per clip, batched as ``decoding.batch_size`` consecutive clips (like LLMScorer)."""
        orders = [template, swap_options(template)] if self.decoding.swap_options else [template]
        # With swap_options the two orders' p_speech are averaged, as LLMScorer does.
        return np.mean([self._score_one_order(t, clip_ids) for t in orders], axis=0)

    def _score_one_order(self, template: PromptTemplate, clip_ids: Sequence[str]) -> np.ndarray:
        if not self.uses_cache:
            return self._score_without_cache(template, clip_ids)
        text = self.family.render_prompt(self.processor, template.text, self.decoding.system_prompt)
        speech_id, nonspeech_id = option_token_ids(
            self.processor.tokenizer, template.speech_option, template.nonspeech_option, template.id
        )
        size = self.decoding.batch_size
        scores = []
        for start in range(0, len(clip_ids), size):
            batch = list(clip_ids[start : start + size])
            if all(clip_id in self.embeddings for clip_id in batch):
                logits = self._forward_from_cache(text, batch)
            else:
                logits = self._forward_and_cache(text, batch)
            scores.append(option_probability(logits[:, -1, :], speech_id, nonspeech_id, self.decoding.temperature))
        return np.concatenate(scores) if scores else np.empty(0)

    def _score_without_cache(self, template: PromptTemplate, clip_ids: Sequence[str]) -> np.ndarray:
        scorer = LLMScorer(self.model, self.processor, template, self.decoding, system="search")
        size = self.decoding.batch_size
        batches = [clip_ids[start : start + size] for start in range(0, len(clip_ids), size)]
        scores = [scorer.score([self.audio[c] for c in batch]).p_speech for batch in batches]
        return np.concatenate(scores) if scores else np.empty(0)

    def _forward_and_cache(self, text: str, batch: list[str]) -> torch.Tensor:
        """The stock forward (LLMScorer's inputs), keeping each clip's audio embeddings."""
        short_clip = self.family.uses_short_clip_encoder(self.model)
        clips = [self.audio[c] for c in batch]
        clips += self.family.batch_companions([clip.size for clip in clips])  # their rows come last, never cached
        inputs = self.family.model_inputs(self.processor, [text] * len(clips), clips, short_clip).to(self.device)
        captured: list[torch.Tensor] = []
        hook = self.family.language_model(self.model).register_forward_pre_hook(
            lambda _module, _args, kwargs: captured.append(kwargs["inputs_embeds"]), with_kwargs=True
        )
        try:
            logits = self.model(**inputs, position_ids=left_padded_position_ids(inputs["attention_mask"])).logits
        finally:
            hook.remove()
        # The language model's input rows at a clip's placeholders are that clip's audio embeddings.
        placeholders = inputs["input_ids"] == self.audio_token_id
        for row, clip_id in enumerate(batch):
            self.embeddings.setdefault(clip_id, captured[0][row, placeholders[row]].clone())
        return logits[: len(batch)]

    def _forward_from_cache(self, text: str, batch: list[str]) -> torch.Tensor:
        input_ids, attention_mask = self._token_batch(text, [len(self.embeddings[c]) for c in batch])
        embeds = self.model.get_input_embeddings()(input_ids)
        audio = torch.cat([self.embeddings[c] for c in batch]).to(embeds.device, embeds.dtype)
        placeholders = (input_ids == self.audio_token_id).unsqueeze(-1)
        embeds = embeds.masked_scatter(placeholders, audio)
        return self.model(
            inputs_embeds=embeds, attention_mask=attention_mask, position_ids=left_padded_position_ids(attention_mask)
        ).logits

    def _token_batch(self, text: str, audio_lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded token ids with each clip's number of audio placeholders, and the mask."""
        before, placeholder, after = text.partition(self.audio_token)
        if not placeholder or self.audio_token in after:
            raise ValueError(f"the rendered prompt must hold exactly one {self.audio_token}")
        tokenizer = self.processor.tokenizer
        head = tokenizer(before, add_special_tokens=False)["input_ids"]
        tail = tokenizer(after, add_special_tokens=False)["input_ids"]
        rows = [head + [self.audio_token_id] * n + tail for n in audio_lengths]
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, width - len(row) :] = torch.tensor(row)
            attention_mask[i, width - len(row) :] = 1
        return input_ids.to(self.device), attention_mask.to(self.device)
