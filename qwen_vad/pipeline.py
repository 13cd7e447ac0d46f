"""``python -m qwen_vad.pipeline exp=smoke``: the whole chain, dataset to report.

Runs ``pipeline.steps`` in order, each as its own stage run (``exp=[step_exp, *overlay]``).
A step whose latest finished run has exactly the configuration it would run with is skipped,
so an interrupted pipeline resumes where it stopped; ``force=true`` re-runs everything.
Analysis and report steps re-run whenever an earlier step ran, since their inputs changed.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from qwen_vad.errors import ConfigError
from qwen_vad.cli import command_line_overrides, compose_config, config_yaml, execute_stage, stage_main
from qwen_vad.config import Config
from qwen_vad.runs import Run, latest_run

log = logging.getLogger("qwen_vad.pipeline")

# stage -> "module:function(cfg, run)"; imported only when a step needs it.
STAGE_FUNCTIONS = {
    "data": "qwen_vad.data.__main__:build",
    "evaluate": "qwen_vad.evaluate:evaluate",
    "finetune": "qwen_vad.finetune:finetune",
    "opro": "qwen_vad.opro.__main__:opro",
    "analyze": "qwen_vad.analyze:analyze",
    "report": "qwen_vad.report.__main__:report",
}
DOWNSTREAM = ("analyze", "report")  # read other runs: stale once anything before them ran


@dataclass(frozen=True)
class Step:
    stage: str
    exp: str

    @classmethod
    def parse(cls, spec: str) -> Step:
        stage, sep, exp = spec.partition(":")
        if not sep or stage not in STAGE_FUNCTIONS or not exp:
            raise ConfigError(f"pipeline.steps: {spec!r} is not 'stage:experiment' with a stage in {sorted(STAGE_FUNCTIONS)}")
        return cls(stage, exp)


def pipeline(cfg: Config, run: Run) -> None:
    steps = [Step.parse(spec) for spec in cfg.pipeline.steps]
    forwarded = [o for o in command_line_overrides() if o.split("=", 1)[0].lstrip("+~") not in ("exp",) and not o.startswith("pipeline.")]
    record, anything_ran = [], False
    for step in steps:
        step_cfg, exp = compose_config([f"exp=[{','.join([step.exp, *cfg.pipeline.overlay])}]", *forwarded])
        previous = latest_run(step_cfg.paths.results_dir, step.stage, exp)
        if should_skip(step, step_cfg, previous, cfg.force, anything_ran):
            log.info("skip %s %s: finished run %s has this configuration", step.stage, exp, previous)
            record.append({"step": f"{step.stage}:{exp}", "status": "skipped", "run": str(previous)})
            continue
        if cfg.pipeline.build_tiny_checkpoint:
            build_stand_in(step_cfg)
        started = time.perf_counter()
        step_run = execute_stage(step.stage, stage_function(step.stage), step_cfg, exp)
        anything_ran = True
        record.append({"step": f"{step.stage}:{exp}", "status": "ran", "run": str(step_run.dir), "seconds": round(time.perf_counter() - started, 1)})
    run.path("steps.json").write_text(json.dumps(record, indent=2) + "\n")
    print_summary(record)


def should_skip(step: Step, cfg: Config, previous: Path | None, force: bool, anything_ran: bool) -> bool:
    if force or previous is None or (step.stage in DOWNSTREAM and anything_ran):
        return False
    return (previous / "config.yaml").read_text() == config_yaml(cfg)


def stage_function(stage: str):
    module, _, name = STAGE_FUNCTIONS[stage].partition(":")
    return getattr(importlib.import_module(module), name)


def build_stand_in(cfg: Config) -> None:
    """The tiny random stand-in of the step's model (model.stand_in_dir), if it loads one."""
    from qwen_vad.models.stand_ins import resolve_stand_in
    from qwen_vad.models.tiny import build_tiny_checkpoint

    resolved = resolve_stand_in(cfg.model)
    if resolved is cfg.model:  # a checkpoint loaded as given
        return
    folder = build_tiny_checkpoint(resolved.name_or_path, size="tiny", seed=0, family=resolved.family)
    log.info("tiny random %s checkpoint ready at %s, standing in for %s (pipeline checks only, not a real model)",
             resolved.family, folder, cfg.model.name_or_path)  # fmt: skip


def print_summary(record: list[dict]) -> None:
    print("\npipeline steps:")
    for entry in record:
        seconds = f"{entry['seconds']:7.1f} s" if "seconds" in entry else "        -"
        print(f"  {entry['status']:8s}{seconds}  {entry['step']:24s} {entry['run']}")
    reports = [e["run"] for e in record if e["step"].startswith("report:")]
    if reports:
        print(f"\nreport.md: {Path(reports[-1]) / 'report.md'}")


main = stage_main("pipeline")(pipeline)

if __name__ == "__main__":
    main()
