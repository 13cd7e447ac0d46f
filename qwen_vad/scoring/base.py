"""What every system (audio LLM or classic VAD) gives back for a batch of clips."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from qwen_vad.prompts import PromptTemplate


@dataclass
class BatchScores:
    p_speech: np.ndarray  # one score in 0..1 per clip
    # Seconds per stage (feature_extraction, forward, post_processing) for the whole batch.
    seconds: dict[str, float] = field(default_factory=dict)
    # Generate mode only: the raw answers and their normalised labels (SPEECH/NONSPEECH/UNKNOWN).
    answers: list[str] | None = None
    labels: list[str] | None = None
    # Audio LLMs: audio placeholder tokens each clip's input carried (0: the model never heard it).
    audio_tokens: np.ndarray | None = None
    expected_audio_tokens: np.ndarray | None = None  # what each clip's length calls for
    # The answer normaliser's rule that resolved each answer (qwen_vad.answers.ANSWER_RULES).
    answer_rules: list[str] | None = None


class Scorer(Protocol):
    system: str  # e.g. "webrtc-mode3", "Qwen2-Audio-7B-Instruct+lora"
    prompt_id: str  # the prompt template id, "" for VADs
    batch_size: int
    # True when the scores are labels already (generate mode): no threshold is learned.
    gives_labels: bool
    # The prompt an audio LLM is asked (a copy goes into the run folder); None for VADs.
    template: PromptTemplate | None

    def score(self, clips: Sequence[np.ndarray]) -> BatchScores: ...


class PreparingScorer(Scorer, Protocol):
    """A scorer whose CPU work on a batch (features, tokens) can run apart from its model: the
    batch loop then has loader workers build each batch's inputs while the model scores the one
    before (qwen_vad.scoring.loading). ``score(clips)`` must equal
    ``score_prepared(input_preparer()(clips))``. A scorer without these two methods (a VAD, a
    remote server) is scored through ``score`` with its audio read inline."""

    def input_preparer(self) -> Callable[[Sequence[np.ndarray]], Any]:
        """Builds a batch's inputs from its waveforms on the CPU; picklable (no model inside),
        since it runs in worker processes. What it returns may offer ``pin_memory()``."""
        ...

    def score_prepared(self, prepared: Any) -> BatchScores:
        """Score a batch from what the preparer built (its ``seconds`` include the preparing)."""
        ...
