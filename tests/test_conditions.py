"""The condition axes are one table: a throwaway axis (time reversal) registered in it reaches
the design, the renderer, the manifest, the data report, the analysis and the OPRO exemplars."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from qwen_vad.analysis.breakdowns import condition_report
from qwen_vad.audio.io import load_audio
from qwen_vad.baselines.energy import energy_scorer
from qwen_vad.conditions import AXES, ConditionAxis
from qwen_vad.config import Config, DataConfig, OneAxisConfig, SplitConfig
from qwen_vad.data.builder import build_dataset
from qwen_vad.data.design import one_axis_conditions
from qwen_vad.data.manifest import manifest_columns
from qwen_vad.data.report import build_report
from qwen_vad.errors import ConfigError
from qwen_vad.opro.exemplars import describe_clip
from qwen_vad.report.html import gallery_filters
from qwen_vad.scoring.batches import score_clips
from qwen_vad.scoring.predictions import predictions_frame


def reverse(audio: np.ndarray, direction: str, rendering) -> np.ndarray:
    """The throwaway axis's degradation: the clip played backwards."""
    return audio[::-1].copy() if direction == "reversed" else audio


def check_directions(levels: list[str]) -> str:
    unknown = sorted(set(levels) - {"forward", "reversed"})
    return f"unknown direction(s) {unknown}" if unknown else ""


DIRECTION = ConditionAxis(
    "direction", "direction", str, "", "direction", "direction",
    factorial_levels="directions", one_axis_levels="directions",
    degrade=f"{__name__}:reverse", render_step=50, check=f"{__name__}:check_directions",
    key=lambda level: level[:3], format_level=str, neutral="forward",
)  # fmt: skip


# What the axis's configuration fields would add to config.py.
@dataclass
class OneAxisWithDirections(OneAxisConfig):
    directions: list[str] = field(default_factory=lambda: ["forward", "reversed"])


@dataclass
class DataWithDirections(DataConfig):
    directions: list[str] = field(default_factory=lambda: ["forward"])


@pytest.fixture
def direction_axis(monkeypatch: pytest.MonkeyPatch) -> ConditionAxis:
    monkeypatch.setitem(AXES, DIRECTION.column, DIRECTION)
    return DIRECTION


def one_axis_data(**one_axis) -> DataWithDirections:
    axes = OneAxisWithDirections(durations_ms=[200, 1000], snrs_db=[10.0], reverb_rt60_s=[0.0], filters=["none"], **one_axis)
    return DataWithDirections(name="reversed", design="one_axis", one_axis=axes, base_clips_per_class=5, min_per_cell_split=1,
                              splits=SplitConfig(0.6, 0.2, 0.2))  # fmt: skip


def test_a_registered_axis_is_designed_rendered_and_analysed(direction_axis: ConditionAxis, tmp_path: Path) -> None:
    cfg = one_axis_data()
    # 200 ms, 1000 ms (neutral), +10 dB, reversed: the neutral clip is shared by the three axes.
    assert len(one_axis_conditions(cfg)) == 4
    result = build_dataset(cfg, 42, tmp_path / "reversed")
    manifest = result.manifest
    assert list(manifest.columns) == list(manifest_columns()) and "direction" in manifest.columns
    assert sorted(manifest["direction"].unique()) == ["forward", "reversed"]
    assert manifest["clip_id"].str.endswith(("_for", "_rev")).all()
    # The reversed variant is its base clip's neutral variant played backwards, sample for sample.
    for base, variants in manifest.groupby("base_clip_id"):
        by_condition = variants.set_index(["duration_ms", "snr_db", "direction"])["path"]
        forward = load_audio(tmp_path / "reversed" / by_condition[1000, np.inf, "forward"])
        backward = load_audio(tmp_path / "reversed" / by_condition[1000, np.inf, "reversed"])
        np.testing.assert_array_equal(backward, forward[::-1])
    assert "direction" in build_report(result, cfg, "reversed")["cells"][0]

    scored = score_clips(energy_scorer(Config()), manifest[manifest["split"] != "train"], tmp_path / "reversed", desc="energy")
    predictions = predictions_frame(scored.rows, energy_scorer(Config()), threshold=0.5)
    assert "direction" in predictions.columns
    report = condition_report(predictions)
    assert {entry["direction"] for entry in report["by_condition"]["direction"]} == {"forward", "reversed"}
    assert "direction" in report["BA_conditions"]["cell_columns"]

    reversed_clip = manifest[manifest["direction"] == "reversed"].iloc[0]
    assert describe_clip(reversed_clip).endswith(", direction reversed")
    assert gallery_filters()["direction"] == "direction"


def test_an_axis_checks_its_levels_before_a_build(direction_axis: ConditionAxis, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.one_axis.directions: unknown direction\(s\) \['sideways'\]"):
        build_dataset(one_axis_data(directions=["forward", "sideways"]), 42, tmp_path / "bad")
