"""Seeds and sweeps: runs group by configuration minus the seed. A LoRA-rank sweep stays
separate systems (rows), seeds of one configuration aggregate, and named comparisons pair runs
by seed (a single-run system pairs with every seed of the other)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.data.__main__ import build
from qwen_vad.finetune import finetune
from qwen_vad.analyze import analyze
from qwen_vad.report.__main__ import report

SIZES = ["data.per_cell=4", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
SMALL_TRAINING_SET = ["train_data.per_cell=2", "train_data.snrs_db=[0.0,20.0]"]  # b1, b2
BUDGET = ["finetune.max_steps=2", "finetune.eval_steps=2", "finetune.warmup_steps=1", "finetune.batch_size=4"]
ANALYSIS = ["analyze.n_bootstrap=50", "analyze.psychometric_bootstrap=20", "analyze.experiments=[b1,b2,b3]", "analyze.comparisons=[b2:b1,b3:b2]"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path, single_torch_thread) -> Path:
    root = tmp_path_factory.mktemp("sweeps")
    common = [*SIZES, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results", f"model.name_or_path={tiny_checkpoint}", *BUDGET]

    def stage(name, fn, exp, *extra):
        training = SMALL_TRAINING_SET if exp in ("b1", "b2") else []
        cfg, chosen = compose_config([f"exp=[{exp},smoke]", *common, *training, *extra])
        return execute_stage(name, fn, cfg, chosen)

    stage("data", build, "b1")
    for seed in (1, 2):
        stage("finetune", finetune, "b1", f"seed={seed}")
        stage("finetune", finetune, "b2", f"seed={seed}")
    for rank in (4, 8):
        stage("finetune", finetune, "b3", f"finetune.lora.r={rank}")
    stage("analyze", analyze, "paper", *ANALYSIS)
    stage("report", report, "paper")
    return root


def latest(root: Path, stage: str, exp: str) -> Path:
    return sorted((root / "results" / stage / exp).iterdir())[-1]


def test_a_rank_sweep_stays_separate_systems_and_seeds_aggregate(swept: Path) -> None:
    metrics = json.loads((latest(swept, "analyze", "paper") / "metrics.json").read_text())
    groups = metrics["groups"]
    ranks = sorted(name for name in groups if name.startswith("b3"))
    assert ranks == ["b3[finetune.lora.r=4]", "b3[finetune.lora.r=8]"]
    assert groups["b2"]["differs"] == {} and sorted(groups["b2"]["seeds"]) == ["1", "2"]
    assert set(groups["b2"]["seeds"].values()) == {"b2[seed=1]", "b2[seed=2]"}
    matrix = pd.read_csv(latest(swept, "report", "paper") / "tables" / "comparison_matrix.csv", dtype=str).set_index("row")
    assert {"B3 [finetune.lora.r=4]", "B3 [finetune.lora.r=8]", "B2", "B1"} <= set(matrix.index)
    assert matrix.loc["B2", "seeds"] == "2" and "±" in matrix.loc["B2", "balanced accuracy"] and "(n=2)" in matrix.loc["B2", "balanced accuracy"]
    values = [metrics["systems"][f"b2[seed={s}]"]["headline"]["balanced_accuracy"] for s in (1, 2)]
    assert matrix.loc["B2", "balanced accuracy"].startswith(f"{sum(values) / 2:.3f} ± ")


def test_named_comparisons_pair_runs_by_seed(swept: Path) -> None:
    comparisons = json.loads((latest(swept, "analyze", "paper") / "comparisons.json").read_text())
    by_spec = {}
    for c in comparisons["comparisons"]:
        by_spec.setdefault(c["spec"], []).append(c)
    (b2_b1,) = by_spec["b2:b1"]
    assert [(s["seed"], s["a"], s["b"]) for s in b2_b1["seeds"]] == [(1, "b2[seed=1]", "b1[seed=1]"), (2, "b2[seed=2]", "b1[seed=2]")]
    assert b2_b1["difference_a_minus_b"]["n_seeds"] == 2 and b2_b1["difference_a_minus_b"]["sd"] is not None
    differences = [-s["balanced_accuracy_difference"]["difference_b_minus_a"] for s in b2_b1["seeds"]]
    assert b2_b1["difference_a_minus_b"]["mean"] == pytest.approx(sum(differences) / 2)
    # Each rank of b3 (one run each) pairs with both seeds of b2.
    assert len(by_spec["b3:b2"]) == 2 and all(len(c["seeds"]) == 2 for c in by_spec["b3:b2"])
    holm = [s["mcnemar"]["p_value_holm"] for c in comparisons["comparisons"] for s in c["seeds"]]
    raw = [s["mcnemar"]["p_value"] for c in comparisons["comparisons"] for s in c["seeds"]]
    assert len(holm) == 6 and all(h >= r for h, r in zip(holm, raw))
    paired = pd.read_csv(latest(swept, "report", "paper") / "tables" / "paired_comparisons.csv", dtype=str)
    assert "b2 vs b1" in set(paired["comparison"]) and any(c.strip().startswith("seed 2: b2[seed=2] vs b1[seed=2]") for c in paired["comparison"])
