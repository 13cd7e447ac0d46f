"""``python -m qwen_vad.evaluate`` end to end: VAD baselines and the tiny model on a real built dataset."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.data.manifest import MANIFEST_CSV, MANIFEST_PARQUET, read_manifest
from qwen_vad.evaluate import evaluate
from qwen_vad.runs import find_runs, run_status
from qwen_vad.scoring.predictions import is_speech_label
from qwen_vad.scoring.thresholds import learn_threshold

REPO = Path(__file__).resolve().parents[1]
DATA = ["data.name=evalset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
PREDICTION_HEAD = ["clip_id", "split", "label", "p_speech", "pred", "threshold", "system", "prompt_id"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluate")
    cfg, exp = compose_config(["exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"])
    execute_stage("data", build, cfg, exp)
    return root


def run_evaluate(root: Path, exp: str, *extra: str, data_dir: Path | None = None):
    cfg, chosen = compose_config(
        [f"exp={exp}", *DATA, f"paths.data_dir={data_dir or root / 'data'}", f"paths.results_dir={root}/results", *extra]
    )
    return execute_stage("evaluate", evaluate, cfg, chosen)


@pytest.mark.parametrize("exp,system", [("d1", "webrtc-mode3"), ("d2", "silero-max")])
def test_vad_baselines_write_the_predictions_contract(workspace: Path, exp: str, system: str) -> None:
    run = run_evaluate(workspace, exp)
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    assert list(predictions.columns[: len(PREDICTION_HEAD)]) == PREDICTION_HEAD
    for column in ("duration_ms", "snr_db", "category", "base_clip_id", "latency_ms"):
        assert column in predictions.columns
    assert set(predictions["split"]) == {"dev", "test"} and set(predictions["system"]) == {system}
    manifest = read_manifest(workspace / "data" / "evalset")
    assert len(predictions) == (manifest["split"] != "train").sum()
    metrics = json.loads(run.path("metrics.json").read_text())
    assert metrics["system"] == system and metrics["splits"]["test"]["n"] == (manifest["split"] == "test").sum()
    # The kind comes from the systems registry, recorded beside the predictions and in metrics.
    assert predictions.columns[len(PREDICTION_HEAD)] == "system_kind" and set(predictions["system_kind"]) == {"vad"}
    assert metrics["system_kind"] == "vad"
    assert metrics["latency_ms"]["forward"]["p50"] > 0


def test_threshold_is_learned_on_dev_only(workspace: Path, tmp_path: Path) -> None:
    run = run_evaluate(workspace, "d2")
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    dev = predictions[predictions["split"] == "dev"]
    stored = json.loads(run.path("threshold.json").read_text())
    assert stored["threshold"] == pytest.approx(learn_threshold(dev["p_speech"].to_numpy(), is_speech_label(dev["label"]))["threshold"])
    assert (predictions["threshold"] == stored["threshold"]).all()

    # Flip every test label: the threshold must not move (test never tunes anything).
    shutil.copytree(workspace / "data", tmp_path / "data")
    manifest = read_manifest(tmp_path / "data" / "evalset")
    test_rows = manifest["split"] == "test"
    manifest.loc[test_rows, "label"] = manifest.loc[test_rows, "label"].map({"SPEECH": "NONSPEECH", "NONSPEECH": "SPEECH"})
    manifest.to_parquet(tmp_path / "data" / "evalset" / MANIFEST_PARQUET, index=False)
    flipped = run_evaluate(workspace, "d2", data_dir=tmp_path / "data")
    assert json.loads(flipped.path("threshold.json").read_text())["threshold"] == stored["threshold"]
    before = json.loads(run.path("metrics.json").read_text())["splits"]["test"]["accuracy"]
    after = json.loads(flipped.path("metrics.json").read_text())["splits"]["test"]["accuracy"]
    assert after == pytest.approx(1 - before)


def test_corrupt_and_missing_audio_is_reported_and_skipped(workspace: Path, tmp_path: Path) -> None:
    shutil.copytree(workspace / "data", tmp_path / "data")
    folder = tmp_path / "data" / "evalset"
    manifest = read_manifest(folder)
    test_clips = manifest[manifest["split"] == "test"]
    corrupt, missing = test_clips.iloc[0], test_clips.iloc[1]
    (folder / corrupt["path"]).write_bytes(b"RIFF....garbage")
    (folder / missing["path"]).unlink()
    run = run_evaluate(workspace, "d1", data_dir=tmp_path / "data")
    skipped = pd.read_csv(run.path("skipped_clips.csv"))
    assert set(skipped["clip_id"]) == {corrupt["clip_id"], missing["clip_id"]}
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    assert not predictions["clip_id"].isin(skipped["clip_id"]).any()
    assert len(predictions[predictions["split"] == "test"]) == len(test_clips) - 2
    assert json.loads(run.path("metrics.json").read_text())["skipped_clips"] == {"dev": 0, "test": 2}


def test_a_dataset_built_from_another_config_is_refused(workspace: Path) -> None:
    with pytest.raises(Exception, match="data.per_cell"):
        run_evaluate(workspace, "d1", "data.per_cell=6")


def test_a1_command_scores_with_the_tiny_checkpoint(workspace: Path, tiny_checkpoint: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qwen_vad.evaluate", "exp=a1", *DATA, f"paths.data_dir={workspace}/data",
         f"paths.results_dir={workspace}/results", f"model.name_or_path={tiny_checkpoint}", "model.dtype=fp32",
         "decoding.batch_size=4"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = sorted((workspace / "results" / "evaluate" / "a1").iterdir())[-1]
    predictions = pd.read_parquet(run_dir / "predictions.parquet")
    assert set(predictions["prompt_id"]) == {"baseline"} and predictions["p_speech"].between(0, 1).all()
    assert set(predictions["system_kind"]) == {"llm"}
    assert predictions["p_speech"].nunique() > 1
    env = json.loads((run_dir / "env.json").read_text())
    assert env["device"]["torch_loaded"] and env["packages"]["transformers"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_evaluate_gives_the_single_process_predictions(workspace: Path, tiny_checkpoint: Path) -> None:
    model = [f"model.name_or_path={tiny_checkpoint}", "model.dtype=fp32", "model.device=cpu", "decoding.batch_size=2"]
    single_run = run_evaluate(workspace, "a1", *model)
    single = pd.read_parquet(single_run.path("predictions.parquet"))
    results = workspace / "two_process"
    # accelerate's --multi_gpu is its torchrun launcher: on a machine without GPUs, two CPU
    # processes over gloo. Each rank also reads its batches in two DataLoader workers.
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        "-m", "qwen_vad.evaluate", "exp=a1", *DATA, f"paths.data_dir={workspace}/data", f"paths.results_dir={results}",
        *model, "evaluate.num_workers=2",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    runs = find_runs(results, "evaluate", "a1", status=None)
    assert len(runs) == 1 and run_status(runs[0]) == "done", "both ranks share one run folder"
    run = runs[0]
    assert (run / "log.txt").is_file() and (run / "log.rank1.txt").is_file()
    parallel = pd.read_parquet(run / "predictions.parquet")

    # Same rows in the same order, the same scores; each clip scored by one rank, both ranks busy.
    timed = [c for c in parallel.columns if c.endswith("_ms")]
    assert list(parallel.columns) == list(single.columns)
    pd.testing.assert_frame_equal(parallel.drop(columns=[*timed, "rank", "p_speech"]), single.drop(columns=[*timed, "rank", "p_speech"]))
    assert (parallel["p_speech"] - single["p_speech"]).abs().max() <= 1e-5
    assert set(single["rank"]) == {0} and set(parallel["rank"]) == {0, 1}
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["latency_ms_by_rank"]) == {"0", "1"} and metrics["latency_ms_by_rank"]["1"]["total"]["p50"] > 0
    for split in ("dev", "test"):
        loops = metrics["scoring_loop"][split]
        assert [loop["rank"] for loop in loops] == [0, 1] and all(loop["input_workers"] == 2 for loop in loops)
        assert sum(loop["clips"] for loop in loops) == metrics["clips"][split]
    assert json.loads((run / "threshold.json").read_text()) == json.loads(single_run.path("threshold.json").read_text())
