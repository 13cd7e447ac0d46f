"""``resume=true``: continue the latest interrupted opro run of the experiment in a new run folder.

Run folders are never overwritten, so the new run copies what the old one had: its score cache
(no prompt is scored again), the scoring server's answers with ``model.backend=server`` (no
answered request is sent again, qwen_vad.serving.answer_log) and its history up to the last
finished step, which the new run replays into its own history file. The interrupted step is redone; the optimizer replies it had
already received are reused when the step's meta-prompt comes out the same. The settings that
shape the search (seed, data, model, decoding, opro) must be those of the interrupted run, except
the ones that cannot change its past (budgets, the optimizer's and the scoring server's
address and connection, the output folder); a difference is an error naming the keys.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from omegaconf import OmegaConf

from qwen_vad.errors import UserError
from qwen_vad.config import Config, config_yaml
from qwen_vad.opro.history import HISTORY_FILE, read_events
from qwen_vad.opro.score_cache import SCORE_CACHE_FILE
from qwen_vad.opro.search import PendingStep
from qwen_vad.runs import Run, find_runs, run_status
from qwen_vad.serving.answer_log import ANSWERS_FILE
from qwen_vad.settings import flat_settings

# Keys (dotted prefixes) that shape the search, and those of them a resumed run may change.
SEARCH_SETTINGS = ("seed", "data.", "model.", "decoding.", "opro.")
CHANGEABLE_ON_RESUME = (
    "opro.openai.", "opro.hf.", "opro.max_steps", "opro.max_candidates", "opro.patience", "opro.optimized_dir",
    "model.server_url", "model.server_concurrency", "model.server_timeout_s", "model.server_max_retries",
    "model.server_backoff_s", "model.server_api_key_env",
)  # fmt: skip


class ResumeError(UserError, RuntimeError):
    pass


def interrupted_run(results_dir: str, exp: str, current: Run) -> Path:
    """The latest opro run of ``exp`` before ``current``; it must not have finished."""
    earlier = [p for p in find_runs(results_dir, "opro", exp, status=None) if p != current.dir]
    if not earlier:
        raise ResumeError(f"resume=true, but there is no earlier opro run of {exp!r} under {results_dir}/opro/{exp}")
    latest = earlier[-1]
    if run_status(latest) == "done":
        raise ResumeError(f"the latest opro run of {exp!r} ({latest}) finished: nothing to resume; run without resume=true")
    if not (latest / HISTORY_FILE).is_file():
        raise ResumeError(f"{latest} holds no {HISTORY_FILE}: it stopped before the search began; run without resume=true")
    return latest


def check_same_search(previous: Path, cfg: Config) -> None:
    """Raise if the interrupted run searched with settings that would change its past."""
    before = flat_settings(OmegaConf.to_container(OmegaConf.load(previous / "config.yaml")))
    now = flat_settings(OmegaConf.to_container(OmegaConf.create(config_yaml(cfg))))
    changed = sorted(
        key for key in before.keys() | now.keys()
        if before.get(key) != now.get(key) and key.startswith(SEARCH_SETTINGS) and not key.startswith(CHANGEABLE_ON_RESUME)
    )  # fmt: skip
    if changed:
        details = "; ".join(f"{key}: {before.get(key)!r} -> {now.get(key)!r}" for key in changed)
        raise ResumeError(f"cannot resume {previous}: settings changed ({details}); start a new run instead")


def carry_over(previous: Path, run: Run) -> tuple[list[dict], dict[int, PendingStep]]:
    """Copy the score cache (and the server's answers) into ``run``; the events to replay and the
    unfinished step's replies."""
    for name in (SCORE_CACHE_FILE, ANSWERS_FILE):
        if (previous / name).is_file():
            shutil.copyfile(previous / name, run.path(name))
    return replayable_events(read_events(previous / HISTORY_FILE))


def replayable_events(events: list[dict]) -> tuple[list[dict], dict[int, PendingStep]]:
    """Events up to the last finished step (and a ``stopped`` after it); the replies of the step after."""
    finished = [i for i, event in enumerate(events) if event["event"] == "step_done"]
    cut = finished[-1] + 1 if finished else sum(1 for event in events[:1] if event["event"] == "start")
    kept = events[:cut] + [event for event in events[cut:] if event["event"] == "stopped"][:1]
    pending: dict[int, PendingStep] = {}
    for event in events[cut:]:
        if event["event"] == "meta_prompt":
            pending[event["step"]] = PendingStep(meta_prompt=event["text"])
        elif event["event"] == "optimizer_output" and event["step"] in pending:
            pending[event["step"]].outputs.append(event["raw"])
    return kept, pending
