"""The server backend (``model.backend=server``): the audio LLM scored through a chat-completions server.

The scores mean what the local scorer's mean (``qwen_vad.decoding.LLMScorer``): the same
conversation, the same option letters (token ids from the checkpoint's own tokenizer, the only
part of the model this process loads), p_speech = softmax of the two letters' log-probabilities
divided by ``decoding.temperature`` (the difference of two log-probabilities is that of their
logits, so this is the local pair softmax), averaged over both option orders with
``decoding.swap_options``; generate mode reads the greedy answer with the shared normaliser.

Each clip is one request per option order, sent ``model.server_concurrency`` at a time.
Latency per clip: building its requests (feature_extraction: WAV + base64 + JSON), their round
trips to the server (forward: what one clip waits under that concurrency) and reading the
answers (post_processing).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from transformers import AutoTokenizer

from qwen_vad.answers import read_answer
from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.decoding import LABEL_SCORES, option_token_ids
from qwen_vad.errors import ConfigError
from qwen_vad.models.loader import resolve_checkpoint
from qwen_vad.prompts import AB_MODE, GENERATE_MODE, PromptTemplate, swap_options
from qwen_vad.scoring.base import BatchScores
from qwen_vad.scoring.latency import Stopwatch
from qwen_vad.serving import wire
from qwen_vad.serving.client import ServerClient

log = logging.getLogger(__name__)

# A batch of the scoring loop is this many times the concurrency: the pool refills within a
# batch, so only its tail runs below full concurrency.
BATCHES_PER_POOL = 4


class ServerBackend:
    """The model behind ``model.server_url``; this process holds its tokenizer only."""

    model = None  # no model in this process (what needs one, e.g. opro.optimizer=self, says so)
    processor = None

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self.client = ServerClient(cfg)
        self.tokenizer = AutoTokenizer.from_pretrained(resolve_checkpoint(cfg.name_or_path))
        if cfg.adapter:
            log.info("model.adapter %s: the server must serve it (model.server_model names it; docs/serving.md)", cfg.adapter)

    def scorer(self, template: PromptTemplate, decoding: DecodingConfig, system: str) -> ServerScorer:
        return ServerScorer(ServerPrompt(self.client, self.tokenizer, template, decoding), system)

    def prompt_scorer(self, decoding: DecodingConfig, audio: dict[str, np.ndarray]) -> ServerPromptScorer:
        log.info("model.backend=server: every prompt goes to %s with each clip's audio; the audio-embedding cache "
                 "(qwen_vad.opro.audio_cache) needs the model in this process, and the server holds it", self.client.base_url)  # fmt: skip
        return ServerPromptScorer(self, decoding, audio)


class ServerPrompt:
    """The requests of one prompt template (both option orders with swap_options) and their answers."""

    def __init__(self, client: ServerClient, tokenizer, template: PromptTemplate, decoding: DecodingConfig) -> None:
        if decoding.mode not in (AB_MODE, GENERATE_MODE):
            raise ConfigError(f"decoding.mode must be {AB_MODE!r} or {GENERATE_MODE!r}, got {decoding.mode!r}")
        if decoding.mode == AB_MODE and template.mode != AB_MODE:
            raise ConfigError(f"prompt {template.id!r} is open-ended: use decoding.mode={GENERATE_MODE}")
        self.client, self.template, self.decoding = client, template, decoding
        self.generates = decoding.mode == GENERATE_MODE
        self.orders = [template] + ([swap_options(template)] if decoding.swap_options and not self.generates else [])
        self.option_ids = [] if self.generates else [
            option_token_ids(tokenizer, t.speech_option, t.nonspeech_option, t.id) for t in self.orders
        ]  # fmt: skip
        # Both orders ask for the same two letters (a swap exchanges what they mean).
        self.letter_ids = sorted({i for ids in self.option_ids for i in ids})
        self.option_texts = {i: tokenizer.decode([i]) for i in self.letter_ids}

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores:
        watch = Stopwatch()
        with watch.stage("feature_extraction"):
            payloads = [wire.payload(body) for body in self._requests(clips)]
        answers = self.client.answer_all(payloads, self._read)
        watch.seconds["forward"] += sum(seconds for _, seconds in answers)
        with watch.stage("post_processing"):
            result = self._readings(clips, [answer for answer, _ in answers])
        result.seconds = dict(watch.seconds)
        return result

    def _requests(self, clips: Sequence[np.ndarray]) -> list[dict]:
        model, system_prompt = self.client.model, self.decoding.system_prompt
        if self.generates:
            return [wire.generate_request(model, wire.clip_messages(self.template.text, system_prompt, clip), self.decoding.max_new_tokens)
                    for clip in clips]  # fmt: skip
        return [
            wire.ab_request(model, wire.clip_messages(order.text, system_prompt, clip), ids)
            for order, ids in zip(self.orders, self.option_ids, strict=True)
            for clip in clips
        ]

    def _read(self, response: bytes) -> dict:
        if self.generates:
            return {"content": wire.completion_text(response)}
        return {"logprobs": wire.option_logprobs(response, self.letter_ids, self.option_texts)}

    def _readings(self, clips: Sequence[np.ndarray], answers: list[dict]) -> BatchScores:
        if self.generates:
            texts = [answer["content"] for answer in answers]
            readings = [read_answer(text, self.template) for text in texts]
            return BatchScores(
                p_speech=np.array([LABEL_SCORES[r.label] for r in readings]), answers=texts,
                labels=[r.label for r in readings], answer_rules=[r.rule for r in readings],
            )  # fmt: skip
        per_order = []
        for index, (speech_id, nonspeech_id) in enumerate(self.option_ids):
            rows = answers[index * len(clips) : (index + 1) * len(clips)]
            per_order.append([pair_probability(row["logprobs"], speech_id, nonspeech_id, self.decoding.temperature) for row in rows])
        # With swap_options the two orders' p_speech are averaged, as LLMScorer does.
        return BatchScores(p_speech=np.mean(per_order, axis=0))


def pair_probability(logprobs: dict[str, float], speech_id: int, nonspeech_id: int, temperature: float) -> float:
    """softmax([speech, nonspeech] / temperature)[0] of the two letters' log-probabilities."""
    margin = (logprobs[str(speech_id)] - logprobs[str(nonspeech_id)]) / temperature
    return 1.0 / (1.0 + math.exp(-margin)) if margin >= 0 else math.exp(margin) / (1.0 + math.exp(margin))


class ServerScorer:
    """A ``Scorer`` (qwen_vad.scoring.base) for evaluate and the protocol's final scoring."""

    def __init__(self, prompt: ServerPrompt, system: str) -> None:
        self.prompt, self.system = prompt, system
        self.template, self.prompt_id = prompt.template, prompt.template.id
        self.gives_labels = prompt.generates
        self.batch_size = BATCHES_PER_POOL * prompt.client.cfg.server_concurrency

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores:
        return self.prompt.score(clips)

    def keep_answers(self, path) -> None:
        self.prompt.client.keep_answers(path)


class ServerPromptScorer:
    """OPRO's prompt scorer (as qwen_vad.opro.audio_cache.AudioCacheScorer): p_speech of many
    prompts on the search's clips, each clip's audio sent with every prompt."""

    def __init__(self, backend: ServerBackend, decoding: DecodingConfig, audio: dict[str, np.ndarray]) -> None:
        if decoding.mode != AB_MODE:
            raise ValueError(f"prompt search scores constrained A/B answers: decoding.mode must be {AB_MODE!r}")
        self.backend, self.decoding, self.audio = backend, decoding, audio

    def score(self, template: PromptTemplate, clip_ids: Sequence[str]) -> np.ndarray:
        if not clip_ids:
            return np.empty(0)
        prompt = ServerPrompt(self.backend.client, self.backend.tokenizer, template, self.decoding)
        return prompt.score([self.audio[clip_id] for clip_id in clip_ids]).p_speech

    def keep_answers(self, path) -> None:
        self.backend.client.keep_answers(path)
