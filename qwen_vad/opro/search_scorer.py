"""The scores of prompts on the search's clips: the score cache first, the backend's prompt
scorer (the audio-cache scorer in this process, or the scoring server) for the clips it lacks.
Only the two search sets exist here (the train subset and dev); the test split is not among
them, so the search cannot score it. Under a multi-process launch each rank scores its share of
the batches and every rank gets every score (qwen_vad.scoring.sharding), so all ranks hold the
same cache and take the same decisions."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from qwen_vad.opro.reward import reward
from qwen_vad.opro.score_cache import ScoreCache
from qwen_vad.prompts import PromptTemplate
from qwen_vad.scoring.backends import PromptScorer
from qwen_vad.scoring.sharding import score_across_ranks

log = logging.getLogger(__name__)

SEARCH_SPLITS = ("train", "dev")


class SearchScorer:
    def __init__(self, scorer: PromptScorer, cache: ScoreCache, clips: dict[str, pd.DataFrame], reward_lambda: float) -> None:
        if set(clips) != set(SEARCH_SPLITS):
            raise ValueError(f"the search scores exactly the splits {SEARCH_SPLITS}, got {sorted(clips)}")
        self.scorer, self.cache, self.clips, self.reward_lambda = scorer, cache, clips, reward_lambda

    @property
    def needs_swappable_options(self) -> bool:
        """decoding.swap_options scores each prompt in both option orders."""
        return self.scorer.decoding.swap_options

    def p_speech(self, template: PromptTemplate, split: str) -> np.ndarray:
        """p_speech of every clip of ``split``'s search set, scoring only clips not cached."""
        clip_ids = self.clips[split]["clip_id"].tolist()
        missing = self.cache.missing(template, clip_ids)
        if missing:
            scores = score_across_ranks(lambda ids: self.scorer.score(template, ids), missing, self.scorer.decoding.batch_size)
            self.cache.store(template, missing, scores)
        return self.cache.lookup(template, clip_ids)

    def score(self, template: PromptTemplate, split: str) -> float:
        value = reward(self.clips[split], self.p_speech(template, split), self.reward_lambda)
        log.info("%s %s score %.4f", template.id, split, value)
        return value
