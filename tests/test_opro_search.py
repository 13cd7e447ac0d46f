"""``python -m qwen_vad.opro`` end to end: the tiny checkpoint, a real built dataset, and the
scripted optimizer serving the OpenAI protocol on localhost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from peft import LoraConfig, get_peft_model

from qwen_vad.config import ModelConfig
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.data.manifest import MANIFEST_PARQUET, read_manifest
from qwen_vad.models.loader import load_model
from qwen_vad.opro.__main__ import opro
from qwen_vad.opro.history import HISTORY_FILE, read_events
from qwen_vad.opro.meta_prompt import shown_history
from qwen_vad.opro.openai_client import OptimizerUnavailableError
from qwen_vad.opro.resume import ResumeError
from qwen_vad.opro.score_cache import SCORE_CACHE_FILE
from qwen_vad.opro.scripted_server import ScriptedOptimizerServer, reply_with
from qwen_vad.prompts import load_prompt, parse_prompt
from qwen_vad.runs import Run, create_run, finish_run, run_status

REPO = Path(__file__).resolve().parents[1]
DATA = ["data.name=oproset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
PREDICTION_HEAD = ["clip_id", "split", "label", "p_speech", "pred", "threshold", "system", "prompt_id"]
# Events that describe the search itself (what must not depend on test data or interruptions).
SEARCH_EVENTS = ("candidate", "dev_score", "step_done", "stopped")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("opro")
    cfg, exp = compose_config(["exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"])
    execute_stage("data", build, cfg, exp)
    return root


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedOptimizerServer]:
    with ScriptedOptimizerServer() as running:
        yield running


def search_args(root: Path, base_url: str, tiny_checkpoint: Path, *extra: str, results: str = "results") -> list[str]:
    return [
        "exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/{results}",
        f"model.name_or_path={tiny_checkpoint}", "evaluate.warmup_batches=0",
        "decoding.batch_size=4",  # several batches per split: a two-process run shares every split out
        "opro.optimizer=openai", f"opro.openai.base_url={base_url}", "opro.openai.max_retries=1",
        "opro.openai.backoff_s=0.01", "opro.openai.timeout_s=30", "opro.seed_prompts=[baseline,question]",
        "opro.candidates_per_step=3", "opro.max_steps=2", f"opro.optimized_dir={root}/optimized/{results}", *extra,
    ]  # fmt: skip


def run_search(*args: str) -> Run:
    cfg, exp = compose_config(list(args))
    return execute_stage("opro", opro, cfg, exp)


def search_events(run_dir: Path) -> list[dict]:
    return [e for e in read_events(run_dir / HISTORY_FILE) if e["event"] in SEARCH_EVENTS]


@pytest.fixture(scope="module")
def reference(workspace: Path, server: ScriptedOptimizerServer, tiny_checkpoint: Path) -> Run:
    """An uninterrupted search that the other runs are compared with."""
    return run_search(*search_args(workspace, server.base_url, tiny_checkpoint, results="reference"))


def test_search_records_every_step_and_writes_the_evaluate_outputs(
    workspace: Path, server: ScriptedOptimizerServer, tiny_checkpoint: Path
) -> None:
    prompt = "Is a person speaking?\nA) Yes, a human voice\nB) No, no voice at all\n\nAnswer A or B."
    step_one = reply_with(
        f"<PROMPT>\n{prompt}\n</PROMPT>",
        "Two ideas: <PROMPT>" + prompt.replace("\n", "  \r\n") + "</PROMPT> and <PROMPT>Pick A or B.</PROMPT>",
        "I cannot help with that.",
    )
    server.script(step_one)
    run = run_search(*search_args(workspace, server.base_url, tiny_checkpoint, results="e2e"))
    assert run_status(run.dir) == "done"
    events = read_events(run.path(HISTORY_FILE))

    meta_prompts = {e["step"]: e["text"] for e in events if e["event"] == "meta_prompt"}
    assert sorted(meta_prompts) == [1, 2]
    shown = shown_history(meta_prompts[1])
    assert {text for text, _ in shown} == {load_prompt("baseline").text, load_prompt("question").text}
    assert all(0 <= score <= 100 for _, score in shown)
    assert prompt in [text for text, _ in shown_history(meta_prompts[2])]
    outputs = [e["raw"] for e in events if e["event"] == "optimizer_output" and e["step"] == 1]
    assert outputs == list(step_one.contents)

    step_one_candidates = [(e["prompt_id"], e["status"], e["reason"]) for e in events if e["event"] == "candidate" and e["step"] == 1]
    assert step_one_candidates[0] == ("s01c00", "scored", None)
    assert step_one_candidates[1] == ("s01c01", "duplicate", "same text as s01c00")
    assert step_one_candidates[2][:2] == ("s01c02", "rejected") and "option line for A" in step_one_candidates[2][2]
    assert step_one_candidates[3] == ("s01c03", "rejected", "no <PROMPT>...</PROMPT> block in the reply")
    scored = [e for e in events if e["event"] == "candidate" and e["status"] == "scored"]
    assert all(0 <= e["train_score"] <= 1 for e in scored)
    dev_scored = [e["prompt_id"] for e in events if e["event"] == "dev_score"]
    assert dev_scored[:2] == ["baseline", "question"] and len(dev_scored) <= 2 + 2 * 2
    assert events[-2]["event"] == "stopped" and "max_steps (2)" in events[-2]["reason"]

    manifest = read_manifest(workspace / "data" / "oproset")
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    assert list(predictions.columns[: len(PREDICTION_HEAD)]) == PREDICTION_HEAD and "latency_ms" in predictions.columns
    assert set(predictions.loc[predictions["split"] == "test", "clip_id"]) == set(manifest.loc[manifest["split"] == "test", "clip_id"])
    assert set(predictions["prompt_id"]) == {f"opro-smoke-{run.dir.name}"}

    metrics = json.loads(run.path("metrics.json").read_text())
    final = events[-1]
    assert final["event"] == "final" and metrics["opro"]["searched_prompt_id"] == final["searched_prompt_id"]
    assert metrics["opro"]["test_accuracy"] == metrics["splits"]["test"]["accuracy"]
    published = parse_prompt(Path(metrics["opro"]["prompt_file"]).read_text(), "x")
    assert published.id == f"opro-smoke-{run.dir.name}" and published.text == final["text"]
    assert published.metadata["dev_score"] == f"{final['dev_score']:.4f}"
    assert published.metadata["test_score"] == f"{final['test_score']:.4f}" and published.metadata["run"].endswith(run.dir.name)


def test_test_data_is_never_used_during_the_search(
    workspace: Path, reference: Run, server: ScriptedOptimizerServer, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    # Unreadable test audio and flipped test labels: if the search read either, its history would differ.
    shutil.copytree(workspace / "data", tmp_path / "data")
    folder = tmp_path / "data" / "oproset"
    manifest = read_manifest(folder)
    test_rows = manifest["split"] == "test"
    for path in manifest.loc[test_rows, "path"]:
        (folder / path).write_bytes(b"RIFF....not audio")
    manifest.loc[test_rows, "label"] = manifest.loc[test_rows, "label"].map({"SPEECH": "NONSPEECH", "NONSPEECH": "SPEECH"})
    manifest.to_parquet(folder / MANIFEST_PARQUET, index=False)

    args = search_args(workspace, server.base_url, tiny_checkpoint, results="no_test")
    run = run_search(*[a for a in args if not a.startswith("paths.data_dir=")], f"paths.data_dir={tmp_path}/data")
    assert search_events(run.dir) == search_events(reference.dir)
    assert [e for e in read_events(run.path(HISTORY_FILE)) if e["event"] == "meta_prompt"] == [
        e for e in read_events(reference.path(HISTORY_FILE)) if e["event"] == "meta_prompt"
    ]

    test_ids = set(manifest.loc[test_rows, "clip_id"])
    start = read_events(run.path(HISTORY_FILE))[0]
    assert start["skipped_clips"] == [] and not test_ids & set(start["train_clip_ids"] + start["dev_clip_ids"])
    scored_ids = {c for line in run.path(SCORE_CACHE_FILE).read_text().splitlines() for c in json.loads(line)["clip_ids"]}
    assert scored_ids == set(start["train_clip_ids"]) | set(start["dev_clip_ids"])
    # The broken test files were met once, by the final evaluation, and only there.
    skipped = pd.read_csv(run.path("skipped_clips.csv"))
    assert set(skipped["clip_id"]) == test_ids and set(skipped["split"]) == {"test"}


def test_a_killed_run_resumes_where_it_stopped(
    workspace: Path, reference: Run, server: ScriptedOptimizerServer, tiny_checkpoint: Path
) -> None:
    args = search_args(workspace, server.base_url, tiny_checkpoint, results="killed")
    log = workspace / "killed.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "qwen_vad.opro", *args], cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    history = wait_for_history_line(workspace / "killed" / "opro" / "smoke", '"event": "optimizer_output", "step": 2', process, log)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_run = history.parent
    assert run_status(killed_run) == "running"  # killed: it never got to mark itself failed
    killed_events = read_events(history)
    assert not any(e["event"] == "step_done" and e["step"] == 2 for e in killed_events), "killed too late to test a pending step"

    requests_before = len(server.requests)
    resumed = run_search(*args, "resume=true")
    assert run_status(resumed.dir) == "done"
    assert len(server.requests) == requests_before  # step 2's replies were reused, nothing asked twice
    events = read_events(resumed.path(HISTORY_FILE))
    assert {"event": "resumed", "step": 1, "from_run": str(killed_run)} in events
    assert search_events(resumed.dir) == search_events(reference.dir)
    # Every score the killed run had was carried over: no prompt was scored twice.
    assert len(resumed.path(SCORE_CACHE_FILE).read_text().splitlines()) == len(reference.path(SCORE_CACHE_FILE).read_text().splitlines())


def wait_for_history_line(runs_dir: Path, marker: str, process: subprocess.Popen, log: Path, timeout_s: float = 240) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for history in runs_dir.glob(f"*/{HISTORY_FILE}"):
            if marker in history.read_text():
                return history
        if process.poll() is not None:
            raise AssertionError(f"the search ended before {marker!r}: {log.read_text()[-3000:]}")
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"no {marker!r} within {timeout_s} s")


def test_a_server_that_is_down_fails_the_run_clearly_and_resume_continues(
    workspace: Path, reference: Run, server: ScriptedOptimizerServer, tiny_checkpoint: Path
) -> None:
    down = "http://127.0.0.1:9/v1"  # the discard port: nothing answers chat completions there
    with pytest.raises(OptimizerUnavailableError, match=r"127\.0\.0\.1:9/v1 gave no usable answer.*resume=true"):
        run_search(*search_args(workspace, down, tiny_checkpoint, results="down"))
    failed = sorted((workspace / "down" / "opro" / "smoke").iterdir())[-1]
    assert run_status(failed) == "failed"
    events = read_events(failed / HISTORY_FILE)
    assert [e["event"] for e in events[-2:]] == ["meta_prompt", "optimizer_error"] and events[-1]["step"] == 1

    # The server is back (another address is a setting a resumed run may change).
    resumed = run_search(*search_args(workspace, server.base_url, tiny_checkpoint, results="down"), "resume=true")
    assert search_events(resumed.dir) == search_events(reference.dir)

    with pytest.raises(ResumeError, match="finished: nothing to resume"):
        run_search(*search_args(workspace, server.base_url, tiny_checkpoint, results="down"), "resume=true")


def test_resume_refuses_changed_search_settings(workspace: Path, tiny_checkpoint: Path) -> None:
    down = "http://127.0.0.1:9/v1"
    args = search_args(workspace, down, tiny_checkpoint, "opro.seed_prompts=[baseline]", results="changed")
    with pytest.raises(OptimizerUnavailableError):
        run_search(*args)
    with pytest.raises(ResumeError, match=r"opro.train_subset_size: 64 -> 10"):
        run_search(*args, "resume=true", "opro.train_subset_size=10")


def test_random_mode_proposes_without_history(workspace: Path, server: ScriptedOptimizerServer, tiny_checkpoint: Path) -> None:
    run = run_search(*search_args(workspace, server.base_url, tiny_checkpoint, "opro.mode=random", "opro.max_steps=1", results="random"))
    (meta,) = [e["text"] for e in read_events(run.path(HISTORY_FILE)) if e["event"] == "meta_prompt"]
    assert shown_history(meta) == [] and "score" not in meta and "answered" not in meta
    assert meta.count("\n- a ") == 3  # the exemplars
    assert load_prompt("baseline").text not in meta


def test_the_scorers_own_model_can_be_the_optimizer(workspace: Path, tiny_checkpoint: Path) -> None:
    args = search_args(workspace, "unused", tiny_checkpoint, "opro.optimizer=self", "opro.max_steps=1", "opro.max_new_tokens=12", results="self")
    run = run_search(*args)
    outputs = [e["raw"] for e in read_events(run.path(HISTORY_FILE)) if e["event"] == "optimizer_output"]
    assert len(outputs) == 3 and all(isinstance(o, str) and o for o in outputs)
    assert run_status(run.dir) == "done"


def test_b4_takes_the_adapter_of_the_latest_finetune_run_of_its_seed(
    workspace: Path, reference: Run, server: ScriptedOptimizerServer, tiny_checkpoint: Path
) -> None:
    results = workspace / "b4"
    args = search_args(workspace, server.base_url, tiny_checkpoint, "model.adapter_from_finetune=b3", "opro.max_steps=1", "seed=42", results="b4")
    with pytest.raises(FileNotFoundError, match="no finished finetune run of 'b3' with seed 42 .* run `python -m qwen_vad.finetune exp=b3 seed=42` first"):
        run_search(*args)

    other_seed = create_run(results, "finetune", "b3", "seed: 7\n")
    model, _ = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu"))
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)).save_pretrained(other_seed.path("adapter"))
    finish_run(other_seed)
    with pytest.raises(FileNotFoundError, match=r"it has runs with seeds \[7\]"):  # another seed's adapter is never taken
        run_search(*args)
    finetune = create_run(results, "finetune", "b3", "seed: 42\n")
    shutil.copytree(other_seed.path("adapter"), finetune.path("adapter"))
    finish_run(finetune)
    run = run_search(*args)
    start = read_events(run.path(HISTORY_FILE))[0]
    assert start["adapter"] == str(finetune.path("adapter"))
    assert set(pd.read_parquet(run.path("predictions.parquet"))["system"]) == {"tiny+lora"}
    with_adapter = json.loads(run.path(SCORE_CACHE_FILE).read_text().splitlines()[0])
    without = json.loads(reference.path(SCORE_CACHE_FILE).read_text().splitlines()[0])
    assert with_adapter["clip_ids"] == without["clip_ids"] and with_adapter["key"] != without["key"]
    assert with_adapter["p_speech"] != without["p_speech"]


def test_two_processes_search_as_one(workspace: Path, reference: Run, server: ScriptedOptimizerServer, tiny_checkpoint: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # accelerate's --multi_gpu is its torchrun launcher: on a machine without GPUs, two CPU
    # processes over gloo; each scores its share of every prompt's clips.
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
        "-m", "qwen_vad.opro", *search_args(workspace, server.base_url, tiny_checkpoint, results="two_process"),
    ]  # fmt: skip
    requests_before = len(server.requests)
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    (run_dir,) = (workspace / "two_process" / "opro" / "smoke").iterdir()  # one run folder for both ranks
    assert run_status(run_dir) == "done" and (run_dir / "log.rank1.txt").is_file()

    # The optimizer was asked once per step (by rank 0), and the search took the same steps.
    events, expected = read_events(run_dir / HISTORY_FILE), read_events(reference.path(HISTORY_FILE))
    assert len(server.requests) - requests_before == sum(e["event"] == "meta_prompt" for e in expected)
    assert search_events(run_dir) == search_events(reference.dir)
    assert [e["event"] for e in events] == [e["event"] for e in expected], "each event written once"
    assert [e for e in events if e["event"] == "meta_prompt"] == [e for e in expected if e["event"] == "meta_prompt"]
    cached = (run_dir / SCORE_CACHE_FILE).read_text().splitlines()
    assert len(cached) == len(reference.path(SCORE_CACHE_FILE).read_text().splitlines())

    # The final scoring: the single process's predictions, shared out among both ranks.
    parallel, single = pd.read_parquet(run_dir / "predictions.parquet"), pd.read_parquet(reference.path("predictions.parquet"))
    assert parallel["clip_id"].tolist() == single["clip_id"].tolist() and set(parallel["rank"]) == {0, 1}
    assert (parallel["p_speech"] - single["p_speech"]).abs().max() <= 1e-5
    assert (parallel["pred"] == single["pred"]).all()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["opro"]["searched_prompt_id"] == events[-1]["searched_prompt_id"] and set(metrics["latency_ms_by_rank"]) == {"0", "1"}
