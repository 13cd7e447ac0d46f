"""The dataset builder end to end: designs, hygiene on real audio, splits, determinism, reuse."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.audio.io import SAMPLE_RATE, save_audio
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.config import HygieneConfig
from qwen_vad.data.__main__ import build
from qwen_vad.data.builder import build_dataset
from qwen_vad.data.design import one_axis_conditions
from qwen_vad.data.hygiene import HygieneChecker
from qwen_vad.data.manifest import manifest_columns, read_manifest
from qwen_vad.data.pool import MaterialShortage
from qwen_vad.data.sources.synthetic import SyntheticSource
from qwen_vad.data.splits import LeakageError, audit_leakage, quotas, split_of_group
from qwen_vad.data.store import DatasetExistsError

SMALL = ["data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]


def small_config(tmp_path: Path, *extra: str):
    cfg, exp = compose_config(
        ["exp=smoke", *SMALL, f"paths.data_dir={tmp_path}/data", f"paths.results_dir={tmp_path}/results", *extra]
    )
    return cfg, exp


@pytest.fixture(scope="module")
def small_build(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("build")
    cfg, _ = small_config(tmp)
    result = build_dataset(cfg.data, cfg.data.seed, tmp / "a")
    return cfg, result, tmp / "a"


def test_factorial_cells_labels_and_balance(small_build) -> None:
    cfg, result, folder = small_build
    manifest = result.manifest
    assert list(manifest.columns) == list(manifest_columns())
    assert len(manifest) == 2 * 2 * 2 * 5
    per_cell = manifest.groupby(["label", "duration_ms", "snr_db", "split"]).size().unstack("split")
    assert (per_cell["train"] == 3).all() and (per_cell["dev"] == 1).all() and (per_cell["test"] == 1).all()
    nonspeech = manifest[manifest["label"] == NONSPEECH]["category"].value_counts()
    assert set(nonspeech.index) == {"music", "animals", "noise", "environment"}
    assert nonspeech.max() - nonspeech.min() <= 1
    assert set(manifest.loc[manifest["label"] == SPEECH, "category"]) == {"speech"}


def test_clips_are_16k_files_of_the_cell_duration_at_the_peak_level(small_build) -> None:
    cfg, result, folder = small_build
    for row in result.manifest.itertuples():
        audio, sr = sf.read(folder / row.path, dtype="float32")
        assert sr == SAMPLE_RATE and audio.ndim == 1
        assert audio.size == row.duration_ms * 16
        assert abs(20 * np.log10(np.max(np.abs(audio))) - cfg.data.peak_dbfs) < 1e-3


def test_hygiene_measures_are_recorded_and_respected(small_build) -> None:
    cfg, result, _ = small_build
    m = result.manifest
    speech, nonspeech = m[m["label"] == SPEECH], m[m["label"] == NONSPEECH]
    assert (speech["webrtc_activity"] >= 0.7).all() and (speech["silero_activity"] >= 0.7).all()
    assert (nonspeech["silero_activity"] <= 0.05).all()
    assert m["webrtc_activity"].between(0, 1).all()


def test_splits_are_by_group_and_the_audit_passes(small_build) -> None:
    _, result, _ = small_build
    audit = audit_leakage(result.manifest)
    assert audit["group"] > 10
    leaked = result.manifest.copy()
    leaked.loc[leaked.index[0], "split"] = "test" if leaked.loc[leaked.index[0], "split"] != "test" else "dev"
    other = leaked.index[leaked["split"] != leaked.loc[leaked.index[0], "split"]][0]
    leaked.loc[other, "group"] = leaked.loc[leaked.index[0], "group"]
    with pytest.raises(LeakageError, match="group"):
        audit_leakage(leaked)


def test_same_config_and_seed_give_identical_bytes(small_build, tmp_path: Path) -> None:
    cfg, first, folder = small_build
    build_dataset(cfg.data, cfg.data.seed, tmp_path / "b")

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(folder / "manifest.parquet") == digest(tmp_path / "b" / "manifest.parquet")
    assert digest(folder / "manifest.csv") == digest(tmp_path / "b" / "manifest.csv")
    for path in first.manifest["path"]:
        assert digest(folder / path) == digest(tmp_path / "b" / path)


def test_another_seed_gives_another_dataset(small_build, tmp_path: Path) -> None:
    cfg, first, _ = small_build
    other = build_dataset(cfg.data, cfg.data.seed + 1, tmp_path / "c")
    assert set(other.manifest["clip_id"]) != set(first.manifest["clip_id"])


def test_one_axis_design_gives_the_22_conditions_per_base_clip(tmp_path: Path) -> None:
    """8 durations + 6 SNRs + 4 reverbs + 4 filters = 22 conditions per axis; the neutral one
    (1000 ms, clean, dry, unfiltered) belongs to three axes and is rendered once: 20 clips."""
    cfg, _ = small_config(tmp_path, "data.design=one_axis", "data.base_clips_per_class=5", "data.container_ms=2000")
    assert len(one_axis_conditions(cfg.data)) == 20
    result = build_dataset(cfg.data, cfg.data.seed, tmp_path / "axis")
    m = result.manifest
    assert len(m) == 2 * 5 * 20
    assert (m.groupby("base_clip_id").size() == 20).all()
    varied = (m["duration_ms"] != 1000).astype(int) + np.isfinite(m["snr_db"]) + (m["reverb_rt60_s"] > 0) + (m["filter"] != "none")
    assert varied.max() == 1  # one axis at a time
    assert sorted(m["duration_ms"].unique()) == [20, 40, 60, 80, 100, 200, 500, 1000]
    assert set(m["filter"]) == {"none", "bandpass", "lowpass", "highpass"}
    assert sorted(m["reverb_rt60_s"].unique()) == [0.0, 0.3, 1.0, 2.5]
    # Every clip sits in a 2 s container, whatever its own duration.
    for path in m["path"].iloc[::37]:
        assert sf.info(str(tmp_path / "axis" / path)).frames == 32000
    assert m.groupby("base_clip_id")["split"].nunique().max() == 1


def test_hygiene_decisions_on_real_speech_and_noise() -> None:
    checker = HygieneChecker(HygieneConfig(), peak_dbfs=-1.0)
    speech = next(SyntheticSource(seed=5).iter_segments("speech")).audio[:16000]
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    speech_activity, noise_activity = checker.measure([speech, noise])
    assert speech_activity.webrtc >= 0.7 and speech_activity.silero >= 0.7
    assert noise_activity.silero <= 0.05
    assert checker.rejection(SPEECH, speech_activity) is None
    assert checker.rejection(NONSPEECH, noise_activity) is None
    # Speech labelled NONSPEECH and noise labelled SPEECH are rejected, with the reason.
    assert checker.rejection(NONSPEECH, speech_activity) == "nonspeech_high_silero"
    assert checker.rejection(SPEECH, noise_activity).startswith("speech_low_")
    # The research plan's rule, WebRTC on NONSPEECH, rejects broadband noise at this level.
    strict = HygieneChecker(HygieneConfig(nonspeech_vads=["webrtc", "silero"]), peak_dbfs=-1.0)
    assert strict.rejection(NONSPEECH, noise_activity) == "nonspeech_high_webrtc"


def test_split_assignment_and_quotas() -> None:
    ratios = {"train": 0.6, "dev": 0.2, "test": 0.2}
    splits = pd.Series([split_of_group(f"speaker{i}", 0, ratios) for i in range(3000)]).value_counts(normalize=True)
    assert abs(splits["train"] - 0.6) < 0.03 and abs(splits["test"] - 0.2) < 0.03
    assert split_of_group("speaker7", 0, ratios) == split_of_group("speaker7", 0, ratios)
    assert quotas(30, ratios) == {"train": 18, "dev": 6, "test": 6}
    assert sum(quotas(7, ratios).values()) == 7


def test_a_cell_short_of_material_fails_naming_it(tmp_path: Path) -> None:
    cfg, _ = small_config(tmp_path, "data.per_cell=2", "data.min_per_cell_split=2")
    with pytest.raises(MaterialShortage, match="fewer than 2 clips.*duration_ms"):
        build_dataset(cfg.data, cfg.data.seed, tmp_path / "short")


def write_corpus_folder(root: Path) -> None:
    """A folder corpus of real files: espeak speech by speaker, procedural music and animals,
    plus one corrupt file that must be skipped and reported."""
    synth = SyntheticSource(seed=11)
    speech = synth.iter_segments("speech")
    for k in range(24):
        segment = next(speech)
        speaker = segment.group.split(":")[-1]
        save_audio(root / "speech" / speaker / f"utt{k}.wav", segment.audio)
    for category in ("music", "animals"):
        (root / category).mkdir(parents=True)
        stream = synth.iter_segments(category)
        for k in range(14):
            sf.write(root / category / f"{category}{k}.flac", next(stream).audio, SAMPLE_RATE)
    (root / "music" / "broken.wav").write_bytes(b"RIFF not really audio")


def test_build_from_a_real_folder_corpus_reports_skipped_files(tmp_path: Path) -> None:
    write_corpus_folder(tmp_path / "corpus")
    cfg, _ = small_config(
        tmp_path,
        "data.per_cell=2",
        "data.durations_ms=[500]",
        "data.min_per_cell_split=0",
        f"+data.sources={{corpus:{{kind:folder,root:'{tmp_path}/corpus',group_depth:2}}}}",
    )
    result = build_dataset(cfg.data, cfg.data.seed, tmp_path / "real")
    m = result.manifest
    assert set(m["category"]) == {"speech", "music", "animals"} and set(m["source"]) == {"corpus"}
    assert m.loc[m["label"] == SPEECH, "origin"].str.startswith("speech/").all()
    assert ("corpus", "music/broken.wav", "unreadable audio") in {(s, f.file, f.reason) for s, f in result.skipped_files}
    audit_leakage(m)


def test_stage_reuses_a_built_dataset_and_refuses_a_different_config(tmp_path: Path) -> None:
    cfg, exp = small_config(tmp_path, "data.per_cell=2", "data.durations_ms=[200]", "data.min_per_cell_split=0")
    first = execute_stage("data", build, cfg, exp)
    manifest = read_manifest(tmp_path / "data" / "factorial")
    report = json.loads(first.path("report.json").read_text())
    assert report["clips"] == len(manifest) == 2 * 2 * 2 and report["leakage_audit"]["passed"]
    built_at = (tmp_path / "data" / "factorial" / "build.json").stat().st_mtime_ns

    again = execute_stage("data", build, cfg, exp)
    assert again.dir != first.dir
    assert (tmp_path / "data" / "factorial" / "build.json").stat().st_mtime_ns == built_at

    changed, _ = small_config(tmp_path, "data.per_cell=3", "data.durations_ms=[200]", "data.min_per_cell_split=0")
    with pytest.raises(DatasetExistsError, match="data.per_cell"):
        execute_stage("data", build, changed, exp)

    forced, _ = small_config(tmp_path, "data.per_cell=3", "data.durations_ms=[200]", "data.min_per_cell_split=0", "force=true")
    execute_stage("data", build, forced, exp)
    assert len(read_manifest(tmp_path / "data" / "factorial")) == 12
    kept = list((tmp_path / "data").glob("factorial.replaced-*"))
    assert len(kept) == 1 and len(read_manifest(kept[0])) == 8


def test_hf_export_round_trips(tmp_path: Path) -> None:
    from datasets import load_from_disk

    cfg, exp = small_config(tmp_path, "data.per_cell=2", "data.durations_ms=[200]", "data.min_per_cell_split=0", "data.export_hf=true")
    execute_stage("data", build, cfg, exp)
    exported = load_from_disk(str(tmp_path / "data" / "factorial" / "hf"))
    manifest = read_manifest(tmp_path / "data" / "factorial")
    assert {s: len(exported[s]) for s in exported} == manifest["split"].value_counts().to_dict()
    row = exported["train"][0]
    audio, sr = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
    on_disk, _ = sf.read(tmp_path / "data" / "factorial" / row["path"], dtype="float32")
    assert sr == SAMPLE_RATE and np.array_equal(audio, on_disk)
