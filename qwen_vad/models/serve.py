"""Serve a local checkpoint over the chat-completions subset scoring uses (for CPU checks and tests).

    python -m qwen_vad.models.serve CHECKPOINT --port N [--host 127.0.0.1] [--adapter DIR]

then ``model.backend=server model.server_url=http://127.0.0.1:N/v1``. It answers exactly the
requests of ``qwen_vad.serving.wire`` (one clip and one prompt each), as vLLM does:

  POST /v1/chat/completions   one token with logprobs (``top_logprobs``, ``allowed_token_ids``,
                              ``return_tokens_as_token_ids``), or a greedy answer of up to
                              ``max_tokens`` tokens
  GET  /v1/models             the one model served (its name: the CHECKPOINT argument, or
                              ``--served-model-name``)
  GET  /health                200 once the model is loaded

and HTTP 400 naming the field for anything else (sampling, streaming, several choices, a
conversation that is not one clip then one prompt), 404 for another model or route.

The model is the project's own: ``load_model``, the chat rendering and model inputs of
``qwen_vad.decoding.LLMScorer`` (the request's prompt and system prompt, the clip), and its
forward (left-padded position ids) or its greedy generation (``greedy_generation_config``), so a
served score equals the in-process one. Requests are scored one at a time (a lock; HTTP
connections are still accepted meanwhile). Log-probabilities are those of vLLM's
``--logprobs-mode``: ``processed_logprobs`` (the default here, what docs/serving.md asks of
vLLM) after ``allowed_token_ids``, ``raw_logprobs`` over the whole vocabulary. ``--request-log
FILE`` appends one line per chat request (the SHA-256 of its body, the HTTP status), so a test
can count what reached the server. It binds to loopback unless told otherwise: it has no
authentication.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.decoding import LLMScorer, greedy_generation_config, left_padded_position_ids
from qwen_vad.errors import UserError
from qwen_vad.http_json import send_json_reply
from qwen_vad.models.loader import load_model
from qwen_vad.prompts import GENERATE_MODE, PromptError, PromptTemplate
from qwen_vad.serving import wire

log = logging.getLogger(__name__)

LOGPROBS_MODES = ("processed_logprobs", "raw_logprobs")


class CheckpointEngine:
    """Answers parsed requests with the checkpoint (one at a time)."""

    def __init__(self, model_cfg: ModelConfig, name: str, logprobs_mode: str) -> None:
        self.model, self.processor = load_model(model_cfg)
        self.tokenizer = self.processor.tokenizer
        self.name, self.logprobs_mode = name, logprobs_mode
        shipped = getattr(self.model, "get_base_model", lambda: self.model)().generation_config.eos_token_id
        # The tokens that end an answer (finish_reason "stop" rather than "length").
        self.eos_ids = set(shipped if isinstance(shipped, list) else [shipped]) - {None}
        self._lock = threading.Lock()

    def scorer(self, request: wire.ChatRequest) -> LLMScorer:
        """LLMScorer rendering the request's prompt and system prompt (its inputs are what it scores)."""
        template = PromptTemplate(id="request", text=request.prompt, mode=GENERATE_MODE)
        decoding = DecodingConfig(mode=GENERATE_MODE, system_prompt=request.system_prompt, batch_size=1, max_new_tokens=request.max_tokens)
        return LLMScorer(self.model, self.processor, template, decoding, system=self.name)

    @torch.inference_mode()
    def answer(self, request: wire.ChatRequest) -> dict:
        with self._lock:
            scorer = self.scorer(request)
            # The request's order only (a server request never swaps); row 0 is its clip.
            inputs = scorer.input_preparer()([request.clip]).inputs[0].to(scorer.device)
            prompt_tokens = int(inputs["attention_mask"][0].sum())  # row 0: the clip (companion rows follow)
            if request.max_tokens == 1:
                logits = self.model(**inputs, position_ids=left_padded_position_ids(inputs["attention_mask"])).logits[0, -1].float()
                return self._one_token(request, logits, prompt_tokens)
            with greedy_generation_config(self.model, request.max_tokens) as settings:
                output = self.model.generate(**inputs, generation_config=settings)
        new_tokens = output[0, inputs["input_ids"].shape[1] :].tolist()
        finish = "stop" if self.eos_ids & set(new_tokens) else "length"
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True)
        return wire.completion(self.name, text, finish, prompt_tokens, len(new_tokens), None)

    def _one_token(self, request: wire.ChatRequest, logits: torch.Tensor, prompt_tokens: int) -> dict:
        raw = torch.log_softmax(logits, dim=-1)
        processed = raw
        if request.allowed_token_ids is not None:
            allowed = torch.tensor(request.allowed_token_ids)
            if int(allowed.max()) >= logits.numel():
                raise wire.RequestError(f"allowed_token_ids: the vocabulary has {logits.numel()} tokens")
            masked = torch.full_like(logits, float("-inf"))
            masked[allowed] = logits[allowed]
            processed = torch.log_softmax(masked, dim=-1)
        chosen = int(processed.argmax())  # greedy
        shown = processed if self.logprobs_mode == "processed_logprobs" else raw
        text = self.tokenizer.decode([chosen])
        logprobs = None
        if request.logprobs:
            finite = int(torch.isfinite(shown).sum())
            values, ids = shown.topk(min(request.top_logprobs, finite))
            top = [self._entry(int(i), float(v), request) for v, i in zip(values, ids, strict=True)]
            logprobs = {"content": [{**self._entry(chosen, float(shown[chosen]), request), "top_logprobs": top}]}
        finish = "stop" if chosen in self.eos_ids else "length"
        return wire.completion(self.name, text, finish, prompt_tokens, 1, logprobs)

    def _entry(self, token_id: int, logprob: float, request: wire.ChatRequest) -> dict:
        return wire.logprob_entry(token_id, logprob, self.tokenizer.decode([token_id]), request.token_ids_as_tokens)


class CheckpointServer:
    """The HTTP side: routes, status codes, the request log."""

    def __init__(self, engine: CheckpointEngine, host: str, port: int, request_log: Path | None = None) -> None:
        self.engine, self.request_log = engine, request_log
        self._log_lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}/v1"

    def chat(self, body_bytes: bytes) -> tuple[int, dict]:
        status, reply = self._chat(body_bytes)
        if self.request_log is not None:
            entry = {"time": time.time(), "sha256": hashlib.sha256(body_bytes).hexdigest(), "status": status}
            with self._log_lock, self.request_log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        return status, reply

    def _chat(self, body_bytes: bytes) -> tuple[int, dict]:
        try:
            body = json.loads(body_bytes or b"null")
        except json.JSONDecodeError:
            return _error(400, "the request body is not JSON")
        model = body.get("model") if isinstance(body, dict) else None
        if model is not None and model != self.engine.name:
            return _error(404, f"The model `{model}` does not exist; this server serves {self.engine.name!r}", "NotFoundError")
        try:
            request = wire.parse_request(body)
            return 200, self.engine.answer(request)
        except (wire.RequestError, PromptError) as err:
            return _error(400, str(err))

    def models(self) -> dict:
        return {"object": "list", "data": [{"id": self.engine.name, "object": "model", "created": int(time.time()), "owned_by": "qwen_vad"}]}

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)


def _error(status: int, message: str, kind: str = "BadRequestError") -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": kind, "code": status}}


def _handler_for(server: CheckpointServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
            route = self.path.rstrip("/")
            if route == "/v1/models":
                self._send(200, server.models())
            elif route == "/health":
                self._send(200, {})
            else:
                self._send(*_error(404, f"no route GET {self.path}", "NotFoundError"))

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(*_error(404, f"no route POST {self.path}; this server answers POST /v1/chat/completions", "NotFoundError"))
                return
            try:
                self._send(*server.chat(body))
            except Exception as err:  # a bug, not the client's fault: say so, keep serving
                log.exception("scoring failed")
                self._send(*_error(500, f"{type(err).__name__}: {err}", "InternalServerError"))

        def _send(self, status: int, reply: dict) -> None:
            send_json_reply(self, status, json.dumps(reply).encode())

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the http.server signature)
            log.debug("serve: " + format, *args)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a checkpoint over the chat-completions subset qwen_vad scores with (docs/serving.md).")
    parser.add_argument("checkpoint", help="a local checkpoint folder (or a hub id in the local cache)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="default: loopback only (the server has no authentication)")
    parser.add_argument("--adapter", default=None, help="a PEFT LoRA folder to serve on top of the checkpoint")
    parser.add_argument("--served-model-name", default=None, help="the model name requests use (default: the checkpoint argument)")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16", "fp16"), help="fp32 (CPU checks) or bf16 on a GPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--logprobs-mode", default=LOGPROBS_MODES[0], choices=LOGPROBS_MODES)
    parser.add_argument("--request-log", type=Path, default=None, help="append one JSON line per chat request to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        model_cfg = ModelConfig(name_or_path=args.checkpoint, dtype=args.dtype, device=args.device, adapter=args.adapter)
        engine = CheckpointEngine(model_cfg, args.served_model_name or args.checkpoint, args.logprobs_mode)
        server = CheckpointServer(engine, args.host, args.port, args.request_log)
    except (UserError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"serving {engine.name} at {server.base_url}; use model.backend=server model.server_url={server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
