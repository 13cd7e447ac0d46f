"""The batch loop's input pipeline on the tiny checkpoint and a real built dataset: batches grouped
by clip length, audio read and inputs built by DataLoader workers, rows back in manifest order,
unreadable clips skipped and reported as inline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qwen_vad.baselines.energy import energy_scorer
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.data.__main__ import build
from qwen_vad.data.manifest import read_manifest
from qwen_vad.decoding import LLMScorer
from qwen_vad.errors import ConfigError
from qwen_vad.models.loader import load_model
from qwen_vad.prompts import load_prompt
from qwen_vad.scoring.batches import score_clips
from qwen_vad.scoring.loading import input_workers
from qwen_vad.scoring.sharding import clip_lengths, length_grouped_batches

# Clips of four lengths (the container-free factorial design: a file is as long as its duration).
DATA = ["data.name=pipeline", "data.per_cell=5", "data.durations_ms=[100,200,500,1000]", "data.snrs_db=[0.0]", "data.min_per_cell_split=1"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The built dataset's folder (one dev clip made unreadable) and its dev + test clips."""
    root = tmp_path_factory.mktemp("pipeline")
    cfg, exp = compose_config(["exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"])
    execute_stage("data", build, cfg, exp)
    folder = root / "data" / "pipeline"
    clips = read_manifest(folder).query("split != 'train'").reset_index(drop=True)
    (folder / clips.loc[3, "path"]).write_bytes(b"RIFF....garbage")
    return folder, clips


@pytest.fixture(scope="module")
def scorer(tiny_checkpoint: Path) -> LLMScorer:
    model, processor = load_model(ModelConfig(name_or_path=str(tiny_checkpoint), dtype="fp32", device="cpu"))
    return LLMScorer(model, processor, load_prompt("baseline"), DecodingConfig(batch_size=3, swap_options=True), system="tiny")


def test_batches_are_grouped_by_clip_length(dataset) -> None:
    folder, clips = dataset
    lengths = clip_lengths(clips["path"].tolist(), folder)
    assert sorted(set(lengths)) == [0, 1600, 3200, 8000, 16000], "the header gives each file's length; the broken one counts as 0"
    batches = length_grouped_batches(lengths, 3)
    order = np.concatenate(batches)
    assert sorted(order) == list(range(len(clips))) and all(len(b) == 3 for b in batches[:-1])
    assert np.all(np.diff(lengths[order]) <= 0), "longest clips first, each batch of similar lengths"
    for length in set(lengths):  # equal lengths keep their manifest order
        same = order[lengths[order] == length]
        assert list(same) == sorted(same)


def test_dataloader_workers_give_the_inline_predictions(dataset, scorer: LLMScorer) -> None:
    folder, clips = dataset
    inline = score_clips(scorer, clips, folder, warmup_batches=0, num_workers=0)
    workers = score_clips(scorer, clips, folder, warmup_batches=0, num_workers=2)

    broken = clips.loc[3]
    for scored in (inline, workers):
        assert [s["clip_id"] for s in scored.skipped] == [broken["clip_id"]] and "unreadable audio" in scored.skipped[0]["error"]
        assert set(scored.skipped[0]) == {"clip_id", "path", "error"}
        # Manifest order, whatever order the length-grouped batches were scored in.
        assert scored.rows["clip_id"].tolist() == clips.drop(index=3)["clip_id"].tolist()
    assert inline.timing[0]["input_workers"] == 0 and workers.timing[0]["input_workers"] == 2
    assert workers.timing[0]["batches"] == inline.timing[0]["batches"] == -(-(len(clips) - 1) // 3)
    np.testing.assert_allclose(workers.rows["p_speech"], inline.rows["p_speech"], rtol=0, atol=1e-5)
    same = ["clip_id", "split", "label", "duration_ms", "audio_tokens", "expected_audio_tokens", "rank"]
    pd.testing.assert_frame_equal(workers.rows[same], inline.rows[same])
    assert (workers.rows["feature_extraction_ms"] > 0).all() and (workers.rows["audio_loading_ms"] > 0).all()

    # Grouping by length moves no score: each clip alone gets the same p_speech.
    alone = [scorer.score([np.asarray(a)]).p_speech[0] for a in audio_of(folder, inline.rows)]
    np.testing.assert_allclose(inline.rows["p_speech"], alone, rtol=0, atol=1e-5)


def test_worker_count_default_and_bad_values(scorer: LLMScorer) -> None:
    assert input_workers(None, scorer) == 0, "a model on the CPU reads inline by default"
    assert input_workers(3, scorer) == 3
    with pytest.raises(ConfigError, match="evaluate.num_workers must be >= 0"):
        input_workers(-1, scorer)


def test_a_scorer_that_cannot_prepare_its_inputs_is_scored_inline(dataset) -> None:
    folder, clips = dataset
    vad = energy_scorer(compose_config(["exp=smoke"])[0])  # scores waveforms in one step, as a remote server does
    scored = score_clips(vad, clips, folder, warmup_batches=0, num_workers=2)
    assert scored.timing[0]["input_workers"] == 0
    assert scored.rows["clip_id"].tolist() == clips.drop(index=3)["clip_id"].tolist()
    assert [s["clip_id"] for s in scored.skipped] == [clips.loc[3, "clip_id"]]
    expected = [vad.score([a]).p_speech[0] for a in audio_of(folder, scored.rows)]
    np.testing.assert_allclose(scored.rows["p_speech"], expected, rtol=0, atol=1e-12)


def audio_of(folder: Path, rows: pd.DataFrame) -> list[np.ndarray]:
    from qwen_vad.audio.io import load_audio

    return [load_audio(folder / path) for path in rows["path"]]
