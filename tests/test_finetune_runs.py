"""Finetune runs on a 40-clip dataset with a few steps: resume after an interruption, seeds,
a two-process data-parallel launch, and the errors a user can fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.finetune import finetune
from qwen_vad.models.loader import ModelLoadError
from qwen_vad.runs import Run, find_runs, run_status
from qwen_vad.training.resume import ResumeError

REPO = Path(__file__).resolve().parents[1]
DATA = ["data.name=ftset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
# Six steps of four clips, a dev score and a checkpoint every two steps.
BUDGET = ["finetune.max_steps=6", "finetune.eval_steps=2", "finetune.batch_size=4", "finetune.warmup_steps=1", "finetune.logging_steps=1"]
ADAPTER_WEIGHTS = "adapter_model.safetensors"
SINGLE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


class Preempted(RuntimeError):
    """What a killed job looks like to the run: training stops mid-way with an error."""


class PreemptAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **_: object) -> None:
        if state.global_step == self.step:
            raise Preempted(f"preempted at step {self.step}")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("finetune_runs")


def overrides(root: Path, tiny_checkpoint: Path, *extra: str) -> list[str]:
    paths = [f"paths.data_dir={root}/data", f"paths.results_dir={root}/results", f"model.name_or_path={tiny_checkpoint}"]
    return ["exp=smoke", *DATA, *paths, *BUDGET, *extra]


@pytest.fixture(scope="module")
def datasets(root: Path, tiny_checkpoint: Path, single_torch_thread: None) -> None:
    """The 40-clip set every test here trains on (seed sweeps included: data.seed fixes it)."""
    cfg, exp = compose_config(overrides(root, tiny_checkpoint))
    execute_stage("data", build, cfg, exp)


def run_finetune(root: Path, tiny_checkpoint: Path, *extra: str, callbacks: tuple[TrainerCallback, ...] = ()) -> Run:
    cfg, exp = compose_config(overrides(root, tiny_checkpoint, *extra))
    return execute_stage("finetune", lambda c, r: finetune(c, r, callbacks), cfg, exp)


def adapter_weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / ADAPTER_WEIGHTS)


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-7, msg=name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_resume_continues_an_interrupted_run_exactly(datasets: None, root: Path, tiny_checkpoint: Path) -> None:
    # Keep all three checkpoints (steps 2, 4, 6) so runs can be compared step by step.
    tag = ["finetune.save_total_limit=3"]
    uninterrupted = run_finetune(root, tiny_checkpoint, *tag)
    with pytest.raises(Preempted):
        run_finetune(root, tiny_checkpoint, *tag, callbacks=(PreemptAt(5),))
    interrupted = find_runs(root / "results", "finetune", "smoke", status=None)[-1]
    assert run_status(interrupted) == "failed"
    # Same seed, same settings: identical weights up to the interruption.
    assert_same_weights(
        adapter_weights(interrupted / "checkpoints" / "checkpoint-4"), adapter_weights(uninterrupted.path("checkpoints") / "checkpoint-4")
    )

    resumed = run_finetune(root, tiny_checkpoint, *tag, "resume=true")

    assert resumed.dir not in (interrupted, uninterrupted.dir), "a resumed run gets its own folder"
    training = json.loads(resumed.path("metrics.json").read_text())["training"]
    assert training["resumed_from"] == str(interrupted / "checkpoints" / "checkpoint-4")
    assert "resuming" in resumed.path("log.txt").read_text()
    # Optimizer, schedule, data order, LoRA dropout and SpecAugment masks all continue exactly.
    assert_same_weights(
        adapter_weights(resumed.path("checkpoints") / "checkpoint-6"), adapter_weights(uninterrupted.path("checkpoints") / "checkpoint-6")
    )
    assert_same_weights(adapter_weights(resumed.path("adapter")), adapter_weights(uninterrupted.path("adapter")))
    before = json.loads(uninterrupted.path("metrics.json").read_text())["training"]["dev_curve"]
    assert [p["step"] for p in training["dev_curve"]] == [0, 2, 4, 6], "the dev curve carries over"
    assert [p["balanced_accuracy"] for p in training["dev_curve"]] == [p["balanced_accuracy"] for p in before]

    with pytest.raises(ResumeError, match="nothing to resume"):
        run_finetune(root, tiny_checkpoint, *tag, "resume=true")
    with pytest.raises(ResumeError, match="no earlier finetune run .* has these settings"):
        run_finetune(root, tiny_checkpoint, *tag, "resume=true", "finetune.lr=1e-4")


@pytest.mark.slow
def test_a_seed_sweep_gives_one_run_per_seed(datasets: None, root: Path, tiny_checkpoint: Path) -> None:
    results = root / "sweep"
    # Both seeds train on the one dataset (data.seed is the dataset's own seed).
    command = [
        sys.executable, "-m", "qwen_vad.finetune", "-m",
        *overrides(root, tiny_checkpoint, f"paths.results_dir={results}"), "seed=1,2",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600, env=SINGLE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = find_runs(results, "finetune", "smoke")
    assert len(runs) == 2
    seeds = [OmegaConf.load(run / "config.yaml").seed for run in runs]
    assert sorted(seeds) == [1, 2]
    first, second = (adapter_weights(run / "adapter") for run in runs)
    assert any(not torch.equal(first[name], second[name]) for name in first), "the seed changes the LoRA start"


@pytest.mark.slow
def test_two_process_data_parallel_launch_saves_one_adapter(datasets: None, root: Path, tiny_checkpoint: Path) -> None:
    results = root / "ddp"
    # accelerate's --cpu launches a single process (more need MPI); --multi_gpu is its torchrun
    # launcher, which on a machine without GPUs starts CPU processes that talk over gloo.
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        "-m", "qwen_vad.finetune", *overrides(root, tiny_checkpoint, f"paths.results_dir={results}", "model.device=cpu",
                                              "finetune.batch_size=2", "finetune.max_steps=4"),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600, env=SINGLE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = find_runs(results, "finetune", "smoke", status=None)
    assert len(runs) == 1, "both ranks share one run folder"
    run = runs[0]
    assert run_status(run) == "done"
    assert "training on" in (run / "log.txt").read_text() and "training on" in (run / "log.rank1.txt").read_text()
    # Each rank saves its own RNG state into the shared checkpoint: both ran every step.
    assert {p.name for p in (run / "checkpoints" / "checkpoint-4").glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert [p.relative_to(results) for p in results.rglob(ADAPTER_WEIGHTS) if p.parent.name == "adapter"] == [
        (run / "adapter" / ADAPTER_WEIGHTS).relative_to(results)
    ]
    state = json.loads((run / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["train_batch_size"] == 2
    assert (run / "predictions.parquet").is_file()


def test_four_bit_on_cpu_and_a_preset_adapter_fail_before_training(datasets: None, root: Path, tiny_checkpoint: Path) -> None:
    with pytest.raises(ModelLoadError, match="needs a CUDA GPU"):
        run_finetune(root, tiny_checkpoint, "model.load_in_4bit=true", "model.device=cpu")
    assert run_status(find_runs(root / "results", "finetune", "smoke", status=None)[-1]) == "failed"
    with pytest.raises(ValueError, match="model.adapter=null"):
        run_finetune(root, tiny_checkpoint, f"model.adapter={root}")
