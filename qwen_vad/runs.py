"""Run folders: ``results/<stage>/<exp>/<YYYYmmdd-HHMMSS>[-N]/``, created once, never overwritten.

Each holds the resolved ``config.yaml``, ``env.json`` (git commit + dirty flag, package
versions, device), ``status.json`` (running / done / failed), ``log.txt`` and the stage's
outputs. Later stages find their inputs through ``latest_run``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


from qwen_vad.config import REPO_ROOT

# Recorded in env.json: the packages whose versions change results.
TRACKED_PACKAGES = (
    "qwen_vad", "torch", "transformers", "tokenizers", "peft", "accelerate", "bitsandbytes",
    "datasets", "numpy", "scipy", "pandas", "soundfile", "soxr", "webrtcvad-wheels",
    "silero-vad", "hydra-core", "omegaconf",
)  # fmt: skip

STATUS_FILE = "status.json"


@dataclass(frozen=True)
class Run:
    dir: Path
    stage: str
    exp: str

    def path(self, name: str) -> Path:
        return self.dir / name


def create_run(results_dir: str | Path, stage: str, exp: str, config_yaml: str) -> Run:
    """Make a fresh run folder (a ``-N`` suffix when two runs start in the same second)."""
    parent = Path(results_dir) / stage / exp
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        run_dir = parent / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            run_dir.mkdir()  # atomic: two processes never get the same folder
            break
        except FileExistsError:
            continue
    else:
        raise RuntimeError(f"could not create a new run folder under {parent}")
    run = Run(dir=run_dir, stage=stage, exp=exp)
    run.path("config.yaml").write_text(config_yaml)
    _write_json(run.path("env.json"), environment_info())
    _write_json(run.path(STATUS_FILE), {"status": "running", "started": _now()})
    return run


def finish_run(run: Run, status: str = "done", error: str | None = None) -> None:
    # The device is known only once the stage has loaded torch (lazily, to keep start-up cheap).
    env = json.loads(run.path("env.json").read_text())
    env["device"] = device_info()
    _write_json(run.path("env.json"), env)
    record = json.loads(run.path(STATUS_FILE).read_text())
    record.update(status=status, ended=_now())
    if error:
        record["error"] = error
    _write_json(run.path(STATUS_FILE), record)


def run_status(run_dir: Path) -> str:
    try:
        return json.loads((run_dir / STATUS_FILE).read_text())["status"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return "unknown"


def find_runs(results_dir: str | Path, stage: str, exp: str, status: str | None = "done") -> list[Path]:
    """Run folders of one stage and experiment, oldest first (names sort by time)."""
    parent = Path(results_dir) / stage / exp
    if not parent.is_dir():
        return []
    runs = sorted((p for p in parent.iterdir() if p.is_dir()), key=run_sort_key)
    return [p for p in runs if status is None or run_status(p) == status]


def latest_run(results_dir: str | Path, stage: str, exp: str) -> Path | None:
    runs = find_runs(results_dir, stage, exp)
    return runs[-1] if runs else None


def attach_log(run: Run, file_name: str = "log.txt") -> logging.Handler:
    """Copy everything logged during the run into ``log.txt`` (or another file of the run)."""
    handler = logging.FileHandler(run.path(file_name), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def environment_info() -> dict:
    return {
        "time": _now(),
        "argv": sys.argv,
        "git": git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
        "device": device_info(),
    }


def git_state() -> dict:
    """Commit and dirty flag of the checkout the code runs from (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def device_info() -> dict:
    # torch is imported only if the stage already did: the data stage must not pay for CUDA init.
    torch = sys.modules.get("torch")
    if torch is None:
        return {"torch_loaded": False}
    info = {"torch_loaded": True, "cuda_available": torch.cuda.is_available()}
    if info["cuda_available"]:
        info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cuda_version"] = torch.version.cuda
    return info


def repo_relative(path: Path) -> str:
    """A path as the user would type it (relative to the working directory when inside it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_sort_key(path: Path) -> tuple[str, int]:
    """Run folders in the order they were created."""
    # "20261121-081500" sorts as text; a "-N" suffix breaks ties within one second.
    date, _, rest = path.name.partition("-")
    clock, _, suffix = rest.partition("-")
    return (f"{date}-{clock}", int(suffix) if suffix.isdigit() else 0)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
