"""Simulated observers with known psychometric parameters, answering clips like a system.

They validate the psychometric analysis end to end (tests/test_psychometric.py,
benchmarks/psychometric_validation.py): each writes a predictions frame (design.md section 3:
clip_id, base_clip_id, label, pred, p_speech, the axis column, ...) that goes through the same
``psychometric_curves`` as a real system's, and knows the true thresholds to compare with.

- ``PsychometricObserver``: the plan's model itself. P(SPEECH | SPEECH clip at x) =
  psi(x; alpha, beta, gamma = false-alarm rate, lambda), P(SPEECH | NONSPEECH clip) = the
  false-alarm rate; p_speech is the answer (0 or 1).
- ``SignalDetectionObserver``: equal-variance Gaussian signal detection. A clip's evidence is
  N(d'(x), 1) for SPEECH and N(0, 1) for NONSPEECH; the observer says SPEECH above its
  ``criterion`` and reports p_speech = Phi(evidence - criterion). d'(x) is chosen so that the
  2AFC proportion correct Phi(d'/sqrt 2), which is also the AUC, follows psi(x; alpha, beta,
  0.5, lambda): two such observers with different criteria have the same sensitivity and
  different detection curves.

Levels are in the fit's units (dB, or log10 ms on the duration axis); ``simulate_predictions``
writes the axis column in its own unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.analysis.psychometric import psychometric_value, threshold_levels
from qwen_vad.analysis.psychometric_thresholds import is_log_scale


@dataclass(frozen=True)
class PsychometricObserver:
    alpha: float
    beta: float
    false_alarm: float = 0.05
    lapse: float = 0.02
    sigmoid: str = "logistic"

    def p_yes(self, x: np.ndarray, speech: np.ndarray) -> np.ndarray:
        hit = psychometric_value(x, self.alpha, self.beta, self.false_alarm, self.lapse, self.sigmoid)
        return np.where(speech, hit, self.false_alarm)

    def detection_threshold(self, p: float) -> float:
        return float(threshold_levels(p, self.alpha, self.beta, self.false_alarm, self.lapse, self.sigmoid))

    def answer(self, x: np.ndarray, speech: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        says = rng.uniform(size=x.size) < self.p_yes(x, speech)
        return says, says.astype(float)


@dataclass(frozen=True)
class SignalDetectionObserver:
    alpha: float  # of the 2AFC / AUC curve
    beta: float
    criterion: float = 0.0  # in units of the noise sd: 0 says SPEECH on half the NONSPEECH clips
    lapse: float = 0.02
    sigmoid: str = "logistic"

    def d_prime(self, x: np.ndarray) -> np.ndarray:
        return math.sqrt(2) * ndtri(psychometric_value(x, self.alpha, self.beta, 0.5, self.lapse, self.sigmoid))

    def sensitivity_threshold(self, p: float) -> float:
        """Where the AUC (= Phi(d'/sqrt 2)) reaches p."""
        return float(threshold_levels(p, self.alpha, self.beta, 0.5, self.lapse, self.sigmoid))

    def detection_threshold(self, p: float) -> float:
        """Where P(SPEECH | SPEECH clip) = Phi(d'(x) - criterion) reaches p."""
        return self.sensitivity_threshold(float(ndtr((self.criterion + ndtri(p)) / math.sqrt(2))))

    def answer(self, x: np.ndarray, speech: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        evidence = rng.normal(size=x.size) + np.where(speech, self.d_prime(x), 0.0)
        return evidence > self.criterion, ndtr(evidence - self.criterion)


def simulate_predictions(
    observer: PsychometricObserver | SignalDetectionObserver,
    levels: np.ndarray,
    axis: str,
    clips_per_level: int,
    rng: np.random.Generator,
    system: str = "observer",
) -> pd.DataFrame:
    """``clips_per_level`` SPEECH and as many NONSPEECH clips at every level (fit units), each
    its own base clip, answered by ``observer``."""
    x = np.repeat(np.asarray(levels, float), 2 * clips_per_level)
    speech = np.tile(np.repeat([True, False], clips_per_level), len(levels))
    says, p_speech = observer.answer(x, speech, rng)
    clip = [f"{'sp' if s else 'ns'}{i:05d}" for i, s in enumerate(speech)]
    return pd.DataFrame(
        {
            "clip_id": clip,
            "base_clip_id": clip,
            "group": clip,
            "label": np.where(speech, SPEECH, NONSPEECH),
            "pred": np.where(says, SPEECH, NONSPEECH),
            "p_speech": p_speech,
            axis: 10**x if is_log_scale(axis) else x,
            "category": np.where(speech, "speech", "noise"),
            "system": system,
            "prompt_id": "",
        }
    )
