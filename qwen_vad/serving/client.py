"""HTTP to the scoring server: the served model, and many requests at once with retries.

Requests go out through a pool of ``model.server_concurrency`` threads (vLLM batches whatever
is in flight). Transient failures (refused connection, timeout, HTTP 408/429/5xx, a reply that
is not a completion) are retried with exponential backoff; when one request runs out of
retries the others stop too, and the error is one line saying where the server was expected
and how to continue. Other HTTP errors (400 a request the server refuses, 401 a bad key, 404 an
unknown model) are not retried: waiting does not fix them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qwen_vad.config import ModelConfig
from qwen_vad.errors import ConfigError, UserError
from qwen_vad.http_json import RefusedHTTPError, TransientHTTPError, bearer_headers, http_call
from qwen_vad.serving.answer_log import AnswerLog, request_key
from qwen_vad.serving.wire import MissingOptionError, NotACompletion

log = logging.getLogger(__name__)

class ScoringServerError(UserError, RuntimeError):
    """The scoring server cannot score as asked; the message says what to change."""


class ScoringServerUnavailable(ScoringServerError):
    """The server gave no usable answer within the retries (down, restarting, overloaded)."""


class _GaveUp(Exception):
    """Another request of the same call ran out of retries: stop retrying this one."""


# What a caller makes of a completion's bytes: the answer kept in the log (a JSON-able dict).
Reader = Callable[[bytes], dict]


class ServerClient:
    """One scoring server: its address, the model it serves, and the run's answer log."""

    def __init__(self, cfg: ModelConfig) -> None:
        if not cfg.server_url:
            raise ConfigError(
                "model.backend=server needs model.server_url, the server's /v1 address (e.g. http://127.0.0.1:8000/v1; docs/serving.md)"
            )
        if cfg.server_concurrency < 1:
            raise ConfigError(f"model.server_concurrency must be at least 1, got {cfg.server_concurrency}")
        self.cfg = cfg
        self.base_url = cfg.server_url.rstrip("/")
        self.answers: AnswerLog | None = None
        self._give_up = threading.Event()
        self.model = self._served_model()

    def keep_answers(self, path: Path) -> None:
        """Append every answer to ``path`` (and reuse the answers it already holds)."""
        if self.answers is None or self.answers.path != path:
            self.answers = AnswerLog(path)

    def answer_all(self, payloads: Sequence[bytes], read: Reader) -> list[tuple[dict, float]]:
        """(answer, round-trip seconds) per request, in order, at most server_concurrency in flight."""
        self._give_up.clear()
        with ThreadPoolExecutor(max_workers=min(self.cfg.server_concurrency, max(len(payloads), 1))) as pool:
            futures = [pool.submit(self._answer, payload, read) for payload in payloads]
            try:
                return [future.result() for future in futures]
            except BaseException:
                self._give_up.set()  # the requests still retrying stop at their next wait
                for future in futures:
                    future.cancel()
                raise

    def _answer(self, payload: bytes, read: Reader) -> tuple[dict, float]:
        key = request_key(payload)
        if self.answers is not None and (known := self.answers.carried(key)) is not None:
            return known
        start = time.perf_counter()
        answer = self._with_retries(lambda: read(self._request("chat/completions", payload)))
        seconds = time.perf_counter() - start
        if self.answers is not None:
            self.answers.record(key, answer, seconds)
        return answer, seconds

    def _served_model(self) -> str:
        """model.server_model, checked against GET /models; else the one model listed there."""
        listing = self._with_retries(lambda: _model_ids(self._request("models")))
        wanted = self.cfg.server_model
        if wanted and wanted not in listing:
            served = ", ".join(listing) or "nothing"
            raise ScoringServerError(f"the server at {self.base_url} does not serve model.server_model={wanted!r}; it serves {served}")
        if not wanted and len(listing) != 1:
            raise ScoringServerError(
                f"the server at {self.base_url} serves {len(listing)} models ({', '.join(listing)}): choose one with model.server_model"
            )
        model = wanted or listing[0]
        log.info("scoring server %s, model %s", self.base_url, model)
        return model

    def _with_retries(self, call: Callable[[], object]):
        last_error = ""
        for attempt in range(self.cfg.server_max_retries + 1):
            if attempt:
                wait = self.cfg.server_backoff_s * 2 ** (attempt - 1)
                log.warning("scoring server request failed (%s); retry %d/%d in %.1f s", last_error, attempt, self.cfg.server_max_retries, wait)
                if self._give_up.wait(wait):
                    raise _GaveUp()
            try:
                return call()
            except (TransientHTTPError, NotACompletion) as err:
                last_error = str(err)
            except MissingOptionError as err:
                raise ScoringServerError(
                    f"the server at {self.base_url} answered without both option letters' logprobs ({err}); start vLLM with "
                    "--logprobs-mode processed_logprobs so they are computed after allowed_token_ids (docs/serving.md)"
                ) from None
        raise ScoringServerUnavailable(
            f"the scoring server at {self.base_url} gave no usable answer after {self.cfg.server_max_retries + 1} attempts "
            f"(last: {last_error}). Start it or fix model.server_url (docs/serving.md), then run again with resume=true: "
            "the answers already received are kept in the run folder and not asked again."
        )

    def _request(self, route: str, data: bytes | None = None) -> bytes:
        try:
            return http_call(f"{self.base_url}/{route}", data, bearer_headers(self.cfg.server_api_key_env), self.cfg.server_timeout_s)
        except RefusedHTTPError as err:
            raise ScoringServerError(f"{err}{self._status_hint(err.status)}") from None

    def _status_hint(self, status: int) -> str:
        if status in (401, 403):
            return f" (is the server's API key in ${self.cfg.server_api_key_env}? see model.server_api_key_env)"
        if status == 404:
            return " (is model.server_url the server's /v1 address, and model.server_model a model it serves?)"
        if status == 400:
            return " (the server refused the request: does it serve an audio model, with audio allowed per prompt? docs/serving.md)"
        return ""


def _model_ids(response: bytes) -> list[str]:
    try:
        return [str(entry["id"]) for entry in json.loads(response)["data"]]
    except (ValueError, KeyError, TypeError):
        raise TransientHTTPError(f"not a model list: {response[:200]!r}") from None
