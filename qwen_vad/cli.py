"""The command line of every stage: ``python -m qwen_vad.<stage> exp=NAME key=value ...``.

Hydra composes the schema (``qwen_vad.config.Config``), the chosen experiment file and the
overrides, and gives multirun sweeps (``-m seed=1,2,3``) and launcher plugins (SLURM). Before
Hydra starts, the experiment name and every key (inside the experiment file and on the
command line) are checked against the schema, so a typo fails at once with the valid choices.
A stage that fails for a reason the user can fix (``qwen_vad.errors.UserError``) ends with
``error: <message>`` on stderr and exit code 2, without a traceback unless HYDRA_FULL_ERROR=1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import re
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from qwen_vad.config import Config, config_yaml, experiment_names, experiments_dir
from qwen_vad.distributed import is_main_process, log_file_name, share_from_main
from qwen_vad.errors import ConfigError, UserError
from qwen_vad.runs import Run, attach_log, create_run, finish_run

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "smoke"
PRIMARY_CONFIG = "qwen_vad"
# The exit status of a stage that stopped on a UserError (argparse's for usage errors).
USER_ERROR_EXIT = 2


# --------------------------------------------------------------------------------------------
# Validation


@functools.cache
def schema() -> DictConfig:
    """The defaults as a DictConfig, built once (building it is most of a compose's time). Only
    merged into, which copies it: never modify the returned node."""
    return OmegaConf.structured(Config)


def load_experiment(name: str) -> DictConfig:
    """Read ``experiments/<name>.yaml`` and check every key in it against the schema."""
    names = experiment_names()
    if name not in names:
        raise ConfigError(
            f"unknown experiment {name!r}{_did_you_mean(name, names)}. "
            f"Valid experiments (in {experiments_dir()}): {', '.join(names)}"
        )
    path = experiments_dir() / f"{name}.yaml"
    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{path}: an experiment file must be a mapping of keys to values")
    _merge_checked(schema(), node, where=str(path))
    return node


def check_overrides(overrides: Sequence[str], base: DictConfig) -> None:
    """Check that each ``key=value`` override names a key of the schema.

    Values are not checked here (a sweep like ``seed=1,2`` is not an int yet): Hydra checks
    them against the schema's types when it composes each job.
    """
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in ("exp", "") or key.startswith("hydra.") or key == "hydra":
            continue
        # Merging "key=???" tests that the key exists without judging the value.
        _merge_checked(base, OmegaConf.from_dotlist([f"{key}=???"]), where="command line")


def check_command_line(argv: Sequence[str]) -> None:
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    exp_values = [a.split("=", 1)[1] for a in overrides if a.split("=", 1)[0].lstrip("+") == "exp"]
    # exp=a1 | sweep exp=a1,a2 | overlay exp=[d1,smoke]: every name is checked.
    experiments = [e for value in exp_values for e in re.findall(r"[^\[\],\s]+", value)] or [DEFAULT_EXPERIMENT]
    for name in experiments:
        merged = _merge_checked(schema(), load_experiment(name), where=f"experiment {name}")
        check_overrides(overrides, merged)


def _merge_checked(base: DictConfig, update: DictConfig, where: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, update)
    except (ConfigKeyError, ConfigAttributeError) as err:
        raise ConfigError(_unknown_key_message(err, base, where)) from None
    except ValidationError as err:
        raise ConfigError(f"{where}: bad value for {err.full_key!r}: {err.msg}") from None


def _unknown_key_message(err: ConfigKeyError | ConfigAttributeError, base: DictConfig, where: str) -> str:
    full_key = err.full_key or str(err.key)
    parent_path, _, key = full_key.rpartition(".")
    schema_type = getattr(err, "object_type", None)
    if dataclasses.is_dataclass(schema_type):
        # The section's schema knows its keys even when the section is new (a named source).
        valid = sorted(f.name for f in dataclasses.fields(schema_type))
    else:
        parent = OmegaConf.select(base, parent_path) if parent_path else base
        valid = sorted(map(str, parent.keys())) if isinstance(parent, DictConfig) else []
    section = f"under {parent_path!r}" if parent_path else "at the top level"
    return (
        f"{where}: unknown key {full_key!r}{_did_you_mean(str(key), valid)}. "
        f"Valid keys {section}: {', '.join(map(str, valid))}"
    )


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------------------------
# Hydra registration and composition


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(name="qwen_vad_schema", node=Config)
    for name in experiment_names():
        store.store(group="exp", name=name, node=load_experiment(name), package="_global_")
    store.store(
        name=PRIMARY_CONFIG,
        node={
            # Experiments come after _self_ so they override the defaults.
            "defaults": [
                "qwen_vad_schema",
                "_self_",
                {"exp": DEFAULT_EXPERIMENT},
                {"override hydra/job_logging": "stdout"},
            ],
            # Our own run folders (qwen_vad.runs) replace Hydra's outputs/ directories.
            "hydra": {
                "run": {"dir": "."},
                "sweep": {"dir": "${paths.results_dir}/multirun", "subdir": "${hydra.job.num}"},
                "output_subdir": None,
                "job": {"chdir": False},
            },
        },
    )


def compose_config(overrides: Sequence[str] = ()) -> tuple[Config, str]:
    """The same configuration a stage gets from ``exp=... key=value`` (for tests and notebooks)."""
    check_command_line(overrides)
    register_configs()
    if GlobalHydra.instance().is_initialized():
        # Inside a running stage (the pipeline composes each step's config): reuse its Hydra.
        composed = hydra.compose(PRIMARY_CONFIG, overrides=list(overrides), return_hydra_config=True)
    else:
        with hydra.initialize(version_base="1.3", config_path=None):
            composed = hydra.compose(PRIMARY_CONFIG, overrides=list(overrides), return_hydra_config=True)
    exp = experiment_name(composed.hydra)
    with open_dict(composed):
        del composed["hydra"]
    return OmegaConf.to_object(composed), exp


def command_line_overrides() -> list[str]:
    """The ``key=value`` overrides of the running command (none outside a Hydra app)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def experiment_name(hydra_cfg: DictConfig) -> str:
    """The name runs are filed under. With an overlay (``exp=[d1,smoke]``) it is the first
    experiment: the overlay changes how a row is run (smoke: tiny model, synthetic data, its
    own results folder), not which row it is."""
    chosen = hydra_cfg.runtime.choices.get("exp")
    if chosen:
        return str(chosen)
    for override in hydra_cfg.overrides.task:
        key, _, value = override.partition("=")
        if key.lstrip("+") == "exp":
            return re.findall(r"[^\[\],\s]+", value)[0]
    return DEFAULT_EXPERIMENT


# --------------------------------------------------------------------------------------------
# Stage entry points

StageFunction = Callable[[Config, Run], None]


def execute_stage(stage: str, fn: StageFunction, cfg: Config, exp: str) -> Run:
    """Run ``fn`` in a new run folder, marking the run done or failed.

    Under a multi-process launch (accelerate launch, torchrun) all ranks share one run folder
    (see qwen_vad.distributed); any rank can mark it failed, rank 0 marks it done.
    """
    run = share_from_main(lambda: create_run(cfg.paths.results_dir, stage, exp, config_yaml(cfg)))
    handler = attach_log(run, log_file_name())
    log.info("%s exp=%s -> %s", stage, exp, run.dir)
    try:
        fn(cfg, run)
    except BaseException as err:
        # A user error's message is the whole story; anything else keeps its exception type.
        message = str(err) if isinstance(err, UserError) else "".join(traceback.format_exception_only(err)).strip()
        finish_run(run, status="failed", error=message)
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    if is_main_process():
        finish_run(run)
    return run


def stage_main(stage: str) -> Callable[[StageFunction], Callable[[], None]]:
    """Decorator turning ``fn(cfg, run)`` into the ``main()`` of ``python -m qwen_vad.<stage>``."""

    def decorate(fn: StageFunction) -> Callable[[], None]:
        @functools.wraps(fn)
        def main() -> None:
            with reported_user_errors():
                check_command_line(sys.argv[1:])
                register_configs()

            @hydra.main(version_base="1.3", config_path=None, config_name=PRIMARY_CONFIG)
            def hydra_entry(composed: DictConfig) -> None:
                # Caught here, inside the task: Hydra's own handler would print a traceback.
                with reported_user_errors():
                    exp = experiment_name(HydraConfig.get())
                    execute_stage(stage, fn, OmegaConf.to_object(composed), exp)

            hydra_entry()

        return main

    return decorate


@contextlib.contextmanager
def reported_user_errors() -> Iterator[None]:
    """Turn a UserError into ``error: <message>`` on stderr and exit status 2. With
    HYDRA_FULL_ERROR=1 (Hydra's own switch for full tracebacks) it propagates unchanged."""
    try:
        yield
    except UserError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT) from None
