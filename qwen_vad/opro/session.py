"""Everything a search needs, set up once: the model (with the b4 adapter resolved), the search's
clip sets with their audio, the score and audio caches, and the history (new or resumed).

The model runs where ``model.backend`` says (qwen_vad.scoring.backends): in this process, where
each clip's audio is encoded once for all prompts (qwen_vad.opro.audio_cache), or on a scoring
server (docs/serving.md), which gets every prompt with the clip's audio and whose answers are
kept in the run folder; the optimizer is its own endpoint either way.

The search sets are a seeded, label-balanced subset of the training set's train split
(``opro.train_subset_size``; ``train_data``, else the evaluation set's own train split) and of
the evaluation set's dev split (``opro.dev_max_clips``, 0 = all). The final evaluation scores
the full dev split (threshold) and the test split, which nothing before it reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from transformers import PreTrainedModel, ProcessorMixin

from qwen_vad.audio.io import AudioError, load_audio
from qwen_vad.adapter_source import resolve_model_config
from qwen_vad.config import Config, ModelConfig
from qwen_vad.data.datasets import Dataset, open_evaluation_set, open_training_set
from qwen_vad.distributed import share_from_main
from qwen_vad.opro.history import HISTORY_FILE, History
from qwen_vad.opro.resume import ResumeError, carry_over, check_same_search, interrupted_run
from qwen_vad.opro.score_cache import SCORE_CACHE_FILE, ScoreCache, scorer_identity
from qwen_vad.opro.search import PendingStep
from qwen_vad.opro.search_scorer import SearchScorer
from qwen_vad.runs import Run
from qwen_vad.scoring.backends import LLMBackend, open_backend
from qwen_vad.scoring.systems import llm_system_name
from qwen_vad.serving.run_answers import keep_answers_in_run
from qwen_vad.scoring.subsets import subset_clips

log = logging.getLogger(__name__)

@dataclass
class SearchSession:
    model_cfg: ModelConfig  # cfg.model with the adapter resolved
    backend: LLMBackend  # where the model runs (model.backend)
    model: PreTrainedModel | None  # the model in this process; None when a server holds it
    processor: ProcessorMixin | None
    system: str  # the predictions' system name
    evaluation: Dataset  # what the final prompt is scored on, like every row of the matrix
    history: History
    scorer: SearchScorer
    pending: dict[int, PendingStep]


def open_session(cfg: Config, run: Run) -> SearchSession:
    model_cfg = resolve_model_config(cfg)  # b4: B3's adapter of this seed
    training, evaluation = open_training_set(cfg), open_evaluation_set(cfg)  # + cross-dataset leakage audit
    clips = search_clip_sets(cfg, training, evaluation)
    audio, skipped = load_search_audio(clips, {"train": training.folder, "dev": evaluation.folder})
    unreadable = [s["clip_id"] for s in skipped]
    clips = {split: frame[~frame["clip_id"].isin(unreadable)].reset_index(drop=True) for split, frame in clips.items()}
    # Rank 0 starts (or resumes) the history and copies the score cache; every rank gets the state.
    history, pending = share_from_main(lambda: start_history(cfg, run, clips, skipped, model_cfg))
    backend = open_backend(model_cfg)  # local: the model loaded here; server: reached, its tokenizer loaded
    identity = scorer_identity(model_cfg, cfg.decoding, f"{training.fingerprint}+{evaluation.fingerprint}")
    cache = ScoreCache(run.path(SCORE_CACHE_FILE), identity)
    prompt_scorer = backend.prompt_scorer(cfg.decoding, audio)
    keep_answers_in_run(prompt_scorer, run)  # server answers, carried over by a resumed run
    scorer = SearchScorer(prompt_scorer, cache, clips, cfg.opro.reward_lambda)
    return SearchSession(
        model_cfg, backend, backend.model, backend.processor, llm_system_name(model_cfg), evaluation, history, scorer, pending
    )


def search_clip_sets(cfg: Config, training: Dataset, evaluation: Dataset) -> dict[str, pd.DataFrame]:
    return {
        "train": subset_clips(training.manifest, "train", cfg.opro.train_subset_size, cfg.seed),
        "dev": subset_clips(evaluation.manifest, "dev", cfg.opro.dev_max_clips, cfg.seed),
    }


def load_search_audio(clips: dict[str, pd.DataFrame], folders: dict[str, Path]) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Waveforms of the search clips, read once; unreadable clips are left out and listed."""
    audio, skipped = {}, []
    for split, frame in clips.items():
        for row in frame.itertuples(index=False):
            try:
                audio[row.clip_id] = load_audio(folders[split] / row.path)
            except AudioError as err:
                skipped.append({"split": split, "clip_id": row.clip_id, "path": row.path, "error": str(err)})
                log.warning("skipping clip %s: %s", row.clip_id, err)
    return audio, skipped


def start_history(
    cfg: Config, run: Run, clips: dict[str, pd.DataFrame], skipped: list[dict], model_cfg: ModelConfig
) -> tuple[History, dict[int, PendingStep]]:
    history = History(run.path(HISTORY_FILE))
    start = {
        "event": "start", "step": 0, "mode": cfg.opro.mode, "optimizer": cfg.opro.optimizer, "adapter": model_cfg.adapter,
        "train_clip_ids": clips["train"]["clip_id"].tolist(), "dev_clip_ids": clips["dev"]["clip_id"].tolist(),
        "skipped_clips": skipped,
    }  # fmt: skip
    if not cfg.resume:
        history.record(start)
        return history, {}
    previous = interrupted_run(cfg.paths.results_dir, run.exp, run)
    check_same_search(previous, cfg)
    events, pending = carry_over(previous, run)
    if not events or events[0]["event"] != "start" or any(
        events[0][key] != start[key] for key in ("train_clip_ids", "dev_clip_ids", "adapter")
    ):
        raise ResumeError(
            f"cannot resume {previous}: its clip sets or adapter differ from this run's "
            "(a rebuilt dataset, or a newer finetune run?); start a new run instead"
        )
    for event in events:
        history.record(event)
    history.record({"event": "resumed", "step": history.state.completed_step, "from_run": str(previous)})
    log.info("resumed %s after step %d", previous, history.state.completed_step)
    return history, pending
