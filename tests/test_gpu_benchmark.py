"""benchmarks/gpu.py: its answer on a machine without CUDA, its CPU self-check at tiny geometry
(every code path of the GPU run: model build, scoring grid, seed-descendant style, LoRA training,
the JSON), and the 7B geometry's parameter count, built on the meta device."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from transformers import AutoProcessor

from benchmarks.gpu import NEEDS_GPU
from benchmarks.gpu_model import GEOMETRIES, build_random_model, parameter_counts
from benchmarks.gpu_run import PROFILES
from qwen_vad.config import REPO_ROOT


def run_benchmark(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
    )  # fmt: skip


@pytest.mark.parametrize("command", [("-m", "benchmarks", "gpu"), ("benchmarks/gpu.py",)])
def test_without_cuda_it_says_so_in_one_line_and_exits_0(command: tuple[str, ...]) -> None:
    done = run_benchmark(*command, CUDA_VISIBLE_DEVICES="")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [NEEDS_GPU]
    assert "GPU" in NEEDS_GPU


def test_tiny_self_check_runs_every_path_and_writes_the_json(tmp_path) -> None:
    # bf16, as on a GPU: the autocast and mixed-dtype paths run too.
    done = run_benchmark("benchmarks/gpu.py", "--geometry", "tiny", "--device", "cpu", "--dtype", "bf16", "--out-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "gpu_selfcheck.json").read_text())
    profile = PROFILES["tiny"]
    assert result["failed"] == [] and result["dtype"] == "bfloat16"
    assert result["parameters"]["total"] == parameter_counts(GEOMETRIES["tiny"]).total
    assert result["matmul_ceiling"]["tflops"] > 0

    cells = result["scoring"]
    grid = {(c["clip_seconds"], c["path"], c["batch_size"]) for c in cells}
    assert grid == {(s, p, b) for s in profile.clip_seconds for p in ("fast", "stock") for b in profile.batch_sizes}
    for cell in cells:
        assert cell["clips_per_s"] > 0 and 0 < cell["forward_share"] <= 1 and cell["p_speech_finite"]
        assert cell["text_tokens_per_clip"] > 0 and 0 < cell["fraction_of_ceiling"]
        # The stock path runs the encoder over all 1500 positions, the short-clip path over the clip's.
        assert (cell["executed_gflop_per_clip"] > cell["useful_gflop_per_clip"]) == (cell["path"] == "stock")

    seed = result["seed_style"]
    assert seed["new_tokens"] == profile.new_tokens and "min_new_tokens" in seed["forced"]
    assert [r["clip_seconds"] for r in seed["rates"]] == list(profile.clip_seconds)
    assert all(r["clips_per_s"] > 0 and sum(r["labels"].values()) == r["clips_timed"] for r in seed["rates"])
    ratios = result["end_to_end"]["ratios"]
    assert len(ratios) == len(profile.clip_seconds) * len(profile.batch_sizes) and all(r["ratio"] > 0 for r in ratios)

    pipeline = result["input_pipeline"]
    assert [case["batch_size"] for case in pipeline["cases"]] == list(profile.pipeline_batch_sizes)
    for case in pipeline["cases"]:  # the same inputs either way, built inline or by loader workers
        assert case["inline"]["num_workers"] == 0 and case["dataloader"]["num_workers"] == pipeline["workers"] > 0
        assert all(case[path]["clips_per_s"] > 0 and 0 <= case[path]["input_wait_share"] < 1 for path in ("inline", "dataloader"))
        assert case["max_abs_p_speech_difference"] <= 1e-5

    lora = result["training"]["lora"]
    for path in ("fast_encoder", "stock_30s"):
        assert lora[path]["samples_per_s"] > 0 and lora[path]["losses_finite"]
    assert lora["trainable_parameters"] > 0 and lora["speedup"] > 0 and lora["autocast_bf16"]
    qlora = result["training"]["qlora_4bit"]
    if "skipped" in qlora:  # bitsandbytes is an optional extra ([qlora])
        assert "bitsandbytes does not import" in qlora["skipped"]
    else:  # seven projections per language-model layer in NF4
        assert qlora["layers_quantized_nf4"] == 7 * GEOMETRIES["tiny"].text_layers
        assert qlora["fast_encoder"]["samples_per_s"] > 0 and qlora["fast_encoder"]["losses_finite"]

    assert result["targets"]["scoring_1s_clips_per_s"]["met"] is None  # a self-check judges nothing
    summary = done.stdout.splitlines()
    assert summary[-1] == result["note"] and any("seed-descendant" in line for line in summary)


def test_the_7b_geometry_has_qwen2_audio_7bs_8_4_billion_parameters(tiny_checkpoint) -> None:
    tokenizer = AutoProcessor.from_pretrained(tiny_checkpoint).tokenizer
    model = build_random_model(GEOMETRIES["7b"], tokenizer, "meta", torch.bfloat16)  # shapes only, no memory
    assert sum(p.numel() for p in model.parameters()) == 8_397_094_912
    text = model.config.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_key_value_heads, text.vocab_size) == (4096, 32, 32, 156032)
    assert model.lm_head.weight is not model.get_input_embeddings().weight  # untied
    assert model.config.audio_token_index == tokenizer.convert_tokens_to_ids("<|AUDIO|>")
