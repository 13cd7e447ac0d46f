"""Systems looked up by name: a new VAD baseline is its module, one registry line and an
experiment file, and it reaches the comparison matrix with no other edit."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.analyze import analyze
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.errors import BadInputError, ConfigError
from qwen_vad.evaluate import evaluate
from qwen_vad.finetune import finetune
from qwen_vad.licences import Licence
from qwen_vad.report.__main__ import report
from qwen_vad.scoring.systems import SYSTEMS, VAD, ScoringSystem, recorded_kind

REPO = Path(__file__).resolve().parents[1]
DATA = ["data.name=rowset", "data.per_cell=4", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
FAST = ["analyze.n_bootstrap=20", "analyze.psychometric_bootstrap=20", "analyze.comparisons=[]", "analyze.cluster_bootstrap=false"]

# The throwaway baseline, written as a module of its own outside the package: the share of
# 10-ms frames whose zero-crossing rate lies in the range of voiced speech.
BASELINE_MODULE = '''
import numpy as np

from qwen_vad.baselines.frame_scorer import FrameVADScorer


def voiced_share(audio, frame=160):
    frames = audio[: audio.size // frame * frame].reshape(-1, frame) if audio.size >= frame else audio[None, :]
    crossings = np.mean(np.abs(np.diff(np.sign(frames), axis=1)) > 0, axis=1)
    return float(np.mean((crossings > 0.01) & (crossings < 0.25)))


def zcr_scorer(cfg):
    return FrameVADScorer("zcr", voiced_share)
'''
BASELINE_EXPERIMENT = """\
# @package _global_
# D3: a zero-crossing VAD, added to the matrix by this file and one registry line.
row:
  order: 95
  model: "zero-crossing VAD"
  finetuning: "-"
  prompt: "-"
  data: "test set"
evaluate:
  system: zcr
"""


@pytest.fixture
def experiments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of experiments: the repository's d1, smoke and paper, plus the new d3."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    for name in ("d1", "smoke", "paper"):
        shutil.copy(REPO / "experiments" / f"{name}.yaml", folder)
    (folder / "d3.yaml").write_text(BASELINE_EXPERIMENT)
    monkeypatch.setenv("QWEN_VAD_EXPERIMENTS", str(folder))
    package = tmp_path / "plugins"
    package.mkdir()
    (package / "zcr_vad.py").write_text(textwrap.dedent(BASELINE_MODULE))
    monkeypatch.syspath_prepend(str(package))
    # The one registry line.
    monkeypatch.setitem(SYSTEMS, "zcr", ScoringSystem("zcr_vad:zcr_scorer", VAD, "zero-crossing VAD", Licence("Apache-2.0", "tests")))
    return folder


def run(stage: str, function, tmp_path: Path, *overrides: str):
    paths = [f"paths.data_dir={tmp_path}/data", f"paths.results_dir={tmp_path}/results"]
    cfg, exp = compose_config([*overrides, *DATA, *paths])
    return execute_stage(stage, function, cfg, exp)


def test_a_registered_baseline_reaches_the_comparison_matrix(experiments: Path, tmp_path: Path) -> None:
    run("data", build, tmp_path, "exp=d3")
    scored = run("evaluate", evaluate, tmp_path, "exp=d3")
    predictions = pd.read_parquet(scored.path("predictions.parquet"))
    assert set(predictions["system"]) == {"zcr"} and set(predictions["system_kind"]) == {VAD}
    assert predictions["p_speech"].nunique() > 1
    # exp=paper analyses every declared row by default: d3 scored, d1 not run.
    analysed = run("analyze", analyze, tmp_path, "exp=paper", *FAST)
    reported = run("report", report, tmp_path, "exp=paper")
    matrix = pd.read_csv(reported.path("tables") / "comparison_matrix.csv", dtype=str, keep_default_na=False).set_index("row")
    assert list(matrix.index) == ["D1", "D3"]  # the declared order
    assert matrix.loc["D1", "balanced accuracy"] == "not run" and matrix.loc["D1", "model"] == "WebRTC VAD"
    assert matrix.loc["D3", "model"] == "zero-crossing VAD (zcr)" and matrix.loc["D3", "balanced accuracy"] != "not run"
    licences = pd.read_csv(reported.path("tables") / "licences.csv").set_index("system")
    assert licences.loc["d3", "licence"] == "Apache-2.0"
    assert analysed.path("metrics.json").read_text().count('"system_kind": "vad"') == 1
    # Predictions written before system_kind was recorded: their run's config.yaml names the system.
    older = predictions.drop(columns=["system_kind"])
    assert recorded_kind(older, scored.path("predictions.parquet")) == VAD
    with pytest.raises(BadInputError, match="no system_kind column"):
        recorded_kind(older, tmp_path / "loose" / "predictions.parquet")


def test_unknown_systems_and_vads_in_llm_stages_are_config_errors(experiments: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"evaluate.system: unknown system 'zrc' \(did you mean 'zcr'\?\); valid: qwen, webrtc, .*zcr"):
        run("evaluate", evaluate, tmp_path, "exp=d3", "evaluate.system=zrc")
    with pytest.raises(ConfigError, match="the finetune stage works on an audio LLM, but 'zcr' is a VAD"):
        run("finetune", finetune, tmp_path, "exp=d3")
