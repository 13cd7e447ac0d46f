"""The learning check: ``finetune exp=smoke`` on the synthetic smoke data with the tiny checkpoint
really learns, writes every output, and its adapter scores the same through ``evaluate``.

The tiny model's random audio encoder and projector stay frozen, as in b2: the adapter has to
route what the random features carry about speech to the answer letter (a linear probe on the
pooled features reaches ~0.86 dev balanced accuracy, the ceiling here). About 2 minutes on CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.finetune import finetune
from qwen_vad.runs import Run, run_status

REPO = Path(__file__).resolve().parents[1]
PREDICTION_HEAD = ["clip_id", "split", "label", "p_speech", "pred", "threshold", "system", "prompt_id"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> list[str]:
    root = tmp_path_factory.mktemp("finetune_learning")
    overrides = [f"paths.data_dir={root}/data", f"paths.results_dir={root}/results", f"model.name_or_path={tiny_checkpoint}"]
    cfg, exp = compose_config(["exp=smoke", *overrides])
    execute_stage("data", build, cfg, exp)  # the smoke experiment's own 1,200 clips
    return overrides


@pytest.fixture(scope="module")
def trained(paths: list[str], single_torch_thread: None) -> Run:
    cfg, exp = compose_config(["exp=smoke", *paths])
    return execute_stage("finetune", finetune, cfg, exp)


@pytest.mark.slow
def test_training_learns_the_task(trained: Run) -> None:
    training = json.loads(trained.path("metrics.json").read_text())["training"]
    untrained, best = training["untrained_dev_balanced_accuracy"], training["best_dev_balanced_accuracy"]
    print(f"\nlearning check (loss.mode=answer): dev balanced accuracy {untrained:.3f} -> {best:.3f}")
    assert best >= 0.80
    assert best >= untrained + 0.20
    curve = training["dev_curve"]
    assert curve[0]["step"] == 0 and curve[-1]["step"] == training["steps"] == 360
    assert training["best_step"] in [point["step"] for point in curve]
    assert max(point["balanced_accuracy"] for point in curve) == pytest.approx(best)


@pytest.mark.slow
def test_a_run_leaves_adapter_state_logs_and_test_predictions(trained: Run) -> None:
    assert run_status(trained.dir) == "done"
    adapter = trained.path("adapter")
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
    state = json.loads(trained.path("trainer_state.json").read_text())
    assert state["global_step"] == 360 and state["best_global_step"] == json.loads(trained.path("metrics.json").read_text())["training"]["best_step"]
    assert list(trained.path("tensorboard").glob("events.out.tfevents.*"))
    assert list(trained.path("checkpoints").glob("checkpoint-*/adapter_model.safetensors"))

    predictions = pd.read_parquet(trained.path("predictions.parquet"))
    assert list(predictions.columns[: len(PREDICTION_HEAD)]) == PREDICTION_HEAD
    assert set(predictions["split"]) == {"dev", "test"} and set(predictions["system"]) == {"tiny+lora"}
    threshold = json.loads(trained.path("threshold.json").read_text())
    assert threshold["source"].startswith("learned on the full dev split") and (predictions["threshold"] == threshold["threshold"]).all()
    metrics = json.loads(trained.path("metrics.json").read_text())
    assert metrics["splits"]["test"]["balanced_accuracy"] >= 0.70  # the threshold came from dev only
    assert "step 360/360" in trained.path("log.txt").read_text()


@pytest.mark.slow
def test_evaluate_loads_the_adapter_and_reproduces_the_dev_scores(trained: Run, paths: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qwen_vad.evaluate", "exp=smoke", *paths, f"model.adapter={trained.path('adapter')}", "split=dev"],
        capture_output=True, text=True, cwd=REPO, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    results = Path(next(p.split("=", 1)[1] for p in paths if p.startswith("paths.results_dir=")))
    evaluated = sorted((results / "evaluate" / "smoke").iterdir())[-1]
    again = pd.read_parquet(evaluated / "predictions.parquet").set_index("clip_id")["p_speech"]
    trained_dev = pd.read_parquet(trained.path("predictions.parquet")).query("split == 'dev'").set_index("clip_id")["p_speech"]
    assert len(again) == len(trained_dev) == 240
    pd.testing.assert_series_equal(again.sort_index(), trained_dev.sort_index(), rtol=0, atol=1e-6)
    # The saved adapter is the best one seen during training: its own answers (p >= 0.5) give the
    # dev balanced accuracy the training curve recorded for the best step.
    labels = pd.read_parquet(evaluated / "predictions.parquet").set_index("clip_id")["label"]
    said_speech = again >= 0.5
    balanced = ((said_speech & (labels == "SPEECH")).sum() / (labels == "SPEECH").sum()
                + (~said_speech & (labels == "NONSPEECH")).sum() / (labels == "NONSPEECH").sum()) / 2  # fmt: skip
    best = json.loads(trained.path("metrics.json").read_text())["training"]["best_dev_balanced_accuracy"]
    assert balanced == pytest.approx(best)
