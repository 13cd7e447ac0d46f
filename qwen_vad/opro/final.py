"""The end of a search: the chosen prompt evaluated like every other system, then published.

The best prompt on dev is scored through the protocol every row of the comparison goes through
(qwen_vad.scoring.protocol: the backend's scorer, ``LLMScorer`` in this process or the scoring
server's, + ``score_clips``, real per-clip latencies): on the
evaluation set's *full* dev split, where the threshold is learned (the search's dev subset only
chose the prompt; a threshold learned on it would make A2 differ from A1 by a threshold effect
even with the same prompt), and on the test split, once: the only time this stage reads test
audio. ``predictions.parquet``, ``threshold.json``, ``skipped_clips.csv``, ``prompt.txt`` and
``metrics.json`` follow the evaluate stage's contract; ``metrics.json`` gains an ``opro`` block.

The prompt is written to ``<opro.optimized_dir>/<exp>.txt`` (what ``decoding.prompt=optimized/<exp>``
loads) with its scores as header lines. A file already there from an earlier run is kept beside
it as ``<exp>.<that run's id>.txt``: the newest search is the default, no result is lost.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from qwen_vad.config import Config
from qwen_vad.opro.history import ScoredPrompt
from qwen_vad.opro.reward import reward
from qwen_vad.opro.session import SearchSession
from qwen_vad.prompts import PROMPT_SUFFIX, PromptTemplate, format_prompt_file, parse_prompt
from qwen_vad.runs import Run, repo_relative
from qwen_vad.scoring.batches import ScoredClips
from qwen_vad.scoring.protocol import score_and_record
from qwen_vad.serving.run_answers import keep_answers_in_run

log = logging.getLogger(__name__)

BEST_PROMPT_FILE = "best_prompt.txt"  # a copy of the published prompt inside the run folder


def published_template(best: ScoredPrompt, run: Run) -> PromptTemplate:
    """The chosen prompt under an id naming the experiment and run, so predictions of prompts
    from different searches never share a prompt_id."""
    source = f"OPRO {run.exp}, candidate {best.template.id} of step {best.step}"
    return dataclasses.replace(best.template, id=f"opro-{run.exp}-{run.dir.name}", metadata={"source": source})


def evaluate_final_prompt(
    cfg: Config, run: Run, session: SearchSession, template: PromptTemplate
) -> tuple[dict[str, ScoredClips], dict]:
    """Score the full dev split and the test split with ``template``, learn the threshold on dev,
    write the evaluate outputs."""
    scorer = session.backend.scorer(template, cfg.decoding, session.system)
    keep_answers_in_run(scorer, run)  # server answers, as the search's
    result = score_and_record(cfg, run, scorer, session.evaluation)
    return result.scored, result.threshold


def publish(
    cfg: Config, run: Run, session: SearchSession, best: ScoredPrompt, template: PromptTemplate,
    scored: dict[str, ScoredClips], threshold: dict,
) -> Path:  # fmt: skip
    """Write the prompt file, the run's copy of it, the metrics' opro block and the final event."""
    metrics = json.loads(run.path("metrics.json").read_text())
    test = metrics["splits"].get("test", {})
    test_rows = scored["test"].rows
    state = session.history.state
    summary = {
        "prompt_id": template.id,
        "searched_prompt_id": best.template.id,
        "step": best.step,
        "train_score": best.train_score,
        "dev_score": best.dev_score,
        # The search's score (reward of the constrained answers) on test, comparable with dev_score.
        "test_score": reward(test_rows, test_rows["p_speech"].to_numpy(), cfg.opro.reward_lambda) if len(test_rows) else None,
        "threshold": threshold["threshold"],
        "test_accuracy": test.get("accuracy"),
        "test_balanced_accuracy": test.get("balanced_accuracy"),
        "steps": state.completed_step,
        "candidates_scored": state.candidates_scored,
        "stop_reason": state.stop_reason,
        "run": repo_relative(run.dir),
    }
    scored_template = dataclasses.replace(template, metadata={**template.metadata, **_header_values(summary)})
    prompt_file = save_prompt_file(scored_template, Path(cfg.opro.optimized_dir), run.exp)
    run.path(BEST_PROMPT_FILE).write_text(format_prompt_file(scored_template), encoding="utf-8")
    summary["prompt_file"] = str(prompt_file)
    metrics["opro"] = summary
    run.path("metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    session.history.record({"event": "final", "step": state.completed_step, "text": template.text, **summary})
    log.info("best prompt %s (dev %.4f, test %s) written to %s", best.template.id, best.dev_score, summary["test_score"], prompt_file)
    return prompt_file


def save_prompt_file(template: PromptTemplate, optimized_dir: Path, exp: str) -> Path:
    """``<optimized_dir>/<exp>.txt``; an existing file is first renamed after the run that wrote it."""
    optimized_dir.mkdir(parents=True, exist_ok=True)
    target = optimized_dir / f"{exp}{PROMPT_SUFFIX}"
    if target.exists():
        kept = _free_name(optimized_dir, f"{exp}.{_written_by(target)}")
        target.rename(kept)
        log.info("kept the earlier %s as %s", target, kept)
    target.write_text(format_prompt_file(template), encoding="utf-8")
    return target


def _header_values(summary: dict) -> dict[str, str]:
    keys = ("run", "step", "dev_score", "test_score", "threshold", "test_accuracy", "test_balanced_accuracy")
    return {key: _one_line(summary[key]) for key in keys if summary[key] is not None}


def _one_line(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _written_by(prompt_file: Path) -> str:
    """The run id in the file's ``# run:`` header, else its modification time."""
    try:
        run_path = parse_prompt(prompt_file.read_text(encoding="utf-8"), prompt_file.stem).metadata.get("run", "")
    except ValueError:
        run_path = ""
    return Path(run_path).name or time.strftime("%Y%m%d-%H%M%S", time.localtime(prompt_file.stat().st_mtime))


def _free_name(folder: Path, stem: str) -> Path:
    candidate, number = folder / f"{stem}{PROMPT_SUFFIX}", 1
    while candidate.exists():
        candidate, number = folder / f"{stem}-{number}{PROMPT_SUFFIX}", number + 1
    return candidate
