"""Datasets built from real folder corpora (files written by fixtures_corpora, hygiene by the
real VADs): exactly the named sources, every split reached by a small corpus, train-only sets
that leave out another set's held-out groups, every libsndfile format, skipped files counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_corpora import make_speaker_corpus, quiet_noise, tone, write, write_corrupt

from qwen_vad import SPEECH
from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.config import SourceConfig, SplitConfig
from qwen_vad.data.__main__ import build
from qwen_vad.data.builder import build_dataset
from qwen_vad.data.manifest import read_manifest
from qwen_vad.data.splits import (
    SPLITS,
    LeakageError,
    assign_groups,
    audit_cross_leakage,
    audit_leakage,
    held_out_groups,
    split_of_group,
    split_ratios,
)
from qwen_vad.data.store import DatasetExistsError, build_record, finish_build, is_built, start_build
from qwen_vad.errors import ConfigError, MaterialShortage

# Nine speakers whose hashed split (seed 42, 60/20/20) would put none of them in dev: the
# corpus that used to fail with "category 'speech' has no more material for the dev split".
SPEAKERS = [f"speaker{i:02d}" for i in range(9)]
SMALL = [
    "data.per_cell=10",
    "data.durations_ms=[500]",
    "data.snrs_db=[10.0]",
    "data.min_per_cell_split=1",
]


def folder_sources(roots: dict[str, Path], depth: int = 2) -> str:
    """The command-line override naming folder sources (a new entry of data.sources is added
    whole: Hydra cannot add a typed entry one key at a time)."""
    entries = ",".join(f"{name}:{{kind:folder,root:'{root}',group_depth:{depth}}}" for name, root in roots.items())
    return f"+data.sources={{{entries}}}"


def corpus_config(tmp: Path, *extra: str):
    return compose_config(["exp=smoke", *SMALL, f"paths.data_dir={tmp}/data", f"paths.results_dir={tmp}/results", *extra])


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("corpora")
    lab = make_speaker_corpus(tmp / "lab", SPEAKERS, nonspeech={"music": (".oga", 5)})
    # Files the build cannot use, each for its own reason, all to be counted.
    (lab / "speech" / "speaker00" / "transcript.txt").write_text("hello\n")
    (lab / "README").write_text("lab recordings\n")  # outside the category folders
    write_corrupt(lab / "music" / "broken.wav")
    write(lab / "music" / "blip.wav", tone(0.3))  # shorter than min_file_ms
    (lab / "music" / "ringtone.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    sounds = make_speaker_corpus(tmp / "sounds", [], nonspeech={"animals": (".flac", 5)})
    return {"lab": lab, "sounds": sounds, "tmp": tmp}


@pytest.fixture(scope="module")
def two_folder_build(corpora: dict[str, Path]):
    cfg, exp = corpus_config(corpora["tmp"], folder_sources({"lab": corpora["lab"], "sounds": corpora["sounds"]}))
    run = execute_stage("data", build, cfg, exp)
    folder = Path(run.path("dataset.txt").read_text().strip())
    return cfg, read_manifest(folder), json.loads((folder / "report.json").read_text()), folder


def test_named_sources_are_the_only_sources(two_folder_build) -> None:
    cfg, manifest, report, folder = two_folder_build
    assert set(manifest["source"]) == {"lab", "sounds"}
    assert set(manifest["category"]) == {"speech", "music", "animals"}
    recorded = json.loads((folder / "build.json").read_text())["data"]["sources"]
    assert set(recorded) == {"lab", "sounds"} and {s["kind"] for s in recorded.values()} == {"folder"}
    assert set(report["sources"]) == {"lab", "sounds", "background"}
    assert report["sources"]["lab"]["categories"] == {"music": "NONSPEECH", "speech": "SPEECH"}
    assert report["sources"]["background"]["kind"] == "synthetic"
    assert "| lab | folder |" in (folder / "report.md").read_text()


def test_no_sources_means_the_synthetic_source_and_is_recorded_so() -> None:
    cfg, _ = compose_config(["exp=smoke"])
    assert cfg.data.sources == {}
    assert build_record(cfg.data)["data"]["sources"] == {"synthetic": build_record(cfg.data)["data"]["background"]}


def test_a_named_background_is_exactly_what_it_names(corpora: dict[str, Path]) -> None:
    """A single SourceConfig merged over the default background keeps no stale field."""
    cfg, _ = corpus_config(corpora["tmp"], "data.background.kind=folder", f"data.background.root={corpora['sounds']}")
    assert cfg.data.background == SourceConfig(kind="folder", root=str(corpora["sounds"]))
    speechy, _ = corpus_config(corpora["tmp"], "data.background.kind=folder", f"data.background.root={corpora['lab']}")
    with pytest.raises(ConfigError, match=r"data.background .* offers SPEECH categories \['speech'\].*categories"):
        build_dataset(speechy.data, speechy.data.seed, corpora["tmp"] / "never")


def test_nine_speakers_reach_every_split_without_leakage(two_folder_build) -> None:
    _, manifest, report, _ = two_folder_build
    ratios = {"train": 0.6, "dev": 0.2, "test": 0.2}
    assert "dev" not in {split_of_group(f"lab:speech/{s}", 42, ratios) for s in SPEAKERS}  # what the hash alone did
    speech = manifest[manifest["label"] == SPEECH]
    speakers_per_split = speech.groupby("split")["group"].nunique()
    assert set(speakers_per_split.index) == set(SPLITS)
    assert speech.groupby("group")["split"].nunique().max() == 1
    audit_leakage(manifest)
    listed = {row["split"]: row["groups_listed"] for row in report["split_groups"] if row["category"] == "speech"}
    assert listed == {"train": 5, "dev": 2, "test": 2}  # 9 equal speakers shared out by 60/20/20


def test_an_oga_file_is_read_into_the_manifest(two_folder_build) -> None:
    _, manifest, _, _ = two_folder_build
    music = manifest[manifest["category"] == "music"]
    assert len(music) and music["origin"].str.contains(r"\.oga@").all()


def test_skipped_files_are_counted_per_reason_and_source(two_folder_build) -> None:
    _, _, report, folder = two_folder_build
    summary = {(row["reason"], row["source"]): row["files"] for row in report["skipped_summary"]}
    assert summary[("not a libsndfile format (.txt)", "lab")] == 1
    assert summary[("not a libsndfile format (.m4a)", "lab")] == 1
    assert summary[("outside the category folders", "lab")] == 1
    files = {row["file"]: row for row in report["skipped_files"]}
    assert set(files) >= {"speech/speaker00/transcript.txt", "README", "music/ringtone.m4a"}
    # Known from the file headers, whether or not the build came to draw them.
    assert files["music/broken.wav"]["reason"] == "unreadable audio"
    assert files["music/blip.wav"]["reason"] == "shorter than 1000 ms" and files["music/blip.wav"]["detail"] == "300 ms"
    markdown = (folder / "report.md").read_text()
    assert "## Files skipped" in markdown and "| not a libsndfile format (.m4a) | lab | 1 |" in markdown


def test_every_libsndfile_format_is_read(tmp_path: Path) -> None:
    from qwen_vad.data.sources.folder import FolderSource

    for extension in (".oga", ".opus", ".mp3", ".caf", ".aiff", ".w64"):
        rate = 48_000 if extension == ".opus" else 16_000  # Opus at its native rate: resampled on load
        write(tmp_path / "noise" / f"hum{extension}", quiet_noise(2.5, rate=rate, amplitude=0.2), rate=rate)
    source = FolderSource(tmp_path, seed=0)
    read = {s.origin.split("@")[0] for s in source.iter_segments("noise")}
    assert read == {f"noise/hum{e}" for e in (".oga", ".opus", ".mp3", ".caf", ".aiff", ".w64")}
    assert source.skipped == []


def test_too_few_groups_names_the_category_its_groups_and_what_to_change(tmp_path: Path) -> None:
    corpus = make_speaker_corpus(tmp_path / "tiny", ["anna", "ben"], files_per_speaker=1, nonspeech={"music": (".wav", 3)})
    cfg, _ = corpus_config(tmp_path, folder_sources({"lab": corpus}))
    with pytest.raises(MaterialShortage) as err:
        build_dataset(cfg.data, cfg.data.seed, tmp_path / "never")
    message = str(err.value)
    assert "category 'speech' has 2 leakage group(s)" in message
    assert "lab:speech/anna -> " in message and "lab:speech/ben -> " in message
    assert "data.splits" in message and "categories" in message
    assert "music" not in message  # three files: three groups, one per split


def test_train_only_set_leaves_out_held_out_groups_of_the_evaluation_set(corpora, two_folder_build) -> None:
    _, evaluation, _, _ = two_folder_build
    held_out = held_out_groups(evaluation)
    assert held_out and all(g.startswith(("lab:", "sounds:")) for g in held_out)
    cfg, _ = corpus_config(
        corpora["tmp"],
        folder_sources({"lab": corpora["lab"], "sounds": corpora["sounds"]}),
        "data.splits.train=1",
        "data.splits.dev=0",
        "data.splits.test=0",
        "data.per_cell=6",
    )
    result = build_dataset(cfg.data, cfg.data.seed, corpora["tmp"] / "train_only", excluded_groups=held_out)
    train = result.manifest
    assert set(train["split"]) == {"train"} and len(train) == 2 * 6
    assert not set(train["group"]) & held_out
    counts = audit_cross_leakage(train, evaluation)
    assert counts["held_out_group"] == len(held_out) and counts["train_group"] == train["group"].nunique()
    assert result.excluded["groups_given"] == len(held_out) and result.excluded["groups_met"] > 0
    assert sum(row["segments"] for row in result.excluded["segments_left_out"]) > 0
    # The evaluation set's own train split may be reused; its dev and test splits may not.
    with pytest.raises(LeakageError, match=r"shares material with the evaluation set's dev/test.*group value"):
        audit_cross_leakage(evaluation, evaluation)
    assert audit_cross_leakage(evaluation[evaluation["split"] == "train"], evaluation)["train_group"] > 0


def test_cross_leakage_names_shared_files_and_base_clips(two_folder_build) -> None:
    _, evaluation, _, _ = two_folder_build
    train = evaluation[evaluation["split"] == "train"].copy()
    dev_row = evaluation[evaluation["split"] == "dev"].iloc[0]
    # Same original file as a dev clip under another group name: still caught, by file and clip.
    train.loc[train.index[0], ["source", "origin", "base_clip_id"]] = [dev_row.source, dev_row.origin, dev_row.base_clip_id]
    with pytest.raises(LeakageError) as err:
        audit_cross_leakage(train, evaluation)
    message = str(err.value)
    assert "1 origin_file value(s)" in message and "1 base_clip_id value(s)" in message and "group value" not in message


def test_a_split_short_of_material_names_its_groups_and_its_need(tmp_path: Path) -> None:
    corpus = make_speaker_corpus(tmp_path / "c", ["a", "b", "c"], files_per_speaker=1, nonspeech={"music": (".wav", 3)})
    cfg, _ = corpus_config(tmp_path, folder_sources({"lab": corpus}), "data.per_cell=30")
    expected = r"ran out of material for the \w+ split: its 1 group\(s\) there .*needs \d+ clean base clip"
    with pytest.raises(MaterialShortage, match=expected):
        build_dataset(cfg.data, cfg.data.seed, tmp_path / "never")


def test_a_corpus_group_offering_no_usable_audio_is_not_counted(tmp_path: Path) -> None:
    corpus = make_speaker_corpus(tmp_path / "c", ["a", "b"], files_per_speaker=1, nonspeech={"music": (".wav", 3)})
    write(corpus / "speech" / "c" / "short.wav", np.asarray(tone(0.2), dtype=np.float32))  # below min_file_ms
    cfg, _ = corpus_config(tmp_path, folder_sources({"lab": corpus}))
    with pytest.raises(MaterialShortage, match=r"'speech' has 2 leakage group"):
        build_dataset(cfg.data, cfg.data.seed, tmp_path / "never")


# Group-to-split assignment -------------------------------------------------------------------

RATIOS = {"train": 0.6, "dev": 0.2, "test": 0.2}


def test_assignment_covers_every_split_and_shares_material_by_the_ratios() -> None:
    material = {"speech": {f"spk{i}": 10.0 for i in range(20)}, "music": {f"song{i}": 6.0 for i in range(3)}}
    assignment = assign_groups(material, 42, RATIOS)
    speech = pd.Series({g: assignment[g] for g in material["speech"]}).value_counts().to_dict()
    assert speech == {"train": 12, "dev": 4, "test": 4}
    assert sorted(assignment[g] for g in material["music"]) == ["dev", "test", "train"]
    # The same for the same seed whatever order groups come in; ties go another way for another seed.
    shuffled = {c: dict(reversed(list(groups.items()))) for c, groups in reversed(list(material.items()))}
    assert assign_groups(shuffled, 42, RATIOS) == assignment
    assert assign_groups(material, 7, RATIOS) != assignment


def test_assignment_balances_uneven_groups_by_seconds() -> None:
    material = {"speech": {"long": 600.0, **{f"short{i}": 50.0 for i in range(8)}}}
    assignment = assign_groups(material, 0, RATIOS)
    seconds = pd.Series(material["speech"]).groupby(pd.Series(assignment)).sum().to_dict()
    assert seconds["train"] == 600.0 and seconds["dev"] == seconds["test"] == 200.0


def test_a_group_spanning_categories_lives_in_one_split() -> None:
    """VoxConverse: a recording gives speech and gap windows; both follow the recording."""
    recordings = [f"vox:{k}" for k in range(5)]
    material = {"speech": {r: 16.0 for r in recordings}, "nonspeech_gap": {r: 4.0 for r in recordings[:3]}}
    assignment = assign_groups(material, 1, RATIOS)
    assert set(assignment) == set(recordings)
    assert sorted(assignment[r] for r in recordings[:3]) == ["dev", "test", "train"]


def test_zero_ratio_splits_get_nothing_and_need_no_coverage() -> None:
    material = {"speech": {"only": 5.0}, "music": {"a": 6.0, "b": 6.0}}
    assert set(assign_groups(material, 0, {"train": 1.0, "dev": 0.0, "test": 0.0}).values()) == {"train"}
    two_way = assign_groups(material, 0, {"train": 0.5, "dev": 0.0, "test": 0.5}, cover=["music"])
    assert sorted(two_way[g] for g in ("a", "b")) == ["test", "train"]
    with pytest.raises(ConfigError, match="data.splits"):
        split_ratios(SplitConfig(train=0.0, dev=0.0, test=0.0))


def test_categories_fed_by_an_endless_source_need_no_coverage() -> None:
    assignment = assign_groups({"speech": {"spk1": 5.0}}, 0, RATIOS, cover=[])
    assert assignment == {"spk1": "train"}


def test_build_record_inputs_are_part_of_the_fingerprint(tmp_path: Path) -> None:
    """A training set kept apart from an evaluation set is rebuilt when that set changes."""
    cfg, _ = compose_config(["exp=smoke"])
    plain, kept_apart = build_record(cfg.data), build_record(cfg.data, held_out_from="1f2e3d4c")
    assert "inputs" not in plain and kept_apart["inputs"] == {"held_out_from": "1f2e3d4c"}
    assert plain["fingerprint"] != kept_apart["fingerprint"]
    folder = tmp_path / "train"
    finish_build(start_build(folder), folder, kept_apart)
    assert is_built(folder, kept_apart)
    with pytest.raises(DatasetExistsError, match="inputs.held_out_from"):
        is_built(folder, build_record(cfg.data, held_out_from="99999999"))
