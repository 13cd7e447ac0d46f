"""``opro_history.jsonl``: every event of a search, and the search state rebuilt from it.

The search never changes its state directly: it writes an event and applies it, so replaying a
history file gives the state the run had (that is how ``resume=true`` continues a run). Events,
one JSON object per line, each with ``event`` and ``step`` (0 = the seed prompts):

  start            mode, optimizer, the train-subset and dev clip ids, clips skipped as unreadable
  candidate        prompt_id, origin (seed | optimizer), output_index, text, status
                   (scored | rejected | duplicate | over_budget), reason, letters, train_score
  meta_prompt      text
  optimizer_output index, raw (the optimizer's reply, verbatim)
  optimizer_error  error (the run then fails; resume=true retries the step)
  dev_score        prompt_id, dev_score
  step_done        best_prompt_id, best_dev_score, steps_without_improvement, candidates_scored
  resumed          from_run
  stopped          reason
  final            the chosen prompt and its dev / test results
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from qwen_vad.distributed import is_main_process
from qwen_vad.opro.candidates import normalize_prompt
from qwen_vad.prompts import AB_MODE, PromptTemplate

HISTORY_FILE = "opro_history.jsonl"

SCORED, REJECTED, DUPLICATE, OVER_BUDGET = "scored", "rejected", "duplicate", "over_budget"
SEED, OPTIMIZER = "seed", "optimizer"


@dataclass
class ScoredPrompt:
    template: PromptTemplate
    step: int
    origin: str  # seed | optimizer
    train_score: float
    dev_score: float | None = None


@dataclass
class SearchState:
    """What the search knows after the events applied so far."""

    prompts: dict[str, ScoredPrompt] = field(default_factory=dict)  # in the order they were scored
    seen_texts: dict[str, str] = field(default_factory=dict)  # normalised text -> first prompt id (dedupe)
    completed_step: int = -1  # the last step with a step_done event; -1 before the seeds
    best_dev_score: float | None = None
    steps_without_improvement: int = 0
    candidates_scored: int = 0  # optimizer proposals scored (seeds excluded)
    stop_reason: str | None = None

    def apply(self, event: dict) -> None:
        kind = event["event"]
        if kind == "candidate":
            self._apply_candidate(event)
        elif kind == "dev_score":
            self.prompts[event["prompt_id"]].dev_score = event["dev_score"]
        elif kind == "step_done":
            self._close_step(event["step"])
        elif kind == "stopped":
            self.stop_reason = event["reason"]

    def _apply_candidate(self, event: dict) -> None:
        if event["text"]:
            # Seeds are recorded as their files hold them; proposals arrive normalised already.
            self.seen_texts.setdefault(normalize_prompt(event["text"]), event["prompt_id"])
        if event["status"] != SCORED:
            return
        template = PromptTemplate(
            id=event["prompt_id"],
            text=event["text"],
            mode=AB_MODE,
            speech_option=event["speech_option"],
            nonspeech_option=event["nonspeech_option"],
            metadata={"source": event["source"]},
        )
        self.prompts[template.id] = ScoredPrompt(template, event["step"], event["origin"], event["train_score"])
        if event["origin"] == OPTIMIZER:
            self.candidates_scored += 1

    def _step_outcome(self, step: int) -> tuple[float | None, int]:
        """(best dev score, steps without improvement) once ``step`` is closed."""
        best = self.best_on_dev()
        if best is not None and (self.best_dev_score is None or best.dev_score > self.best_dev_score):
            return best.dev_score, 0
        return self.best_dev_score, self.steps_without_improvement + (1 if step > 0 else 0)

    def _close_step(self, step: int) -> None:
        self.best_dev_score, self.steps_without_improvement = self._step_outcome(step)
        self.completed_step = step

    def best_on_dev(self) -> ScoredPrompt | None:
        """The highest dev score; ties go to the higher train score, then the earlier prompt."""
        on_dev = [(i, p) for i, p in enumerate(self.prompts.values()) if p.dev_score is not None]
        if not on_dev:
            return None
        return max(on_dev, key=lambda item: (item[1].dev_score, item[1].train_score, -item[0]))[1]

    def best_on_train(self) -> ScoredPrompt | None:
        if not self.prompts:
            return None
        ordered = list(self.prompts.values())
        return max(enumerate(ordered), key=lambda item: (item[1].train_score, -item[0]))[1]

    def step_done_event(self, step: int) -> dict:
        """The event closing ``step``, with the summary a reader of the history wants."""
        best_dev_score, steps_without_improvement = self._step_outcome(step)
        best = self.best_on_dev()
        return {
            "event": "step_done",
            "step": step,
            "best_prompt_id": best.template.id if best else None,
            "best_dev_score": best_dev_score,
            "steps_without_improvement": steps_without_improvement,
            "candidates_scored": self.candidates_scored,
        }


class History:
    """The history file of one run and the state it implies; ``record`` does both at once. Under
    a multi-process launch every rank applies every event and rank 0 alone writes the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = SearchState()

    def record(self, event: dict) -> None:
        if is_main_process():
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event, allow_nan=False) + "\n")
        self.state.apply(event)


def read_events(path: Path) -> list[dict]:
    """The events of a history file; a last line cut off by a crash is dropped."""
    events = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines) - 1:
                break
            raise ValueError(f"{path}: line {number + 1} is not JSON") from None
    return events
