"""The chat-completions requests that score one clip, and their answers, as vLLM serves them.

One request is one clip and one prompt. Its messages are the conversation the local scorer
renders (``qwen_vad.models.rendering.build_conversation``: an optional system turn, then a user
turn holding the clip and then the prompt text), with the clip inline as a base64 32-bit float
WAV, lossless, so the server hears exactly the samples this process read:

    {"type": "input_audio", "input_audio": {"data": "<base64>", "format": "wav"}}

A/B answer: ``max_tokens`` 1, ``logprobs`` with ``top_logprobs`` 20 and ``allowed_token_ids``
holding the two option letters (a vLLM sampling extra), tokens named ``token_id:N``
(``return_tokens_as_token_ids``) so the two letters are found by id whatever their strings look
like; p_speech comes from their two log-probabilities. Generate mode: ``max_tokens`` =
``decoding.max_new_tokens`` and the text of the answer.

Both ask for greedy decoding with every penalty and truncation off (temperature 0, top_p 1,
top_k -1, repetition_penalty 1): vLLM fills the settings a request leaves unset from the
checkpoint's generation_config (Qwen2-Audio-7B-Instruct: top_k 20, top_p 0.5,
repetition_penalty 1.1, which penalises the option letters the prompt itself contains), as
transformers does locally (``qwen_vad.decoding.greedy_generation_config``).

vLLM computes logprobs before ``allowed_token_ids`` by default (``--logprobs-mode
raw_logprobs``): over the whole vocabulary, where the second letter can fall outside the top 20.
Both modes give the same p_speech when both letters are listed (the difference of two
log-probabilities is the difference of their logits); docs/serving.md starts vLLM with
``--logprobs-mode processed_logprobs``, where the two allowed letters are always the top two.

The server side (``qwen_vad.models.serve``) reads exactly this subset with ``parse_request``
and answers with ``completion``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from scipy.io import wavfile

from qwen_vad.audio.io import SAMPLE_RATE, AudioError, to_mono_16k
from qwen_vad.models.rendering import AUDIO_PLACEHOLDER, build_conversation

# OpenAI's cap and vLLM's default --max-logprobs: the most a server accepts without a flag.
TOP_LOGPROBS = 20
TOKEN_ID_PREFIX = "token_id:"
# Greedy, nothing penalised or truncated (see the module docstring).
GREEDY = {"temperature": 0.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0}
AUDIO_DATA_URL_PREFIX = "data:audio/wav;base64,"


class NotACompletion(ValueError):
    """A reply that is not a chat completion (a proxy's error page, a truncated body)."""


class MissingOptionError(ValueError):
    """A completion whose logprobs do not list both option letters."""


# --------------------------------------------------------------------------------------------
# Client side: requests and what is read from their answers


def encode_clip(clip: np.ndarray) -> str:
    """Base64 of a 16 kHz 32-bit float WAV of ``clip``. scipy writes it: libsndfile would add a
    PEAK chunk with a timestamp, and the same clip must always be the same bytes (the answer
    log recognises a request by its bytes)."""
    buffer = io.BytesIO()
    wavfile.write(buffer, SAMPLE_RATE, np.asarray(clip, dtype=np.float32))
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def clip_messages(prompt: str, system_prompt: str | None, clip: np.ndarray) -> list[dict]:
    """The local scorer's conversation with the clip inline where its placeholder stands."""
    audio = {"type": "input_audio", "input_audio": {"data": encode_clip(clip), "format": "wav"}}
    messages = build_conversation(prompt, system_prompt)
    for message in messages:
        if isinstance(message["content"], list):
            message["content"] = [audio if part == AUDIO_PLACEHOLDER else part for part in message["content"]]
    return messages


def ab_request(model: str, messages: list[dict], option_ids: Sequence[int]) -> dict:
    """One generated token restricted to the option letters, with their log-probabilities."""
    return {
        "model": model, "messages": messages, "max_tokens": 1, "logprobs": True, "top_logprobs": TOP_LOGPROBS,
        "allowed_token_ids": list(option_ids), "return_tokens_as_token_ids": True, **GREEDY,
    }  # fmt: skip


def generate_request(model: str, messages: list[dict], max_tokens: int) -> dict:
    return {"model": model, "messages": messages, "max_tokens": max_tokens, **GREEDY}


def payload(body: dict) -> bytes:
    """The request's bytes: the same request is always the same bytes."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def option_logprobs(response: bytes, option_ids: Sequence[int], option_texts: dict[int, str]) -> dict[str, float]:
    """{str(token id): log-probability} of each option letter in an A/B completion.

    Tokens are matched by ``token_id:N``, or by their text (``option_texts``) for a server that
    ignores ``return_tokens_as_token_ids``.
    """
    first = _choice(response).get("logprobs") or {}
    content = first.get("content") if isinstance(first, dict) else None
    if not content or not isinstance(content[0], dict):
        raise NotACompletion("a completion without logprobs")
    entries = [content[0], *(content[0].get("top_logprobs") or [])]
    by_text = {text: token_id for token_id, text in option_texts.items()}
    found: dict[str, float] = {}
    for entry in entries:
        token = entry.get("token", "")
        token_id = int(token[len(TOKEN_ID_PREFIX) :]) if token.startswith(TOKEN_ID_PREFIX) else by_text.get(token)
        if token_id in option_ids and str(token_id) not in found:
            found[str(token_id)] = float(entry["logprob"])
    missing = [option_texts.get(i, str(i)) for i in option_ids if str(i) not in found]
    if missing:
        raise MissingOptionError(f"option {', '.join(map(repr, missing))} not among the {len(entries)} logprobs returned")
    return found


def completion_text(response: bytes) -> str:
    message = _choice(response).get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise NotACompletion("a completion without message content")
    return content


def _choice(response: bytes) -> dict:
    try:
        choices = json.loads(response)["choices"]
        choice = choices[0]
    except (ValueError, KeyError, TypeError, IndexError):
        raise NotACompletion(f"not a chat completion: {response[:200]!r}") from None
    if not isinstance(choice, dict):
        raise NotACompletion(f"not a chat completion: {response[:200]!r}")
    return choice


# --------------------------------------------------------------------------------------------
# Server side: the subset a request may use, and the completion it gets


class RequestError(ValueError):
    """A request outside the subset (HTTP 400); the message names the field."""


# Fields a request may carry, and for the sampling ones the only values served: this server
# decodes greedily with nothing penalised (what the client sends).
NEUTRAL_VALUES: dict[str, tuple[object, ...]] = {
    "temperature": (0, 0.0), "top_p": (1, 1.0), "top_k": (-1, 0), "repetition_penalty": (1, 1.0),
    "presence_penalty": (0, 0.0), "frequency_penalty": (0, 0.0), "n": (1,), "stream": (False,),
}  # fmt: skip
FIELDS = (
    "model", "messages", "max_tokens", "max_completion_tokens", "logprobs", "top_logprobs", "allowed_token_ids",
    "return_tokens_as_token_ids", *NEUTRAL_VALUES,
)  # fmt: skip


@dataclass(frozen=True)
class ChatRequest:
    model: str | None
    system_prompt: str | None
    prompt: str
    clip: np.ndarray
    max_tokens: int
    logprobs: bool
    top_logprobs: int
    allowed_token_ids: tuple[int, ...] | None
    token_ids_as_tokens: bool  # return_tokens_as_token_ids


def parse_request(body: object) -> ChatRequest:
    """The request, checked to be one clip and one prompt with the fields above; RequestError otherwise."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise RequestError(f"unsupported field(s) {', '.join(unknown)}; this server serves {', '.join(FIELDS)}")
    for name, values in NEUTRAL_VALUES.items():
        if body.get(name) is not None and (isinstance(body[name], bool) != isinstance(values[0], bool) or body[name] not in values):
            raise RequestError(f"{name}={body[name]!r}: this server decodes greedily, one choice, no streaming; {name} may only be {values[0]!r}")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens", 16))
    if not _is_int(max_tokens) or max_tokens < 1:
        raise RequestError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    logprobs = body.get("logprobs") or False
    top_logprobs = body.get("top_logprobs") or 0
    if not isinstance(logprobs, bool) or not _is_int(top_logprobs) or not 0 <= top_logprobs <= TOP_LOGPROBS:
        raise RequestError(f"logprobs must be true or false and top_logprobs an integer 0..{TOP_LOGPROBS}")
    if top_logprobs and not logprobs:
        raise RequestError("top_logprobs needs logprobs=true")
    allowed = body.get("allowed_token_ids")
    if allowed is not None and (not isinstance(allowed, list) or not allowed or not all(_is_int(i) and i >= 0 for i in allowed)):
        raise RequestError("allowed_token_ids must be a non-empty list of token ids")
    if (logprobs or allowed is not None) and max_tokens != 1:
        raise RequestError("logprobs and allowed_token_ids are served for one-token answers (max_tokens=1) only")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError("model must be a string")
    system_prompt, prompt, clip = _read_messages(body.get("messages"))
    return ChatRequest(model, system_prompt, prompt, clip, max_tokens, logprobs, top_logprobs,
                       tuple(allowed) if allowed is not None else None, bool(body.get("return_tokens_as_token_ids")))  # fmt: skip


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_messages(messages: object) -> tuple[str | None, str, np.ndarray]:
    """(system prompt, prompt text, clip) of [system?, user: [audio, text]]."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= 2 or not all(isinstance(m, dict) for m in messages):
        raise RequestError("messages must be [user] or [system, user]: one clip and one prompt per request")
    *head, user = messages
    system_prompt = None
    if head:
        if head[0].get("role") != "system" or not isinstance(head[0].get("content"), str):
            raise RequestError("the first of two messages must be a system message with text content")
        system_prompt = head[0]["content"]
    content = user.get("content")
    if user.get("role") != "user" or not isinstance(content, list) or len(content) != 2 or not all(isinstance(p, dict) for p in content):
        raise RequestError("the last message must be a user message whose content is [audio part, text part]")
    audio, text = content
    if text.get("type") != "text" or not isinstance(text.get("text"), str):
        raise RequestError("the user content must be an audio part followed by a text part (the clip before the prompt, as qwen_vad renders it)")
    return system_prompt, text["text"], _read_audio_part(audio)


def _read_audio_part(part: dict) -> np.ndarray:
    if part.get("type") == "input_audio" and isinstance(part.get("input_audio"), dict):
        audio = part["input_audio"]
        if audio.get("format") != "wav" or not isinstance(audio.get("data"), str):
            raise RequestError("input_audio must be {'data': <base64 WAV>, 'format': 'wav'}")
        return decode_clip(audio["data"])
    if part.get("type") == "audio_url" and isinstance(part.get("audio_url"), dict):
        url = part["audio_url"].get("url")
        if not isinstance(url, str) or not url.startswith(AUDIO_DATA_URL_PREFIX):
            raise RequestError(f"audio_url must be a data URL ({AUDIO_DATA_URL_PREFIX}...); this server fetches nothing")
        return decode_clip(url[len(AUDIO_DATA_URL_PREFIX) :])
    raise RequestError("the user content must be an audio part (input_audio, or audio_url with a data URL) followed by a text part")


def decode_clip(data: str) -> np.ndarray:
    """16 kHz mono float32 samples of a base64 audio file (resampled and down-mixed like any input)."""
    try:
        samples, sample_rate = sf.read(io.BytesIO(base64.b64decode(data, validate=True)), dtype="float64", always_2d=False)
        return to_mono_16k(samples, sample_rate, name="the request's audio")
    except (binascii.Error, ValueError) as err:
        raise RequestError(f"the audio is not a readable base64 WAV: {err}") from None
    except (AudioError, sf.LibsndfileError, RuntimeError) as err:
        raise RequestError(f"the audio is not usable: {err}") from None


def logprob_entry(token_id: int, logprob: float, text: str, as_token_id: bool) -> dict:
    token = f"{TOKEN_ID_PREFIX}{token_id}" if as_token_id else text
    return {"token": token, "logprob": logprob, "bytes": list(text.encode("utf-8"))}


def completion(model: str, content: str, finish_reason: str, prompt_tokens: int, completion_tokens: int, logprobs: dict | None) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": logprobs, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    }
