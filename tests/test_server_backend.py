"""Scoring through a chat-completions server (``model.backend=server``): ``python -m
qwen_vad.models.serve`` on the tiny checkpoint, started as a real process on 127.0.0.1, against
in-process scoring of the same clips, for evaluate (A/B and generate mode) and OPRO, and through
a server that dies mid-run and comes back."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from transformers import AutoTokenizer

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.errors import ConfigError, UserError
from qwen_vad.evaluate import evaluate
from qwen_vad.opro.__main__ import opro
from qwen_vad.opro.history import HISTORY_FILE, read_events
from qwen_vad.opro.score_cache import SCORE_CACHE_FILE
from qwen_vad.config import config_yaml
from qwen_vad.runs import Run, create_run, finish_run, run_status
from qwen_vad.serving import wire
from qwen_vad.serving.answer_log import ANSWERS_FILE
from qwen_vad.serving.client import ScoringServerUnavailable

REPO = Path(__file__).resolve().parents[1]
DATA = ["data.name=serverset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
# Columns that must be the same whichever backend scored (latency and raw answers aside).
SAME_COLUMNS = ["clip_id", "split", "label", "pred", "system", "prompt_id", "system_kind"]
TOLERANCE = 1e-4

pytestmark = pytest.mark.slow


@dataclass
class RunningServer:
    process: subprocess.Popen
    url: str
    request_log: Path

    def requests(self) -> list[dict]:
        if not self.request_log.is_file():
            return []
        return [json.loads(line) for line in self.request_log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(checkpoint: Path, port: int, request_log: Path, timeout_s: float = 120) -> RunningServer:
    output = request_log.with_suffix(".out")
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "qwen_vad.models.serve", str(checkpoint), "--port", str(port), "--request-log", str(request_log)],
            cwd=REPO, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = RunningServer(process, f"http://127.0.0.1:{port}/v1", request_log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {output.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    server.stop()
    raise AssertionError(f"the server did not come up within {timeout_s} s: {output.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("server")
    cfg, exp = compose_config(["exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"])
    execute_stage("data", build, cfg, exp)
    return root


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tiny_checkpoint, free_port(), tmp_path_factory.mktemp("serve") / "requests.jsonl")
    yield running
    running.stop()


def evaluate_args(root: Path, checkpoint: Path, *extra: str, results: str = "results") -> list[str]:
    return ["exp=a1", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/{results}", f"model.name_or_path={checkpoint}",
            "model.dtype=fp32", "evaluate.warmup_batches=0", *extra]  # fmt: skip


def via(server: RunningServer | str, concurrency: int = 4) -> list[str]:
    url = server if isinstance(server, str) else server.url
    return ["model.backend=server", f"model.server_url={url}", f"model.server_concurrency={concurrency}",
            "model.server_max_retries=1", "model.server_backoff_s=0.01", "model.server_timeout_s=30"]  # fmt: skip


def run_stage(stage, fn, args: list[str]) -> Run:
    cfg, exp = compose_config(args)
    return execute_stage(stage, fn, cfg, exp)


def predictions(run: Run) -> pd.DataFrame:
    return pd.read_parquet(run.path("predictions.parquet")).sort_values(["split", "clip_id"]).reset_index(drop=True)


def assert_same_predictions(served: pd.DataFrame, local: pd.DataFrame, columns: list[str] = SAME_COLUMNS) -> None:
    assert len(served) == len(local) > 0
    pd.testing.assert_frame_equal(served[columns], local[columns])
    assert np.abs(served["p_speech"].to_numpy() - local["p_speech"].to_numpy()).max() <= TOLERANCE
    np.testing.assert_allclose(served["threshold"].to_numpy(dtype=float), local["threshold"].to_numpy(dtype=float), atol=TOLERANCE)


def answered_keys(run_dir: Path) -> list[str]:
    return [json.loads(line)["key"] for line in (run_dir / ANSWERS_FILE).read_text().splitlines() if line.strip()]


def test_ab_scores_through_the_server_equal_in_process_scores(workspace: Path, server: RunningServer, tiny_checkpoint: Path) -> None:
    # Temperature and both option orders: p_speech from the two logprobs must mean what LLMScorer's means.
    decoding = ["decoding.temperature=2.0", "decoding.swap_options=true"]
    local = run_stage("evaluate", evaluate, evaluate_args(workspace, tiny_checkpoint, *decoding))
    before = len(server.requests())
    served = run_stage("evaluate", evaluate, evaluate_args(workspace, tiny_checkpoint, *decoding, *via(server)))
    assert run_status(served.dir) == "done"
    assert_same_predictions(predictions(served), predictions(local))
    assert predictions(served)["p_speech"].nunique() > 1
    # One request per clip and option order, each answer kept in the run folder.
    clips = len(predictions(served))
    assert len(server.requests()) - before == 2 * clips == len(set(answered_keys(served.dir)))
    latency = json.loads(served.path("metrics.json").read_text())["latency_ms"]
    assert latency["forward"]["p50"] > 0 and latency["feature_extraction"]["p50"] > 0


def test_generate_mode_through_the_server_gives_the_in_process_answers(workspace: Path, server: RunningServer, tiny_checkpoint: Path) -> None:
    decoding = ["decoding.mode=generate", "decoding.prompt=open_speech_or_nonspeech", "decoding.max_new_tokens=4"]
    local = predictions(run_stage("evaluate", evaluate, evaluate_args(workspace, tiny_checkpoint, *decoding)))
    served = predictions(run_stage("evaluate", evaluate, evaluate_args(workspace, tiny_checkpoint, *decoding, *via(server))))
    assert_same_predictions(served, local)
    assert served["answer"].tolist() == local["answer"].tolist() and served["answer_rule"].tolist() == local["answer_rule"].tolist()


def test_a_server_restart_mid_run_resumes_without_resending_what_was_answered(
    workspace: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    port = free_port()
    first = start_server(tiny_checkpoint, port, tmp_path / "first.jsonl")
    killer = threading.Thread(target=kill_after, args=(first, 5), daemon=True)
    killer.start()
    args = evaluate_args(workspace, tiny_checkpoint, *via(first, concurrency=1), results="restart")
    try:
        with pytest.raises(ScoringServerUnavailable) as failure:
            run_stage("evaluate", evaluate, args)
    finally:
        killer.join(timeout=60)
        first.stop()
    message = str(failure.value)
    assert "\n" not in message and first.url in message and "resume=true" in message
    [failed] = sorted((workspace / "restart" / "evaluate" / "a1").iterdir())
    assert run_status(failed) == "failed"
    answered = answered_keys(failed)
    total = len(predictions(run_stage("evaluate", evaluate, evaluate_args(workspace, tiny_checkpoint, results="restart_reference"))))
    assert 4 <= len(answered) < total  # the fifth answer may have died with the server

    second = start_server(tiny_checkpoint, port, tmp_path / "second.jsonl")
    try:
        resumed = run_stage("evaluate", evaluate, [*args, "resume=true"])
    finally:
        second.stop()
    assert run_status(resumed.dir) == "done"
    sent_again = [entry["sha256"] for entry in second.requests()]
    assert not set(sent_again) & set(answered), "a request answered before the restart was sent again"
    assert len(sent_again) == total - len(answered) and len(answered_keys(resumed.dir)) == total
    [reference] = sorted((workspace / "restart_reference" / "evaluate" / "a1").iterdir())
    assert_same_predictions(predictions(resumed), predictions(Run(reference, "evaluate", "a1")))

    with pytest.raises(UserError, match="finished: nothing to resume"):
        run_stage("evaluate", evaluate, [*args, "resume=true"])


def kill_after(server: RunningServer, requests: int, timeout_s: float = 60) -> None:
    """Kill the server (SIGKILL, no goodbye) once it has answered ``requests`` requests."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(server.requests()) < requests:
        time.sleep(0.002)
    os.kill(server.process.pid, signal.SIGKILL)


def test_a_server_that_is_down_is_one_clear_error(workspace: Path, tiny_checkpoint: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"  # nobody listens there
    with pytest.raises(ScoringServerUnavailable) as failure:
        run_stage("evaluate", evaluate, evaluate_args(workspace, tiny_checkpoint, *via(down), results="down"))
    message = str(failure.value)
    assert "\n" not in message and f"{down} gave no usable answer after 2 attempts" in message
    assert "ConnectionRefused" in message and "model.server_url" in message


def test_resume_needs_a_scorer_that_keeps_its_answers(workspace: Path, tiny_checkpoint: Path) -> None:
    args = evaluate_args(workspace, tiny_checkpoint, results="local_resume")
    cfg, exp = compose_config(args)
    finish_run(create_run(cfg.paths.results_dir, "evaluate", exp, config_yaml(cfg)), status="failed")  # an interrupted local run
    with pytest.raises(ConfigError, match="resume=true: the evaluate stage resumes server-backed scoring"):
        run_stage("evaluate", evaluate, [*args, "resume=true"])


def test_opro_through_the_server_scores_as_in_process(workspace: Path, server: RunningServer, tiny_checkpoint: Path) -> None:
    search = ["opro.optimizer=scripted", "opro.seed_prompts=[baseline]", "opro.candidates_per_step=2", "opro.max_steps=1",
              "opro.train_subset_size=16", "opro.dev_max_clips=8", "opro.dev_rescored_per_step=1"]  # fmt: skip

    def args(results: str, *extra: str) -> list[str]:
        base = evaluate_args(workspace, tiny_checkpoint, *search, *extra, results=results)
        return ["exp=smoke", *base[1:], f"opro.optimized_dir={workspace}/optimized/{results}"]

    local = run_stage("opro", opro, args("opro_local"))
    served = run_stage("opro", opro, args("opro_served", *via(server)))
    assert run_status(served.dir) == "done"
    # The optimizer (its own endpoint) saw the same scores, so the searches went the same way.
    assert search_events(served.dir) == search_events(local.dir)
    local_scores, served_scores = score_cache(local.dir), score_cache(served.dir)
    assert local_scores.keys() == served_scores.keys() and len(local_scores) > 16
    assert max(abs(local_scores[key] - served_scores[key]) for key in local_scores) <= TOLERANCE
    # The published prompt's id names its run; everything else is the same.
    assert_same_predictions(predictions(served), predictions(local), [c for c in SAME_COLUMNS if c != "prompt_id"])
    assert len(answered_keys(served.dir)) > len(local_scores)  # the search's requests and the final scoring's


def search_events(run_dir: Path) -> list[dict]:
    rounded = []
    for event in read_events(run_dir / HISTORY_FILE):
        if event["event"] in ("candidate", "dev_score", "step_done", "stopped"):
            rounded.append({k: round(v, 3) if isinstance(v, float) else v for k, v in event.items() if k != "time"})
    return rounded


def score_cache(run_dir: Path) -> dict[tuple[str, str], float]:
    scores = {}
    for line in (run_dir / SCORE_CACHE_FILE).read_text().splitlines():
        entry = json.loads(line)
        scores.update({(entry["key"], clip): p for clip, p in zip(entry["clip_ids"], entry["p_speech"], strict=True)})
    return scores


def post(server: RunningServer, body: object) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}/chat/completions", data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_server_answers_the_scoring_subset_and_refuses_the_rest(server: RunningServer, tiny_checkpoint: Path) -> None:
    with urllib.request.urlopen(f"{server.url}/models", timeout=10) as response:
        assert [m["id"] for m in json.loads(response.read())["data"]] == [str(tiny_checkpoint)]
    letters = [AutoTokenizer.from_pretrained(tiny_checkpoint).encode(letter, add_special_tokens=False)[0] for letter in "AB"]
    clip = np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32)
    messages = wire.clip_messages("Speech? A) yes B) no", None, clip)
    status, reply = post(server, wire.ab_request(str(tiny_checkpoint), messages, letters))
    assert status == 200
    content = reply["choices"][0]["logprobs"]["content"][0]
    # processed_logprobs: the two allowed tokens are the whole distribution, the better one chosen.
    assert {entry["token"] for entry in content["top_logprobs"]} == {f"token_id:{i}" for i in letters}
    assert sum(np.exp(entry["logprob"]) for entry in content["top_logprobs"]) == pytest.approx(1.0, abs=1e-5)
    assert content["token"] == max(content["top_logprobs"], key=lambda e: e["logprob"])["token"]
    assert wire.option_logprobs(json.dumps(reply).encode(), letters, {}).keys() == {str(i) for i in letters}

    status, reply = post(server, wire.generate_request(str(tiny_checkpoint), messages, 3))
    assert status == 200 and reply["usage"]["completion_tokens"] <= 3 and isinstance(reply["choices"][0]["message"]["content"], str)

    refused = {
        "sampling": ({**wire.generate_request(str(tiny_checkpoint), messages, 3), "temperature": 0.7}, 400, "temperature"),
        "a field outside the subset": ({**wire.generate_request(str(tiny_checkpoint), messages, 3), "tools": []}, 400, "tools"),
        "text before audio": ({"messages": [{"role": "user", "content": messages[0]["content"][::-1]}]}, 400, "audio part followed by a text part"),
        "three turns": ({"messages": messages * 3}, 400, "one clip and one prompt"),
        "logprobs of a long answer": ({**wire.generate_request(str(tiny_checkpoint), messages, 3), "logprobs": True}, 400, "max_tokens=1"),
        "another model": ({**wire.generate_request("gpt-4o", messages, 3)}, 404, "does not exist"),
        "not JSON": (b"{", 400, "not JSON"),
    }
    for case, (body, code, words) in refused.items():
        status, reply = post(server, body)
        assert (status, words in reply["error"]["message"]) == (code, True), case


def test_logprobs_without_both_options_are_refused_with_the_vllm_flag_to_set() -> None:
    # vLLM's default raw_logprobs: the top 20 over the whole vocabulary may miss the second letter.
    response = {"choices": [{"logprobs": {"content": [{"token": "token_id:32", "logprob": -0.1,
                "top_logprobs": [{"token": "token_id:32", "logprob": -0.1}, {"token": "token_id:7", "logprob": -2.5}]}]}}]}  # fmt: skip
    with pytest.raises(wire.MissingOptionError, match="option 'B' not among the 3 logprobs"):
        wire.option_logprobs(json.dumps(response).encode(), [32, 33], {32: "A", 33: "B"})
    # A server that names tokens by their text is read too.
    response["choices"][0]["logprobs"]["content"][0]["top_logprobs"][1] = {"token": "B", "logprob": -2.5}
    assert wire.option_logprobs(json.dumps(response).encode(), [32, 33], {32: "A", 33: "B"}) == {"32": -0.1, "33": -2.5}


def test_fine_tuning_refuses_a_server_backend(workspace: Path, tiny_checkpoint: Path) -> None:
    from qwen_vad.finetune import finetune

    args = ["exp=b3", *evaluate_args(workspace, tiny_checkpoint, results="finetune")[1:], *via("http://127.0.0.1:9/v1")]
    with pytest.raises(ConfigError, match="the finetune stage trains the model in this process"):
        run_stage("finetune", finetune, args)
