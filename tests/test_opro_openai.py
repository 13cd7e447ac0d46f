"""The OpenAI-compatible HTTP backend against a real local server (the scripted optimizer)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from qwen_vad.config import OpenAIOptimizerConfig
from qwen_vad.opro.openai_client import OpenAIChatOptimizer, OptimizerError, OptimizerUnavailableError
from qwen_vad.opro.scripted_server import ScriptedOptimizerServer, ScriptedReply, garbage, hang, http_error, reply_with

META = "text:\n<PROMPT>\nIs there speech?\nA) Yes\nB) No\n</PROMPT>\nscore:\n61\n\nWrite a better one."


@pytest.fixture
def server() -> Iterator[ScriptedOptimizerServer]:
    with ScriptedOptimizerServer() as running:
        yield running


def client(base_url: str, **overrides) -> OpenAIChatOptimizer:
    settings = {"base_url": base_url, "model": "test-model", "api_key_env": "QWEN_VAD_TEST_KEY", "timeout_s": 2.0,
                "max_retries": 2, "backoff_s": 0.01, **overrides}  # fmt: skip
    return OpenAIChatOptimizer(OpenAIOptimizerConfig(**settings), temperature=1.0, max_tokens=64)


def test_n_replies_in_one_request(server: ScriptedOptimizerServer) -> None:
    replies = client(server.base_url).propose(META, 3, step=1)
    assert len(replies) == 3 and len(set(replies)) == 3
    assert all("Is there speech?\nA) Yes\nB) No" in reply and reply.startswith("<PROMPT>") for reply in replies)
    (request,) = server.requests
    assert request["n"] == 3 and request["model"] == "test-model" and request["temperature"] == 1.0
    assert request["messages"] == [{"role": "user", "content": META}] and request["max_tokens"] == 64


def test_a_server_that_ignores_n_is_asked_again() -> None:
    with ScriptedOptimizerServer(ignore_n=True) as ollama_like:
        replies = client(ollama_like.base_url).propose(META, 3, step=1)
        assert len(replies) == 3
        assert [r["n"] for r in ollama_like.requests] == [3, 2, 1]


@pytest.mark.parametrize("failure", [http_error(500), http_error(503), http_error(429), garbage(), hang(3.0), reply_with()])
def test_transient_failures_are_retried(server: ScriptedOptimizerServer, failure: ScriptedReply) -> None:
    server.script(failure)
    replies = client(server.base_url, timeout_s=0.5).propose(META, 2, step=1)
    assert len(replies) == 2 and all("<PROMPT>" in reply for reply in replies)
    assert len(server.requests) == 2


def test_backoff_doubles_between_attempts(server: ScriptedOptimizerServer) -> None:
    server.script(http_error(500), http_error(500))
    started = time.perf_counter()
    client(server.base_url, backoff_s=0.2).propose(META, 1, step=1)
    assert time.perf_counter() - started >= 0.2 + 0.4


def test_a_server_that_keeps_failing_gives_a_clear_error(server: ScriptedOptimizerServer) -> None:
    server.script(http_error(500), http_error(502), http_error(500))
    with pytest.raises(OptimizerUnavailableError) as err:
        client(server.base_url).propose(META, 1, step=1)
    message = str(err.value)
    assert server.base_url in message and "3 attempts" in message and "HTTP 500" in message and "resume=true" in message
    assert len(server.requests) == 3


def test_a_server_that_is_down_gives_a_clear_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OptimizerUnavailableError, match=rf"127\.0\.0\.1:{port}/v1 gave no usable answer.*Connection ?Refused"):
        client(f"http://127.0.0.1:{port}/v1", max_retries=1).propose(META, 1, step=1)


def test_the_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedOptimizerServer(api_key="sk-local") as guarded:
        monkeypatch.delenv("QWEN_VAD_TEST_KEY", raising=False)
        # A rejected key is not retried: waiting does not fix it.
        with pytest.raises(OptimizerError, match=r"HTTP 401.*\$QWEN_VAD_TEST_KEY") as err:
            client(guarded.base_url).propose(META, 1, step=1)
        assert not isinstance(err.value, OptimizerUnavailableError) and len(guarded.requests) == 1
        monkeypatch.setenv("QWEN_VAD_TEST_KEY", "sk-local")
        assert len(client(guarded.base_url).propose(META, 1, step=1)) == 1


def test_a_wrong_address_is_a_clear_error(server: ScriptedOptimizerServer) -> None:
    with pytest.raises(OptimizerError, match=r"HTTP 404.*the server's /v1 address"):
        client(server.base_url.removesuffix("/v1")).propose(META, 1, step=1)


def test_scripted_contents_are_returned_verbatim(server: ScriptedOptimizerServer) -> None:
    server.script(reply_with("no tags at all", "<PROMPT>x</PROMPT>"))
    assert client(server.base_url).propose(META, 2, step=1) == ["no tags at all", "<PROMPT>x</PROMPT>"]
