"""Dev-split scores during training, computed exactly as the evaluate stage computes them.

The model being trained is scored by the same ``LLMScorer`` (constrained A/B decoding, the
experiment's ``decoding`` settings) and the same ``score_clips`` loop, so the dev curve and the
final evaluation cannot disagree on what a score means. The selection metric is the balanced
accuracy of the model's own answer (p_speech >= 0.5: the option it prefers); the balanced
accuracy at the best dev threshold (what evaluation will use) is logged beside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from transformers import PreTrainedModel, ProcessorMixin

from qwen_vad.analysis.metrics import classification_metrics
from qwen_vad.config import DecodingConfig
from qwen_vad.decoding import LLMScorer
from qwen_vad.prompts import PromptTemplate
from qwen_vad.scoring.batches import score_clips
from qwen_vad.scoring.predictions import is_speech_label, predictions_frame
from qwen_vad.scoring.thresholds import learn_threshold

# An unbiased two-way choice: the model answers SPEECH when it prefers the speech letter.
OWN_ANSWER_THRESHOLD = 0.5
SELECTION_METRIC = "balanced_accuracy"


class DevScorer:
    def __init__(
        self,
        model: PreTrainedModel,
        processor: ProcessorMixin,
        template: PromptTemplate,
        decoding: DecodingConfig,
        dev_clips: pd.DataFrame,
        dataset_dir: Path,
    ) -> None:
        self.model = model
        self.scorer = LLMScorer(model, processor, template, decoding, system="dev")
        self.dev_clips, self.dataset_dir = dev_clips, dataset_dir

    def __call__(self) -> dict[str, float]:
        """Dev metrics of the model as it is now (scored in eval mode: no dropout)."""
        was_training = self.model.training
        self.model.eval()
        try:
            scored = score_clips(self.scorer, self.dev_clips, self.dataset_dir, warmup_batches=0, desc="dev")
        finally:
            self.model.train(was_training)
        rows = scored.rows
        metrics = classification_metrics(predictions_frame(rows, self.scorer, OWN_ANSWER_THRESHOLD))
        best = learn_threshold(rows["p_speech"].to_numpy(), is_speech_label(rows["label"]))
        return {
            SELECTION_METRIC: metrics["balanced_accuracy"],
            "accuracy": metrics["accuracy"],
            "accuracy_speech": metrics["per_class"]["SPEECH"]["accuracy"],
            "accuracy_nonspeech": metrics["per_class"]["NONSPEECH"]["accuracy"],
            "balanced_accuracy_at_dev_threshold": best["dev_balanced_accuracy"],
            "mean_p_speech": float(rows["p_speech"].mean()),
            "clips": float(len(rows)),
        }
