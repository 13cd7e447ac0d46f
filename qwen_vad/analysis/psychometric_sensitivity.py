"""Criterion-free sensitivity per stimulus level, as a 2AFC-equivalent proportion correct.

The plan's detection curve, P(answer SPEECH | SPEECH clip), moves with the decision criterion:
of two systems that separate speech from non-speech equally well, the one that says SPEECH
more readily reaches 50 % at a lower SNR. Two measures per level that do not move with it,
both computed from the SPEECH and the NONSPEECH clips *of that level*:

- ``auc``: the area under the ROC curve of ``p_speech``: the probability that a random SPEECH
  clip gets a higher p_speech than a random NONSPEECH clip (ties count half), i.e. the
  proportion correct of a two-alternative forced choice between them. Uses no threshold.
- ``dprime``: d' = z(H) - z(F) from the hit rate H on SPEECH clips and the false-alarm rate F
  on NONSPEECH clips (log-linear correction, Hautus 1995: +0.5 to each count, +1 to each
  total, so 0 % and 100 % stay finite), shown as the 2AFC proportion correct Phi(d'/sqrt 2)
  it predicts under the equal-variance Gaussian model. For systems that only give labels.

Both have floor 0.5 (no information) and are fitted like any psychometric function, with
gamma fixed at 0.5; AUC = 0.75 is d' = 0.95, AUC = 0.76 is d' = 1. A proportion over pairs of
clips is not a count of independent trials, so each level gets an effective number of trials:
the number of binomial trials with the measure's sampling variance.

- auc: 3 n_s n_n / (n_s + n_n + 1), the exact variance of the Mann-Whitney statistic when the
  classes do not differ (1.5 n for n clips per class); towards AUC = 1 the true variance is
  smaller than the binomial one, so the weights err on the cautious side there;
- dprime: Pc (1 - Pc) / Var(Pc), Var by the delta method from the binomial variances of H, F.

The cluster bootstrap redraws clusters (base clips, or leakage groups) of both classes and
recomputes the measure per level from the drawn clips, each weighted by how often it was drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr, ndtri

from qwen_vad.analysis.bootstrap import times_drawn_chunks
from qwen_vad.analysis.psychometric import BinomialLevels
from qwen_vad.analysis.psychometric_bootstrap import ResampledCounts

SensitivityName = Literal["auc", "dprime"]
SENSITIVITIES: tuple[SensitivityName, ...] = ("auc", "dprime")
CHANCE = 0.5  # a 2AFC observer without information
LOG_LINEAR = 0.5  # Hautus (1995): added to hits and false alarms (1.0 to each total)
MEASURE_LABELS = {
    "auc": "AUC of p_speech, SPEECH vs NONSPEECH clips of the same level (2AFC-equivalent)",
    "dprime": "Phi(d'/sqrt 2), d' from hits on SPEECH and false alarms on NONSPEECH clips of the same level",
}


@dataclass(frozen=True)
class ScoredRows:
    """Per-clip data of one curve: level, class, score and answer, resampling cluster."""

    level: np.ndarray
    speech: np.ndarray  # bool: SPEECH clip
    score: np.ndarray  # p_speech
    says_speech: np.ndarray  # bool: answered SPEECH
    cluster: np.ndarray  # int codes


def auc_effective_trials(n_speech: np.ndarray, n_nonspeech: np.ndarray) -> np.ndarray:
    n_speech, n_nonspeech = np.asarray(n_speech, float), np.asarray(n_nonspeech, float)
    defined = (n_speech > 0) & (n_nonspeech > 0)
    return np.where(defined, 3 * n_speech * n_nonspeech / np.maximum(n_speech + n_nonspeech + 1, 1), 0.0)


def normal_density(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def dprime_from_counts(hits, n_speech, false_alarms, n_nonspeech) -> dict[str, np.ndarray]:
    """Log-linear rates, d', its 2AFC proportion correct and the effective trials (delta method)."""
    h = (np.asarray(hits, float) + LOG_LINEAR) / (np.asarray(n_speech, float) + 2 * LOG_LINEAR)
    f = (np.asarray(false_alarms, float) + LOG_LINEAR) / (np.asarray(n_nonspeech, float) + 2 * LOG_LINEAR)
    zh, zf = ndtri(h), ndtri(f)
    d = zh - zf
    pc = ndtr(d / math.sqrt(2))
    var_d = h * (1 - h) / (np.maximum(n_speech, 1) * normal_density(zh) ** 2)
    var_d = var_d + f * (1 - f) / (np.maximum(n_nonspeech, 1) * normal_density(zf) ** 2)
    var_pc = (normal_density(d / math.sqrt(2)) / math.sqrt(2)) ** 2 * var_d
    defined = (np.asarray(n_speech) > 0) & (np.asarray(n_nonspeech) > 0)
    trials = np.where(defined, pc * (1 - pc) / np.maximum(var_pc, 1e-300), 0.0)
    return {"hit_rate": h, "false_alarm_rate": f, "d_prime": d, "proportion": pc, "trials": trials}


class LevelPairs:
    """Per level, the SPEECH x NONSPEECH pair matrix (1 ordered right, 1/2 tie, 0 wrong) and
    which rows take part, so weighted AUCs of many resamples are matrix products."""

    def __init__(self, rows: ScoredRows, levels: np.ndarray) -> None:
        self.levels = levels
        self.speech_rows, self.nonspeech_rows, self.pairs = [], [], []
        for level in levels:
            at = rows.level == level
            s, n = np.flatnonzero(at & rows.speech), np.flatnonzero(at & ~rows.speech)
            diff = rows.score[s][:, None] - rows.score[n][None, :]
            self.speech_rows.append(s)
            self.nonspeech_rows.append(n)
            self.pairs.append((diff > 0) + 0.5 * (diff == 0))

    def auc(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B x levels) AUC, SPEECH and NONSPEECH weight totals for (B x rows) row weights."""
        shape = (weights.shape[0], self.levels.size)
        auc, n_s, n_n = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
        for j, (s, n, pairs) in enumerate(zip(self.speech_rows, self.nonspeech_rows, self.pairs)):
            ws, wn = weights[:, s], weights[:, n]
            n_s[:, j], n_n[:, j] = ws.sum(axis=1), wn.sum(axis=1)
            ordered = np.einsum("bj,bj->b", ws @ pairs, wn)
            total = n_s[:, j] * n_n[:, j]
            auc[:, j] = np.divide(ordered, total, out=np.full(shape[0], np.nan), where=total > 0)
        return auc, n_s, n_n


def level_sums(rows: ScoredRows, levels: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """(B x levels) weighted hits, SPEECH clips, false alarms, NONSPEECH clips."""
    index = np.searchsorted(levels, rows.level)
    onehot = np.zeros((rows.level.size, levels.size))
    onehot[np.arange(rows.level.size), index] = 1.0
    columns = {
        "hits": rows.speech & rows.says_speech,
        "n_speech": rows.speech,
        "false_alarms": ~rows.speech & rows.says_speech,
        "n_nonspeech": ~rows.speech,
    }
    return {name: weights @ (onehot * mask[:, None]) for name, mask in columns.items()}


def measure_per_level(rows: ScoredRows, levels: np.ndarray, weights: np.ndarray, measure: SensitivityName, pairs: LevelPairs | None) -> dict[str, np.ndarray]:
    """(B x levels) proportion and effective trials of ``measure`` under row ``weights``."""
    sums = level_sums(rows, levels, weights)
    dprime = dprime_from_counts(sums["hits"], sums["n_speech"], sums["false_alarms"], sums["n_nonspeech"])
    if measure == "dprime":
        return {**sums, **dprime}
    auc, _, _ = pairs.auc(weights)
    trials = auc_effective_trials(sums["n_speech"], sums["n_nonspeech"])
    return {**sums, **{k: dprime[k] for k in ("hit_rate", "false_alarm_rate", "d_prime")}, "proportion": auc, "trials": trials}


def sensitivity_levels(rows: ScoredRows, measure: SensitivityName) -> tuple[BinomialLevels, dict[str, Any]]:
    """The measure per level as (effective) binomial counts for the fit, and the per-level
    description (AUC or Phi(d'/sqrt 2), clips of each class, hit and false-alarm rates, d')."""
    levels = np.unique(rows.level)
    pairs = LevelPairs(rows, levels) if measure == "auc" else None
    per_level = {k: v[0] for k, v in measure_per_level(rows, levels, np.ones((1, rows.level.size)), measure, pairs).items()}
    defined = per_level["trials"] > 0
    proportion = np.where(defined, per_level["proportion"], np.nan)
    trials = np.where(defined, per_level["trials"], 0.0)
    data = BinomialLevels(levels, np.where(defined, proportion, 0.0) * trials, trials)
    described = {
        "n_speech": per_level["n_speech"],
        "n_nonspeech": per_level["n_nonspeech"],
        "hit_rate": per_level["hit_rate"],
        "false_alarm_rate": per_level["false_alarm_rate"],
        "d_prime": per_level["d_prime"],
    }
    return data, described


def cluster_resampled_sensitivity(rows: ScoredRows, levels: np.ndarray, measure: SensitivityName, n_resamples: int, seed: int) -> ResampledCounts:
    """Clusters redrawn with replacement, the measure recomputed per level from the drawn clips."""
    pairs = LevelPairs(rows, levels) if measure == "auc" else None
    n_clusters = int(rows.cluster.max()) + 1
    successes, trials = [], []
    for times_drawn in times_drawn_chunks(n_clusters, n_resamples, seed):
        per_level = measure_per_level(rows, levels, times_drawn[:, rows.cluster].astype(float), measure, pairs)
        defined = (per_level["trials"] > 0) & np.isfinite(per_level["proportion"])
        trials.append(np.where(defined, per_level["trials"], 0.0))
        successes.append(np.where(defined, per_level["proportion"], 0.0) * trials[-1])
    successes, trials = np.concatenate(successes), np.concatenate(trials)
    return ResampledCounts(successes, trials, np.full(n_resamples, CHANCE))
