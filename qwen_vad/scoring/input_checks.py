"""Checks that a system actually heard the clips it was scored on.

Two failures look like results but are not: an audio LLM whose input carries no audio tokens for
a clip (Qwen2-Audio turns a 20-ms clip into zero tokens: its answer is the text prior alone), and
a system whose p_speech is (near) constant across clips (the audio does not reach the model, or
a VAD that never fires). Both are computed from a predictions frame, so the scoring run logs
them and the analysis and report show the same warnings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qwen_vad.conditions import DURATION_COLUMN

# p_speech spread (max - min) below this over many clips: nothing the clips differ in reached
# the score. Batching alone moves a score by ~1e-7; any model that hears its input moves it more.
CONSTANT_SPREAD = 1e-4
MIN_CLIPS_FOR_CONSTANT_CHECK = 10

NO_AUDIO_TOKENS = "no_audio_tokens"
FEWER_AUDIO_TOKENS = "fewer_audio_tokens_than_expected"
CONSTANT_P_SPEECH = "constant_p_speech"


def input_warnings(predictions: pd.DataFrame) -> list[dict]:
    """Warnings about what the system heard, one dict each (kind, message, clips, durations)."""
    warnings = []
    if "audio_tokens" in predictions.columns:
        tokens = predictions["audio_tokens"].to_numpy(dtype=float)
        known = ~np.isnan(tokens)
        warnings += _token_warning(predictions[known & (tokens == 0)], NO_AUDIO_TOKENS,
                                   "reached the model with no audio tokens: their scores measure the text prior only")  # fmt: skip
        if "expected_audio_tokens" in predictions.columns:
            expected = predictions["expected_audio_tokens"].to_numpy(dtype=float)
            short = known & (tokens > 0) & (tokens < expected)
            warnings += _token_warning(predictions[short], FEWER_AUDIO_TOKENS,
                                       "carried fewer audio tokens than their length needs (audio cut short)")  # fmt: skip
    p = predictions["p_speech"].to_numpy(dtype=float)
    p = p[np.isfinite(p)]
    if p.size >= MIN_CLIPS_FOR_CONSTANT_CHECK and float(np.ptp(p)) < CONSTANT_SPREAD:
        warnings.append(
            {
                "kind": CONSTANT_P_SPEECH,
                "clips": int(p.size),
                "message": f"p_speech is (near) constant over {p.size} clips (range {float(np.ptp(p)):.2g}): "
                "the audio may not reach the model",
            }
        )
    return warnings


def durations_without_audio_tokens(predictions: pd.DataFrame) -> list[int]:
    """Clip durations (ms) at which no clip carried a single audio token."""
    if "audio_tokens" not in predictions.columns or DURATION_COLUMN not in predictions.columns:
        return []
    per_duration = predictions.groupby(DURATION_COLUMN)["audio_tokens"].max()
    return sorted(int(d) for d, most in per_duration.items() if most == 0)


def _token_warning(rows: pd.DataFrame, kind: str, what: str) -> list[dict]:
    if rows.empty:
        return []
    durations = sorted(int(d) for d in rows[DURATION_COLUMN].unique()) if DURATION_COLUMN in rows.columns else []
    where = f" (durations {', '.join(f'{d} ms' for d in durations)})" if durations else ""
    return [{"kind": kind, "clips": len(rows), "durations_ms": durations, "message": f"{len(rows)} clips{where} {what}"}]
