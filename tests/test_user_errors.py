"""A stage that fails for a reason the user can fix ends in one clean line, through the real
command line: ``error: <message>``, exit status 2, no traceback unless HYDRA_FULL_ERROR=1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_corpora import make_speaker_corpus

from qwen_vad.config import ModelConfig
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.data.store import DatasetExistsError, DatasetNotBuiltError
from qwen_vad.errors import ConfigError, MaterialShortage, MissingInputError, UserError
from qwen_vad.models.loader import ModelLoadError, load_model
from qwen_vad.runs import find_runs

REPO = Path(__file__).resolve().parents[1]


def run_stage(stage: str, *args: str, full_error: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", f"qwen_vad.{stage}", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )


def folder_override(root: Path) -> str:
    return f"+data.sources={{lab:{{kind:folder,root:'{root}',group_depth:2}}}}"


def paths(tmp_path: Path) -> list[str]:
    return [f"paths.data_dir={tmp_path}/data", f"paths.results_dir={tmp_path}/results"]


@pytest.fixture(scope="module")
def two_speakers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    return make_speaker_corpus(root, ["anna", "ben"], files_per_speaker=1, nonspeech={"music": (".wav", 3)})


def test_too_few_groups_is_one_error_line_with_exit_status_2(two_speakers: Path, tmp_path: Path) -> None:
    out = run_stage("data", "exp=smoke", folder_override(two_speakers), *paths(tmp_path))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "category 'speech'" in errors[0] and "lab:speech/anna" in errors[0]
    [failed] = find_runs(tmp_path / "results", "data", "smoke", status="failed")
    assert "category 'speech'" in json.loads((failed / "status.json").read_text())["error"]
    assert not list((tmp_path / "data").glob("smoke*")), "a failed build leaves no dataset folder behind"


def test_hydra_full_error_shows_the_traceback(two_speakers: Path, tmp_path: Path) -> None:
    out = run_stage("data", "exp=smoke", folder_override(two_speakers), *paths(tmp_path), full_error=True)
    assert out.returncode not in (0, 2)
    assert "Traceback" in out.stderr and "MaterialShortage" in out.stderr


def test_a_failing_pipeline_step_ends_in_one_clean_line(tmp_path: Path) -> None:
    out = run_stage(
        "pipeline", "exp=smoke", "pipeline.steps=[data:smoke]", "pipeline.build_tiny_checkpoint=false",
        folder_override(tmp_path / "no_such_corpus"), *paths(tmp_path),
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no_such_corpus: no such folder" in errors[0]
    assert find_runs(tmp_path / "results", "data", "smoke", status="failed")
    assert find_runs(tmp_path / "results", "pipeline", "smoke", status="failed")


def test_user_errors_keep_the_builtin_types_callers_catch() -> None:
    assert issubclass(MissingInputError, FileNotFoundError) and issubclass(DatasetNotBuiltError, FileNotFoundError)
    assert issubclass(DatasetExistsError, FileExistsError) and issubclass(ConfigError, ValueError)
    assert issubclass(MaterialShortage, RuntimeError) and issubclass(ModelLoadError, RuntimeError)
    for cls in (MissingInputError, DatasetExistsError, ConfigError, MaterialShortage, ModelLoadError):
        assert issubclass(cls, UserError)


def test_bad_config_values_are_user_errors(tmp_path: Path) -> None:
    for override, key in [
        ("data.design=grid", "data.design"),
        ("data.splits.dev=-0.2", "data.splits"),
        ("data.background.kind=musan", "data.background.root"),
        ("data.hygiene.speech_vads=[webrtc,vad9000]", "data.hygiene"),
        ("data.filters=[telephone]", "data.filters"),
        ("data.container_ms=300", "data.container_ms"),
    ]:
        cfg, exp = compose_config(["exp=smoke", override, *paths(tmp_path)])
        with pytest.raises(ConfigError, match=key):
            execute_stage("data", build, cfg, exp)


def test_a_missing_or_unreadable_checkpoint_is_a_user_error(tmp_path: Path, tiny_checkpoint: Path) -> None:
    with pytest.raises(ModelLoadError, match="holds no config.json"):
        load_model(ModelConfig(name_or_path=str(tmp_path), device="cpu", dtype="fp32"))
    broken = shutil.copytree(tiny_checkpoint, tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match=f"{broken}: the checkpoint could not be read .*SafetensorError"):
        load_model(ModelConfig(name_or_path=str(broken), device="cpu", dtype="fp32"))
