"""A scripted optimizer that speaks the OpenAI chat-completions protocol on localhost.

It stands in for vLLM / Ollama in tests and in the offline smoke run (``opro.optimizer=scripted``):
a real HTTP server in a background thread, so the client code under test is the one that talks
to real servers. By default it answers each request with ``n`` deterministic rewrites of the
best prompt in the meta-prompt (the last ``<PROMPT>`` block: the history is sorted ascending),
or of the baseline prompt when the meta-prompt holds none. The rewrite for choice ``j`` depends
only on the request, so the same request always gets the same answer.

Failures are scripted per request with ``script``: an HTTP error status, a delay (longer than
the client's timeout: a timeout), a body that is not JSON, or exact reply texts.

    with ScriptedOptimizerServer() as server:
        server.script(http_error(500), reply_with("<PROMPT>...</PROMPT>"))
        ... opro.openai.base_url=server.base_url ...

``python -m qwen_vad.opro.scripted_server --port 8011`` serves it until Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from qwen_vad.http_json import send_json_reply
from qwen_vad.opro.meta_prompt import shown_history

log = logging.getLogger(__name__)

DEFAULT_BASE_PROMPT = "Choose one:\nA) SPEECH (human voice)\nB) NONSPEECH (music/noise/silence/animals)\n\nAnswer with A or B ONLY."

# Each keeps a valid A/B prompt valid: new lines go before or after the option lines.
REWRITES: tuple[Callable[[str], str], ...] = (
    lambda text: "Listen to the whole clip, however short it is.\n\n" + text,
    lambda text: "The clip may be very short and noisy.\n" + text,
    lambda text: text + "\nReply with one letter.",
    lambda text: "Background noise alone is never speech.\n" + text,
    lambda text: text + "\nA faint voice under noise still counts as speech.",
    lambda text: "Focus on voices, not on music or noise.\n\n" + text,
    lambda text: text + "\nDecide from what you hear, even in 200 ms.",
    lambda text: "Audio clip check.\n" + text,
)


@dataclass(frozen=True)
class ScriptedReply:
    """The answer to one request, instead of the default rewrites."""

    status: int = 200
    delay_s: float = 0.0  # wait this long first (longer than the client's timeout: a timeout)
    body: str | None = None  # a raw body sent as it is (garbage)
    contents: tuple[str, ...] | None = None  # the message text of each choice


def http_error(status: int = 500) -> ScriptedReply:
    return ScriptedReply(status=status, body=json.dumps({"error": {"message": f"scripted HTTP {status}"}}))


def hang(seconds: float) -> ScriptedReply:
    """Answer normally, but only after ``seconds``."""
    return ScriptedReply(delay_s=seconds)


def garbage() -> ScriptedReply:
    return ScriptedReply(body="<html>502 proxy says hello</html>")


def reply_with(*contents: str) -> ScriptedReply:
    return ScriptedReply(contents=tuple(contents))


def default_rewrites(meta_prompt: str, n: int) -> list[str]:
    """``n`` rewrites of the best prompt shown in ``meta_prompt``, each wrapped in <PROMPT> tags."""
    shown = shown_history(meta_prompt)
    base = shown[-1][0] if shown else DEFAULT_BASE_PROMPT
    offset = int(hashlib.sha256(meta_prompt.encode()).hexdigest()[:8], 16)
    return [f"<PROMPT>\n{REWRITES[(offset + j) % len(REWRITES)](base)}\n</PROMPT>" for j in range(n)]


class ScriptedOptimizerServer:
    """See the module docstring. ``requests`` holds every request body received, in order."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, ignore_n: bool = False) -> None:
        self.host, self.port = host, port
        self.api_key = api_key  # when set, requests must carry "Authorization: Bearer <key>"
        self.ignore_n = ignore_n  # answer one choice whatever n is, as Ollama does
        self.requests: list[dict] = []
        self._script: deque[ScriptedReply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *replies: ScriptedReply) -> None:
        """Queue replies for the next requests (one each); then the default rewrites resume."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> ScriptedOptimizerServer:
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll interval makes stop() quick (serve_forever checks for shutdown between polls).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-optimizer", daemon=True
        )
        self._thread.start()
        log.info("scripted optimizer serving at %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers waiting out a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedOptimizerServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _next_reply(self) -> ScriptedReply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def answer(self, body: dict, authorization: str | None) -> tuple[int, str]:
        """(status, response body) for one chat-completions request."""
        with self._lock:
            self.requests.append(body)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return 401, json.dumps({"error": {"message": "invalid API key"}})
        reply = self._next_reply() or ScriptedReply()
        if reply.delay_s and self._stopping.wait(reply.delay_s):
            return 503, json.dumps({"error": {"message": "server stopping"}})
        if reply.body is not None:
            return reply.status, reply.body
        n = 1 if self.ignore_n else int(body.get("n", 1))
        contents = list(reply.contents) if reply.contents is not None else default_rewrites(_user_text(body), n)
        return 200, json.dumps(_completion(body.get("model", "scripted"), contents))


def _user_text(body: dict) -> str:
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content", "")
    return content if isinstance(content, str) else ""


def _completion(model: str, contents: list[str]) -> dict:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            for i, text in enumerate(contents)
        ],
    }


def _handler_for(server: ScriptedOptimizerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                return
            length = int(self.headers.get("Content-Length", 0))
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, json.dumps({"error": {"message": "request body is not JSON"}}))
                return
            self._send(*server.answer(body, self.headers.get("Authorization")))

        def _send(self, status: int, text: str) -> None:
            send_json_reply(self, status, text.encode())

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the http.server signature)
            log.debug("scripted optimizer: " + format, *args)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the scripted OPRO optimizer on localhost until Ctrl-C.")
    parser.add_argument("--port", type=int, default=8011)
    args = parser.parse_args()
    server = ScriptedOptimizerServer(port=args.port).start()
    print(f"scripted optimizer at {server.base_url}; use opro.optimizer=openai opro.openai.base_url={server.base_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
