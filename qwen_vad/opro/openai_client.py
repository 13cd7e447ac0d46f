"""The ``openai`` optimizer: any OpenAI-compatible chat-completions server over plain HTTP.

vLLM, Ollama, llama.cpp's server and hosted APIs all answer ``POST {base_url}/chat/completions``.
Transient failures (refused connection, timeout, HTTP 408/429/5xx, a reply that is not a
completion) are retried with exponential backoff; when the retries run out the error says where
the server was expected and how to continue the run. Other HTTP errors (401 bad key, 404 unknown
model) are not retried: waiting does not fix them.
"""

from __future__ import annotations

import json
import logging
import time

from qwen_vad.config import OpenAIOptimizerConfig
from qwen_vad.errors import UserError
from qwen_vad.http_json import RefusedHTTPError, TransientHTTPError, bearer_headers, http_call

log = logging.getLogger(__name__)


class OptimizerError(UserError, RuntimeError):
    """The optimizer cannot give proposals; the message says what to change."""


class OptimizerUnavailableError(OptimizerError):
    """The server did not answer usefully within the retries."""


class OpenAIChatOptimizer:
    """Proposals from ``n`` sampled chat completions of the meta-prompt."""

    def __init__(self, cfg: OpenAIOptimizerConfig, temperature: float, max_tokens: int) -> None:
        self.cfg, self.temperature, self.max_tokens = cfg, temperature, max_tokens
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"
        self.name = f"openai:{cfg.model}"

    def propose(self, meta_prompt: str, n: int, step: int) -> list[str]:
        """``n`` replies. Servers that ignore ``n`` (Ollama, llama.cpp) answer one choice per
        request, so the rest is asked for again until ``n`` replies are in."""
        replies: list[str] = []
        while len(replies) < n:
            replies += self._complete(meta_prompt, n - len(replies))
        return replies[:n]

    def _complete(self, meta_prompt: str, n: int) -> list[str]:
        body = {
            "model": self.cfg.model,
            "messages": [{"role": "user", "content": meta_prompt}],
            "temperature": self.temperature,
            "n": n,
            "max_tokens": self.max_tokens,
        }
        last_error = ""
        for attempt in range(self.cfg.max_retries + 1):
            if attempt:
                wait = self.cfg.backoff_s * 2 ** (attempt - 1)
                log.warning("optimizer request failed (%s); retry %d/%d in %.1f s", last_error, attempt, self.cfg.max_retries, wait)
                time.sleep(wait)
            try:
                return self._post(body)
            except TransientHTTPError as err:
                last_error = str(err)
        raise OptimizerUnavailableError(
            f"the optimizer server at {self.cfg.base_url} gave no usable answer after "
            f"{self.cfg.max_retries + 1} attempts (last: {last_error}). Start the server or fix "
            "opro.openai.base_url / opro.openai.model (docs/opro.md), then continue this run "
            "with resume=true."
        )

    def _post(self, body: dict) -> list[str]:
        try:
            payload = http_call(self.url, json.dumps(body).encode(), bearer_headers(self.cfg.api_key_env), self.cfg.timeout_s)
        except RefusedHTTPError as err:
            raise OptimizerError(f"{err}{_status_hint(err.status, self.cfg)}") from None
        return _completion_texts(payload)


def _completion_texts(payload: bytes) -> list[str]:
    try:
        choices = json.loads(payload)["choices"]
        texts = [choice["message"]["content"] or "" for choice in choices]
    except (ValueError, KeyError, TypeError):
        raise TransientHTTPError(f"not a chat completion: {payload[:200]!r}") from None
    if not texts:
        raise TransientHTTPError("a chat completion without choices")
    return texts


def _status_hint(status: int, cfg: OpenAIOptimizerConfig) -> str:
    if status in (401, 403):
        return f" (is the API key in ${cfg.api_key_env}? see opro.openai.api_key_env)"
    if status == 404:
        return f" (is {cfg.base_url} the server's /v1 address, and does it serve model {cfg.model!r}?)"
    return ""
