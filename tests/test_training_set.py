"""A separate training set (``train_data``, rows B1/B2): built from groups held out of the
evaluation set's dev and test splits, audited across datasets, and trained on while every
score comes from the evaluation set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import TRAINING_SET_FOLDER, build
from qwen_vad.data.datasets import open_evaluation_set, open_training_set, training_data_config, training_record
from qwen_vad.data.manifest import MANIFEST_PARQUET, read_manifest
from qwen_vad.data.splits import LeakageError
from qwen_vad.data.store import DatasetExistsError, DatasetNotBuiltError, is_built
from qwen_vad.finetune import finetune

EVAL = ["data.per_cell=4", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
TRAIN = ["train_data.per_cell=3", "train_data.durations_ms=[200,1000]", "train_data.snrs_db=[0.0,20.0]"]
BUDGET = ["finetune.max_steps=2", "finetune.eval_steps=2", "finetune.warmup_steps=1", "finetune.batch_size=4"]


def config(root: Path, exp: str, *extra: str):
    return compose_config([f"exp=[{exp},smoke]", *EVAL, *TRAIN, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results", *extra])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("training_set")
    cfg, exp = config(root, "b1")
    execute_stage("data", build, cfg, exp)
    return root


def test_the_data_stage_builds_both_sets_and_the_training_set_avoids_held_out_groups(built: Path) -> None:
    evaluation, training = read_manifest(built / "data" / "factorial"), read_manifest(built / "data" / "small")
    assert set(training["split"]) == {"train"} and len(training) == 2 * 2 * 2 * 3
    held_out = evaluation[evaluation["split"].isin(["dev", "test"])]
    for column in ("group", "base_clip_id", "origin"):
        assert not set(training[column]) & set(held_out[column]), column
    record = json.loads((built / "data" / "small" / "build.json").read_text())
    assert record["inputs"]["held_out_from"]["name"] == "factorial"
    assert record["inputs"]["held_out_from"]["fingerprint"] == json.loads((built / "data" / "factorial" / "build.json").read_text())["fingerprint"]
    run_folder = sorted((built / "results" / "data" / "b1").iterdir())[-1]
    assert (run_folder / "report.json").is_file() and (run_folder / TRAINING_SET_FOLDER / "report.json").is_file()


def test_opening_a_training_set_that_shares_a_group_with_test_fails(built: Path, tmp_path: Path) -> None:
    cfg, _ = config(built, "b1")
    assert training_data_config(cfg).name == "small"
    open_training_set(cfg)  # audited: passes
    # Plant one test clip's group into the training set: the cross-dataset audit must catch it.
    import shutil

    shutil.copytree(built / "data", tmp_path / "data")
    cfg, _ = config(built, "b1", f"paths.data_dir={tmp_path}/data")
    training = read_manifest(tmp_path / "data" / "small")
    test_group = open_evaluation_set(cfg).split("test")["group"].iloc[0]
    training.loc[0, "group"] = test_group
    training.to_parquet(tmp_path / "data" / "small" / MANIFEST_PARQUET, index=False)
    with pytest.raises(LeakageError, match="group"):
        open_training_set(cfg)


def test_a_training_set_built_against_another_evaluation_set_is_stale(built: Path) -> None:
    """Rebuilding the evaluation set differently changes which groups are held out: the training
    set built against the old one is refused, naming why."""
    changed, _ = config(built, "b1", "data.per_cell=5")
    with pytest.raises(DatasetExistsError, match="held_out_from"):
        is_built(built / "data" / "small", training_record(changed))
    missing, _ = config(built, "b1", "train_data.name=other")
    with pytest.raises(DatasetNotBuiltError, match="the training set, train_data"):
        open_training_set(missing)


@pytest.mark.slow
def test_finetune_trains_on_the_small_set_and_scores_the_evaluation_set(built: Path, tiny_checkpoint: Path, single_torch_thread) -> None:
    cfg, exp = config(built, "b2", f"model.name_or_path={tiny_checkpoint}", *BUDGET)
    run = execute_stage("finetune", finetune, cfg, exp)
    metrics = json.loads(run.path("metrics.json").read_text())
    evaluation = read_manifest(built / "data" / "factorial")
    assert metrics["training"]["train_clips"] == len(read_manifest(built / "data" / "small"))
    assert metrics["training"]["train_dataset"]["name"] == "small"
    assert metrics["dataset"]["name"] == "factorial"
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    for split in ("dev", "test"):
        scored = set(predictions.loc[predictions["split"] == split, "clip_id"])
        assert scored == set(evaluation.loc[evaluation["split"] == split, "clip_id"]), split
    assert metrics["threshold"]["n_dev"] == (evaluation["split"] == "dev").sum()
