"""Constrained A/B decoding: one forward pass per batch, p(speech) from the two option logits.

The prompt ends with the assistant turn's opening, so the logits at the last position are the
model's distribution over its first answer token. Restricting it to the two option letters
and renormalising gives p_speech without sampling and without any answer that is neither A
nor B. ``generate`` mode decodes free text instead (for open-ended prompts) and maps it to a
label with the shared answer normaliser.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from transformers import BatchFeature, GenerationConfig, PreTrainedModel, ProcessorMixin

from qwen_vad.errors import ConfigError
from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.answers import UNKNOWN, read_answer
from qwen_vad.config import DecodingConfig
from qwen_vad.scoring.latency import Stopwatch
from qwen_vad.models.families import family_of
from qwen_vad.models.families.base import ModelFamily
from qwen_vad.prompts import AB_MODE, GENERATE_MODE, PromptTemplate, swap_options
from qwen_vad.scoring import BatchScores

# generate mode: an answer the normaliser cannot place sits on the fence (and counts as wrong).
LABEL_SCORES = {SPEECH: 1.0, NONSPEECH: 0.0, UNKNOWN: 0.5}


class OptionTokenError(ConfigError):
    pass


def option_token_ids(tokenizer, speech_option: str, nonspeech_option: str, prompt_id: str) -> tuple[int, int]:
    """Token ids of the SPEECH and NONSPEECH option letters, checked to be distinct single tokens."""
    ids = []
    for letter in (speech_option, nonspeech_option):
        tokens = tokenizer.encode(letter, add_special_tokens=False)
        if len(tokens) != 1:
            raise OptionTokenError(
                f"prompt {prompt_id!r}: option {letter!r} is {len(tokens)} tokens {tokens} for this tokenizer; "
                "constrained decoding needs each option to be one token"
            )
        ids.append(tokens[0])
    if ids[0] == ids[1]:
        raise OptionTokenError(f"prompt {prompt_id!r}: both options map to token {ids[0]}")
    return ids[0], ids[1]


def left_padded_position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that start at 0 on each row's first real token.

    A plain forward numbers positions 0..T-1 whatever the padding, so a left-padded row would
    see shifted rotary positions and its score would depend on what it was batched with.
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def option_probability(logits: torch.Tensor, speech_id: int, nonspeech_id: int, temperature: float) -> np.ndarray:
    pair = logits[:, [speech_id, nonspeech_id]].float() / temperature
    return torch.softmax(pair, dim=-1)[:, 0].cpu().numpy().astype(np.float64)


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@dataclass
class PreparedInputs:
    """A batch's model inputs, built on the CPU (a loader worker or the scoring loop itself)."""

    inputs: list[BatchFeature]  # one per prompt order (two with swap_options), companions last
    clip_samples: list[int]  # the caller's clips only
    seconds: float  # building them: feature extraction and tokenization

    def pin_memory(self) -> PreparedInputs:
        """Page-locked copies (torch's DataLoader calls this with pin_memory=True): the copy to
        the GPU can then run asynchronously."""
        pinned = [BatchFeature({k: v.pin_memory() if isinstance(v, torch.Tensor) else v for k, v in i.items()}) for i in self.inputs]
        return PreparedInputs(pinned, self.clip_samples, self.seconds)


@dataclass
class LLMInputBuilder:
    """Builds a batch's inputs through the model family (its features, its companions) without
    the model: picklable, so DataLoader workers can run it ahead of the forward pass."""

    processor: ProcessorMixin
    family: ModelFamily
    texts: list[str]  # the rendered prompt of each order
    short_clip: bool  # the features the model's encoder path takes

    def __call__(self, clips: Sequence[np.ndarray]) -> PreparedInputs:
        start = time.perf_counter()
        samples = [np.asarray(c).size for c in clips]
        # Companion clips the family needs come after the caller's: their rows are dropped.
        batch = [*clips, *self.family.batch_companions(samples)]
        inputs = [self.family.model_inputs(self.processor, [text] * len(batch), batch, self.short_clip) for text in self.texts]
        return PreparedInputs(inputs, samples, time.perf_counter() - start)


class LLMScorer:
    """Scores clips with an audio LLM and one prompt template (see the module docstring).

    Its work on a batch comes in two parts, so the batch loop (qwen_vad.scoring.batches) can run
    the first in background workers: ``input_preparer()`` builds the inputs on the CPU, and
    ``score_prepared`` runs the model; ``score`` does both in turn."""

    def __init__(
        self, model: PreTrainedModel, processor: ProcessorMixin, template: PromptTemplate, cfg: DecodingConfig, system: str
    ) -> None:
        if cfg.mode not in (AB_MODE, GENERATE_MODE):
            raise ConfigError(f"decoding.mode must be {AB_MODE!r} or {GENERATE_MODE!r}, got {cfg.mode!r}")
        if cfg.mode == AB_MODE and template.mode != AB_MODE:
            raise ConfigError(f"prompt {template.id!r} is open-ended: use decoding.mode={GENERATE_MODE}")
        self.model, self.processor, self.cfg, self.system = model, processor, cfg, system
        self.template, self.prompt_id = template, template.id
        self.batch_size = cfg.batch_size
        self.gives_labels = cfg.mode == GENERATE_MODE
        self.templates = [template]
        if cfg.swap_options:
            self.templates.append(swap_options(template))
        self.family = family_of(model)  # how this model's prompts, inputs and audio tokens look
        self.texts = [self.family.render_prompt(processor, t.text, cfg.system_prompt) for t in self.templates]
        self.option_ids = (
            [option_token_ids(processor.tokenizer, t.speech_option, t.nonspeech_option, t.id) for t in self.templates]
            if cfg.mode == AB_MODE
            else []
        )
        self.device = model_device(model)
        self.audio_token_id = self.family.audio_token_id(model)  # from the checkpoint's config

    def input_preparer(self) -> LLMInputBuilder:
        """What builds a batch's inputs on the CPU (generate mode asks in the first order only)."""
        texts = self.texts[:1] if self.gives_labels else self.texts
        return LLMInputBuilder(self.processor, self.family, texts, self.family.uses_short_clip_encoder(self.model))

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores:
        return self.score_prepared(self.input_preparer()(clips))

    def audio_token_counts(self, inputs, clip_samples: Sequence[int]) -> dict[str, np.ndarray]:
        """Audio placeholder tokens each row carries, and how many its clip's length calls for."""
        return {
            "audio_tokens": (inputs["input_ids"][: len(clip_samples)] == self.audio_token_id).sum(dim=1).cpu().numpy(),
            "expected_audio_tokens": np.array([self.family.expected_audio_tokens(self.model, n) for n in clip_samples]),
        }

    @torch.inference_mode()
    def score_prepared(self, prepared: PreparedInputs) -> BatchScores:
        watch = Stopwatch(cuda=self.device.type == "cuda")
        watch.seconds["feature_extraction"] += prepared.seconds
        with watch.stage("feature_extraction"):  # + the copy to the device (asynchronous from pinned memory)
            orders = [inputs.to(self.device, non_blocking=True) for inputs in prepared.inputs]
        if self.gives_labels:
            return self._generate(orders[0], prepared.clip_samples, watch)
        n, per_order = len(prepared.clip_samples), []
        for inputs, (speech_id, nonspeech_id) in zip(orders, self.option_ids, strict=True):
            with watch.stage("forward"):
                logits = self.model(**inputs, position_ids=left_padded_position_ids(inputs["attention_mask"])).logits
            with watch.stage("post_processing"):
                per_order.append(option_probability(logits[:n, -1, :], speech_id, nonspeech_id, self.cfg.temperature))
        # With swap_options the two orders' p_speech are averaged: a letter bias cancels out.
        return BatchScores(
            p_speech=np.mean(per_order, axis=0), seconds=dict(watch.seconds), **self.audio_token_counts(orders[-1], prepared.clip_samples)
        )

    def _generate(self, inputs: BatchFeature, clip_samples: Sequence[int], watch: Stopwatch) -> BatchScores:
        template, n = self.templates[0], len(clip_samples)
        with watch.stage("forward"), greedy_generation_config(self.model, self.cfg.max_new_tokens) as settings:
            output = self.model.generate(**inputs, generation_config=settings)
        with watch.stage("post_processing"):
            new_tokens = output[:n, inputs["input_ids"].shape[1] :]
            answers = self.processor.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            readings = [read_answer(a, template) for a in answers]
        return BatchScores(
            p_speech=np.array([LABEL_SCORES[r.label] for r in readings]),
            seconds=dict(watch.seconds),
            answers=answers,
            labels=[r.label for r in readings],
            answer_rules=[r.rule for r in readings],
            **self.audio_token_counts(inputs, clip_samples),
        )


# The only fields of a checkpoint's generation_config generate mode keeps: which tokens start,
# end and pad a sequence. Everything else (sampling, top-k/top-p, repetition penalty, length
# rules) is the harness's own choice, so an answer means the same for every checkpoint.
TOKEN_FIELDS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")


@contextmanager
def greedy_generation_config(model: PreTrainedModel, max_new_tokens: int) -> Iterator[GenerationConfig]:
    """Greedy decoding with repetition penalty 1.0 and no top-k/top-p, whatever the checkpoint ships.

    transformers fills every setting a passed ``generation_config`` leaves unset (None) from
    ``model.generation_config`` (e.g. Qwen2-Audio-7B-Instruct: temperature 0.7, top_k 20, top_p 0.5,
    repetition_penalty 1.1; the penalty applies even with do_sample=False and would push down
    A, B and SPEECH, which the prompt itself contains). So for the call the model's own config is
    swapped for a clean one holding only its token ids, and restored afterwards.
    """
    # A PeftModel hands generate() to the model it wraps, which reads its own generation_config.
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    shipped = model.generation_config
    tokens = {name: getattr(shipped, name, None) for name in TOKEN_FIELDS}
    clean = GenerationConfig(**{k: v for k, v in tokens.items() if v is not None})
    settings = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, repetition_penalty=1.0,
        temperature=1.0, top_k=None, top_p=None, **{k: v for k, v in tokens.items() if v is not None},
    )  # fmt: skip
    model.generation_config = clean
    try:
        yield settings
    finally:
        model.generation_config = shipped
