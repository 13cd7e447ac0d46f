"""JSON over HTTP with OpenAI-compatible servers, both ways: the one request the clients make
(the scoring server's, qwen_vad.serving.client; the optimizer's, qwen_vad.opro.openai_client),
sorted into failures worth retrying and refusals, and the reply the local servers send
(qwen_vad.models.serve; the tests' scripted optimizer).

Each client keeps its own retry loop and words its own errors: it knows which setting to change.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

# Statuses that waiting can fix: timeout, rate limit, a server restarting or overloaded.
RETRIED_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class TransientHTTPError(Exception):
    """No answer, or one that waiting may fix: retry."""


class RefusedHTTPError(Exception):
    """The server answered with a status that waiting does not fix (400, 401, 404, ...)."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url} answered HTTP {status}: {detail}")
        self.status = status


def bearer_headers(api_key_env: str) -> dict[str, str]:
    """JSON content type, and the key in ``$api_key_env`` as a bearer token when it is set."""
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(api_key_env, "") if api_key_env else ""
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def http_call(url: str, data: bytes | None, headers: dict[str, str], timeout_s: float) -> bytes:
    """The reply's bytes to a POST of ``data`` (a GET when None)."""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read()
    except urllib.error.HTTPError as err:
        detail = " ".join(err.read()[:300].decode("utf-8", "replace").split())
        if err.code in RETRIED_HTTP_STATUSES:
            raise TransientHTTPError(f"HTTP {err.code}: {detail}") from None
        raise RefusedHTTPError(url, err.code, detail) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        raise TransientHTTPError(f"{type(reason).__name__}: {reason}") from None


def send_json_reply(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
    """Send ``data`` (JSON bytes) with ``status``; a client that hung up first is not an error."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (its timeout) before the answer was ready
