"""Experiment selection and key validation, in-process and through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qwen_vad.cli import ConfigError, compose_config
from qwen_vad.config import Config, experiment_names

REPO = Path(__file__).resolve().parents[1]
# Every stage entry point that exists; each composes the same schema + experiment files.
STAGES = sorted(
    [p.parent.name for p in (REPO / "qwen_vad").glob("*/__main__.py")]
    + [p.stem for p in (REPO / "qwen_vad").glob("*.py") if "stage_main(" in p.read_text() and p.stem != "cli"]
)


@pytest.mark.parametrize("exp", experiment_names())
def test_every_experiment_composes_alone_and_under_the_smoke_overlay(exp: str) -> None:
    cfg, chosen = compose_config([f"exp={exp}"])
    assert isinstance(cfg, Config)
    assert chosen == exp
    smoke, chosen = compose_config([f"exp=[{exp},smoke]"])
    assert chosen == exp and smoke.data.name == "smoke" and smoke.paths.results_dir == "results/smoke"


def test_experiment_values_and_overrides_apply() -> None:
    cfg, _ = compose_config(["exp=b3", "data.per_cell=7", "seed=3"])
    assert (cfg.data.name, cfg.data.per_cell, cfg.seed) == ("factorial", 7, 3)
    default, exp = compose_config([])
    assert exp == "smoke" and default.data.per_cell == 30


def test_unknown_experiment_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        compose_config(["exp=b33"])
    message = str(err.value)
    assert "'b33'" in message and "did you mean 'b3'" in message
    for name in experiment_names():
        assert name in message


def test_misspelled_command_line_key_names_it_and_the_valid_keys() -> None:
    with pytest.raises(ConfigError) as err:
        compose_config(["exp=b3", "data.per_cel=50"])
    message = str(err.value)
    assert "data.per_cel" in message and "did you mean 'per_cell'" in message and "snrs_db" in message


def test_misspelled_key_in_a_named_source_lists_source_keys() -> None:
    with pytest.raises(ConfigError, match="did you mean 'root'.*segment_ms"):
        compose_config(["data.sources.esc.rot=/corpora/esc50"])


def test_misspelled_key_inside_an_experiment_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "typo.yaml").write_text("# @package _global_\ndata:\n  hygiene:\n    speech_min_actvity: 0.8\n")
    monkeypatch.setenv("QWEN_VAD_EXPERIMENTS", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        compose_config(["exp=typo"])
    message = str(err.value)
    assert "typo.yaml" in message and "data.hygiene.speech_min_actvity" in message
    assert "speech_min_activity" in message


def test_bad_value_type_in_an_experiment_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.yaml").write_text("data:\n  per_cell: many\n")
    monkeypatch.setenv("QWEN_VAD_EXPERIMENTS", str(tmp_path))
    with pytest.raises(ConfigError, match="bad.yaml.*data.per_cell"):
        compose_config(["exp=bad"])


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_command_composes(stage: str) -> None:
    """Each stage's real command line composes (every experiment composes in-process above:
    all stages share one schema, so one subprocess per stage checks the entry point itself)."""
    out = subprocess.run(
        [sys.executable, "-m", f"qwen_vad.{stage}", "exp=[b1,smoke]", "--cfg", "job"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "name: smoke" in out.stdout and "data:" in out.stdout


@pytest.mark.parametrize("stage", STAGES)
def test_command_line_typo_fails_before_any_work(stage: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", f"qwen_vad.{stage}", "exp=smoke", "data.durations=[200]", f"paths.results_dir={tmp_path}"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    assert "unknown key 'data.durations'" in out.stderr and "durations_ms" in out.stderr
    assert not any(tmp_path.iterdir()), "no run folder may be created for a bad command line"
