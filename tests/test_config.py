"""Experiment selection and key validation, in-process and through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from omegaconf import OmegaConf

from qwen_vad.cli import ConfigError, compose_config
from qwen_vad.config import Config, experiment_names
from qwen_vad.data.datasets import TrainingDataError, training_data_config
from qwen_vad.settings import flat_settings

REPO = Path(__file__).resolve().parents[1]
# Every stage entry point that exists; each composes the same schema + experiment files.
STAGES = sorted(
    [p.parent.name for p in (REPO / "qwen_vad").glob("*/__main__.py")]
    + [p.stem for p in (REPO / "qwen_vad").glob("*.py") if "stage_main(" in p.read_text() and p.stem != "cli"]
)


# What the smoke overlay may change in a row's data definitions (experiments/smoke.yaml says so):
# sizes only. Everything else (names, corpora, axes, hygiene, splits, the training set) is the row's own.
SMOKE_SHRINKS = {"data.per_cell", "data.min_per_cell_split"}


def data_definitions(cfg: Config) -> dict[str, object]:
    """The row's evaluation set and training set as flat settings (``train_data.*`` resolved)."""
    evaluation = flat_settings(OmegaConf.to_container(OmegaConf.structured(cfg.data)), "data.")
    training = flat_settings(OmegaConf.to_container(OmegaConf.structured(training_data_config(cfg))), "train_data.")
    return {**evaluation, **training}


@pytest.mark.parametrize("exp", experiment_names())
def test_every_experiment_composes_alone_and_under_the_smoke_overlay(exp: str) -> None:
    cfg, chosen = compose_config([f"exp={exp}"])
    assert isinstance(cfg, Config)
    assert chosen == exp
    smoke, chosen = compose_config([f"exp=[{exp},smoke]"])
    assert chosen == exp and smoke.paths.results_dir == "results/smoke" and smoke.paths.data_dir == "data/smoke"


@pytest.mark.parametrize("exp", [e for e in experiment_names() if e != "smoke"])
def test_the_smoke_overlay_keeps_every_rows_datasets_and_only_shrinks_them(exp: str) -> None:
    real, _ = compose_config([f"exp={exp}"])
    smoke, _ = compose_config([f"exp=[{exp},smoke]"])
    real_data, smoke_data = data_definitions(real), data_definitions(smoke)
    changed = {key for key in real_data.keys() | smoke_data.keys() if real_data.get(key) != smoke_data.get(key)}
    # A row's training set inherits the evaluation set's sizes unless it sets its own.
    inherited = {
        f"train_data.{key.removeprefix('data.')}" for key in SMOKE_SHRINKS
        if getattr(real.train_data, key.removeprefix("data.")) is None
    }  # fmt: skip
    assert changed <= SMOKE_SHRINKS | inherited, sorted(changed)
    assert smoke.data.name == real.data.name == "factorial"
    assert smoke.train_data == real.train_data
    assert smoke.data.per_cell <= real.data.per_cell


def test_every_row_of_the_matrix_is_evaluated_on_the_same_dataset() -> None:
    rows = ["a1", "a2", "b1", "b2", "b3", "b4", "c1", "c2", "d1", "d2"]
    for overlay in ([], ["smoke"]):
        configs = [compose_config([f"exp=[{','.join([row, *overlay])}]"])[0] for row in rows]
        assert len({json.dumps(flat_settings(OmegaConf.to_container(OmegaConf.structured(c.data))), sort_keys=True) for c in configs}) == 1
    b1, _ = compose_config(["exp=b1"])
    assert training_data_config(b1).name == "small" and training_data_config(b1).splits.dev == 0


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
    assert "name: factorial" in out.stdout and "train_data:" in out.stdout and "name: small" in out.stdout


@pytest.mark.parametrize("stage", STAGES)
def test_command_line_typo_fails_before_any_work(stage: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", f"qwen_vad.{stage}", "exp=smoke", "data.durations=[200]", f"paths.results_dir={tmp_path}"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    assert "unknown key 'data.durations'" in out.stderr and "durations_ms" in out.stderr
    assert not any(tmp_path.iterdir()), "no run folder may be created for a bad command line"


def test_misspelled_key_in_the_training_set_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "typo.yaml").write_text("# @package _global_\ntrain_data:\n  name: small\n  per_cel: 4\n")
    monkeypatch.setenv("QWEN_VAD_EXPERIMENTS", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        compose_config(["exp=typo"])
    message = str(err.value)
    assert "train_data" in message and "per_cel" in message and "did you mean 'per_cell'" in message


def test_a_training_set_without_a_name_is_refused() -> None:
    cfg, _ = compose_config(["exp=b3", "train_data.per_cell=3"])
    with pytest.raises(TrainingDataError, match="set train_data.name"):
        training_data_config(cfg)
    cfg, _ = compose_config(["exp=b3", "train_data.per_cell=3", "train_data.name=mine"])
    assert training_data_config(cfg).name == "mine" and training_data_config(cfg).per_cell == 3
