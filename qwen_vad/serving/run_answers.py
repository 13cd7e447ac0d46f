"""Server answers kept in the run folder (``server_answers.jsonl``), and ``resume=true`` for evaluate.

A scorer that talks to a server (``model.backend=server``) keeps every answer in its run's
folder. ``resume=true`` continues the latest interrupted evaluate run of the experiment with the
same settings (so each seed of a sweep finds its own) in a new run folder: the interrupted run's
answers are copied in first, so the clips it had scored are not sent again, and the new run
scores the rest and writes the outputs as if nothing had happened. Settings that cannot change
an answer (the server's address and connection, batch sizes, warm-up) may differ. The OPRO
stage carries the file over with its own resume (qwen_vad.opro.resume).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from qwen_vad.config import Config, config_yaml
from qwen_vad.errors import ConfigError, UserError
from qwen_vad.runs import Run, find_runs, run_status
from qwen_vad.scoring.base import Scorer
from qwen_vad.serving.answer_log import ANSWERS_FILE
from qwen_vad.settings import changed_keys, flat_settings

log = logging.getLogger(__name__)

# Settings (dotted prefixes) a resumed run may change: none of them changes an answer.
CHANGEABLE_ON_RESUME = (
    "resume", "force", "model.server_url", "model.server_concurrency", "model.server_timeout_s",
    "model.server_max_retries", "model.server_backoff_s", "model.server_api_key_env", "decoding.batch_size",
    "evaluate.warmup_batches",
)  # fmt: skip


class ResumeError(UserError, RuntimeError):
    """A resume=true run that cannot continue; the message says which run and why."""


def keep_answers_in_run(scorer: object, run: Run) -> bool:
    """A scorer that keeps its answers (the server backend's) keeps them in ``run``'s folder."""
    keep = getattr(scorer, "keep_answers", None)
    if keep is None:
        return False
    keep(run.path(ANSWERS_FILE))
    return True


def resumed_run(cfg: Config, run: Run) -> Path | None:
    """With resume=true, the interrupted run this one continues (found before any model is loaded)."""
    return interrupted_run(cfg, run) if cfg.resume else None


def keep_answers(run: Run, scorer: Scorer, resumed: Path | None) -> None:
    """The evaluate stage's answers in its run folder, those of the run it resumes copied in first."""
    if resumed is not None:
        if getattr(scorer, "keep_answers", None) is None:
            raise ConfigError("resume=true: the evaluate stage resumes server-backed scoring (model.backend=server), which keeps "
                              f"every answer in the run folder; {scorer.system} scores in this process, so run it without resume=true")  # fmt: skip
        if (resumed / ANSWERS_FILE).is_file():
            shutil.copyfile(resumed / ANSWERS_FILE, run.path(ANSWERS_FILE))
        log.info("resuming %s", resumed)
    keep_answers_in_run(scorer, run)


def interrupted_run(cfg: Config, run: Run) -> Path:
    """The latest earlier run of this stage and experiment with these settings; it must not have finished."""
    earlier = [p for p in find_runs(cfg.paths.results_dir, run.stage, run.exp, status=None) if p != run.dir]
    settings = _settings(config_yaml(cfg))
    same = [p for p in earlier if _changed(_settings((p / "config.yaml").read_text()), settings) == []]
    where = f"{cfg.paths.results_dir}/{run.stage}/{run.exp}"
    if not same:
        hint = ""
        if earlier:
            changed = _changed(_settings((earlier[-1] / "config.yaml").read_text()), settings)
            hint = f" (the latest, {earlier[-1].name}, differs in {', '.join(changed[:5])})"
        raise ResumeError(f"resume=true, but no earlier {run.stage} run under {where} has these settings{hint}")
    if run_status(same[-1]) == "done":
        raise ResumeError(f"{same[-1]} finished: nothing to resume; run without resume=true")
    return same[-1]


def _settings(yaml_text: str) -> dict[str, object]:
    return flat_settings(OmegaConf.to_container(OmegaConf.create(yaml_text)))


def _changed(before: dict[str, object], now: dict[str, object]) -> list[str]:
    return [key for key in changed_keys(before, now) if not key.startswith(CHANGEABLE_ON_RESUME)]
