from __future__ import annotations

import json
from pathlib import Path

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.runs import create_run, find_runs, finish_run, latest_run, run_status


def test_run_folders_are_never_reused(tmp_path: Path) -> None:
    runs = [create_run(tmp_path, "evaluate", "a1", "seed: 1\n") for _ in range(3)]
    folders = {r.dir for r in runs}
    assert len(folders) == 3
    assert all(f.parent == tmp_path / "evaluate" / "a1" for f in folders)
    assert all((f / "config.yaml").read_text() == "seed: 1\n" for f in folders)


def test_env_json_records_code_and_versions(tmp_path: Path) -> None:
    run = create_run(tmp_path, "data", "smoke", "")
    env = json.loads(run.path("env.json").read_text())
    assert len(env["git"]["commit"]) == 40 and isinstance(env["git"]["dirty"], bool)
    assert env["packages"]["transformers"] and env["packages"]["qwen_vad"]
    assert env["python"].startswith("3.")


def test_latest_run_skips_unfinished_and_failed(tmp_path: Path) -> None:
    done = create_run(tmp_path, "data", "smoke", "")
    finish_run(done)
    failed = create_run(tmp_path, "data", "smoke", "")
    finish_run(failed, status="failed", error="boom")
    create_run(tmp_path, "data", "smoke", "")  # still running
    assert latest_run(tmp_path, "data", "smoke") == done.dir
    assert len(find_runs(tmp_path, "data", "smoke", status=None)) == 3
    assert run_status(failed.dir) == "failed"


def test_execute_stage_records_resolved_config_and_failure(tmp_path: Path) -> None:
    cfg, exp = compose_config(["exp=b3", f"paths.results_dir={tmp_path}", "data.per_cell=9"])

    def stage(cfg, run):
        run.path("out.txt").write_text(str(cfg.data.per_cell))

    run = execute_stage("demo", stage, cfg, exp)
    assert run.dir.parent == tmp_path / "demo" / "b3"
    assert "per_cell: 9" in run.path("config.yaml").read_text()
    assert run.path("out.txt").read_text() == "9" and run_status(run.dir) == "done"

    def broken(cfg, run):
        raise RuntimeError("disk full")

    try:
        execute_stage("demo", broken, cfg, exp)
    except RuntimeError:
        pass
    failed = find_runs(tmp_path, "demo", "b3", status="failed")
    assert len(failed) == 1
    assert "disk full" in json.loads((failed[0] / "status.json").read_text())["error"]
