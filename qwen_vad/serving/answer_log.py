"""Every answer the scoring server gave, appended to a JSON-lines file in the run folder.

A request is recognised by the SHA-256 of its bytes (model, messages with the clip's audio,
sampling settings: everything that decides the answer), so an answer is reused only for the
very same request. The answers a resumed run starts with (copied from the interrupted run, see
``qwen_vad.serving.run_answers``) are not asked again, each with the round-trip time it took
then; within a run every request is sent (a warm-up batch is scored twice on purpose).

Lines are appended as answers arrive, from the pool's threads, so a run stopped at any point
keeps every answer it received; a last line cut short by a kill is ignored on reading.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)

ANSWERS_FILE = "server_answers.jsonl"


def request_key(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


class AnswerLog:
    """key -> (answer, seconds): the answers found in ``path`` when opened, and appends new ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._carried: dict[str, tuple[dict, float]] = {}
        self._lock = threading.Lock()
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, 1):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    if number == len(lines):  # the write a kill interrupted
                        log.warning("%s: ignoring its incomplete last line", path)
                        continue
                    raise
                self._carried[entry["key"]] = (entry["answer"], float(entry["seconds"]))
        if self._carried:
            log.info("%d server answers carried over in %s: those requests are not sent again", len(self._carried), path)

    def carried(self, key: str) -> tuple[dict, float] | None:
        return self._carried.get(key)

    def record(self, key: str, answer: dict, seconds: float) -> None:
        line = json.dumps({"key": key, "answer": answer, "seconds": seconds}) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
