"""Input warnings: clips an audio LLM never heard, scores that do not depend on the clip."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qwen_vad.scoring.input_checks import (
    CONSTANT_P_SPEECH,
    FEWER_AUDIO_TOKENS,
    NO_AUDIO_TOKENS,
    durations_without_audio_tokens,
    input_warnings,
)


def frame(durations: list[int], tokens: list[int], expected: list[int], p: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"duration_ms": durations, "audio_tokens": tokens, "expected_audio_tokens": expected, "p_speech": p})


def test_clips_without_audio_tokens_are_named_by_duration() -> None:
    rows = frame([20, 20, 40, 200], [0, 0, 1, 5], [0, 0, 1, 5], [0.2, 0.6, 0.4, 0.9])
    warnings = input_warnings(rows)
    assert [w["kind"] for w in warnings] == [NO_AUDIO_TOKENS]
    assert warnings[0]["clips"] == 2 and warnings[0]["durations_ms"] == [20] and "20 ms" in warnings[0]["message"]
    assert durations_without_audio_tokens(rows) == [20]


def test_cut_audio_and_constant_scores_are_flagged() -> None:
    rng = np.random.default_rng(0)
    rows = frame([1000] * 12, [10] * 12, [25] * 12, list(0.61 + rng.uniform(0, 1e-6, 12)))
    kinds = [w["kind"] for w in input_warnings(rows)]
    assert kinds == [FEWER_AUDIO_TOKENS, CONSTANT_P_SPEECH]


def test_a_vad_with_varying_scores_raises_nothing() -> None:
    rows = pd.DataFrame({"duration_ms": [200] * 12, "p_speech": np.linspace(0, 1, 12)})
    assert input_warnings(rows) == [] and durations_without_audio_tokens(rows) == []


def test_the_one_axis_20ms_cell_is_flagged_from_scoring_to_report(tmp_path, tiny_checkpoint) -> None:
    """Qwen2-Audio gives a 20-ms clip zero audio tokens: the scoring run warns, and the report's
    per-duration table says so for that cell."""
    import json

    from qwen_vad.analyze import analyze
    from qwen_vad.cli import compose_config, execute_stage
    from qwen_vad.data.__main__ import build
    from qwen_vad.evaluate import evaluate
    from qwen_vad.report.__main__ import report

    overrides = [
        "data.design=one_axis", "data.base_clips_per_class=5", "data.one_axis.durations_ms=[20,200]",
        "data.one_axis.snrs_db=[0.0]", "data.one_axis.reverb_rt60_s=[0.0]", "data.one_axis.filters=[none]",
        "data.min_per_cell_split=0", f"paths.data_dir={tmp_path}/data", f"paths.results_dir={tmp_path}/results",
        f"model.name_or_path={tiny_checkpoint}", "analyze.n_bootstrap=20", "analyze.psychometric_bootstrap=10",
        "analyze.experiments=[a1]", "analyze.comparisons=[]",
    ]  # fmt: skip

    def stage(name, fn, exp):
        cfg, chosen = compose_config([f"exp=[{exp},smoke]", *overrides])
        return execute_stage(name, fn, cfg, chosen)

    stage("data", build, "a1")
    scored = stage("evaluate", evaluate, "a1")
    warnings = json.loads(scored.path("metrics.json").read_text())["warnings"]["test"]
    assert [w["kind"] for w in warnings] == [NO_AUDIO_TOKENS] and warnings[0]["durations_ms"] == [20]
    assert "no audio tokens" in scored.path("log.txt").read_text()
    stage("analyze", analyze, "paper")
    reported = stage("report", report, "paper")
    by_duration = pd.read_csv(reported.path("tables") / "by_duration.csv", dtype=str)
    assert by_duration["duration_ms"].tolist()[0] == "20 (no audio tokens: a1)"
    assert not by_duration["duration_ms"].tolist()[1].endswith(")")
    assert "no_audio_tokens" in (reported.path("report.md")).read_text()
