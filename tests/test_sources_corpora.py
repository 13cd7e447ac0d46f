"""The real-corpus adapters on small trees laid out like ESC-50, MUSAN, LibriSpeech, VoxConverse,
a plain folder and a saved Hugging Face dataset (all written by fixtures_corpora)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures_corpora import (
    GAP_AMPLITUDE,
    OVERLAP_AMPLITUDE,
    SINGLE_AMPLITUDE,
    SR,
    esc50_clip,
    make_esc50,
    make_folder_tree,
    make_hf_dataset,
    make_librispeech,
    make_musan,
    make_voxconverse,
    quiet_noise,
    tone,
    write,
    write_corrupt,
)

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.data.sources.base import Segment, origin_file
from qwen_vad.data.sources.esc50 import ESC50_CATEGORIES, Esc50Source
from qwen_vad.data.sources.folder import FolderSource
from qwen_vad.data.sources.hf import HfSource
from qwen_vad.data.sources.librispeech import LibriSpeechSource
from qwen_vad.data.sources.musan import MusanSource
from qwen_vad.data.sources.voxconverse import SpeakerTurn, VoxConverseSource, single_speaker_stretches
from qwen_vad.data.sources.windows import Windowing, seeded_order


def offset_s(segment: Segment) -> float:
    return float(segment.origin.rsplit("@", 1)[1].rstrip("s"))


def skipped_files(source: object) -> set[str]:
    return {skip.file for skip in source.skipped}


def skip_reasons(source: object) -> dict[str, str]:
    return {skip.file: skip.reason for skip in source.skipped}


# Shared windowing ----------------------------------------------------------------------------


def test_windowing_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="min_file_ms"):
        Windowing(segment_ms=1000, min_ms=1500)
    with pytest.raises(ValueError, match="max_windows"):
        Windowing(max_windows=0)


def test_spread_windows_do_not_overlap_and_stay_inside_the_file() -> None:
    windowing = Windowing(segment_ms=2000, max_windows=3)
    audio = np.ones(10 * SR, dtype=np.float32)
    windows = windowing.spread(audio)
    offsets = [offset for offset, _ in windows]
    assert len(windows) == 3
    assert all(window.size == 2 * SR for _, window in windows)
    assert all(b - a >= 2 * SR for a, b in zip(offsets, offsets[1:]))
    assert offsets[0] >= 0 and offsets[-1] + 2 * SR <= audio.size
    # Centred in thirds of the file: 0.667 s, 4.000 s, 7.333 s.
    assert offsets == [int((k + 0.5) * audio.size / 3) - SR for k in range(3)]


def test_seeded_order_depends_on_seed_and_key_only() -> None:
    items = list(range(20))
    assert seeded_order(items, 1, "music") == seeded_order(items, 1, "music")
    assert seeded_order(items, 1, "music") != seeded_order(items, 2, "music")
    assert seeded_order(items, 1, "music") != seeded_order(items, 1, "noise")
    assert sorted(seeded_order(items, 1, "music")) == items


# ESC-50 --------------------------------------------------------------------------------------


def test_esc50_table_covers_all_50_classes() -> None:
    assert len(ESC50_CATEGORIES) == 50
    assert set(ESC50_CATEGORIES.values()) == {"animals", "environment", "noise", "human_nonspeech"}
    human = {name for name, category in ESC50_CATEGORIES.items() if category == "human_nonspeech"}
    assert human == {
        "crying_baby", "sneezing", "clapping", "breathing", "coughing",
        "footsteps", "laughing", "brushing_teeth", "snoring", "drinking_sipping",
    }  # fmt: skip
    for animal in ("dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow"):
        assert ESC50_CATEGORIES[animal] == "animals"


@pytest.fixture
def esc50_root(tmp_path: Path) -> Path:
    return make_esc50(
        tmp_path / "ESC-50",
        [
            ("1-100032-A-0.wav", 1, "dog", "100032"),
            ("1-100032-B-0.wav", 1, "dog", "100032"),
            ("2-200000-A-5.wav", 2, "cat", "200000"),
            ("1-300000-A-20.wav", 1, "crying_baby", "300000"),
            ("3-400000-A-10.wav", 3, "rain", "400000"),
            ("4-500000-A-42.wav", 4, "siren", "500000"),
        ],
    )


def test_esc50_categories_labels_groups_and_origins(esc50_root: Path) -> None:
    source = Esc50Source(esc50_root, seed=0)
    assert source.categories() == {
        "animals": NONSPEECH,
        "environment": NONSPEECH,
        "human_nonspeech": NONSPEECH,
        "noise": NONSPEECH,
    }
    animals = list(source.iter_segments("animals"))
    groups = {origin_file(s.origin): s.group for s in animals}
    assert groups == {
        "audio/1-100032-A-0.wav": "esc50:100032",
        "audio/1-100032-B-0.wav": "esc50:100032",  # same freesound recording, same group
        "audio/2-200000-A-5.wav": "esc50:200000",
    }
    assert all(s.source == "esc50" and s.label == NONSPEECH and s.category == "animals" for s in animals)
    assert all(s.audio.size == 2 * SR and s.audio.dtype == np.float32 for s in animals)
    [baby] = source.iter_segments("human_nonspeech")
    assert baby.origin == "audio/1-300000-A-20.wav@1.500s"  # the 2-3 s event centred in the window


def test_esc50_windows_sit_on_the_sound_not_the_padding(tmp_path: Path) -> None:
    root = make_esc50(tmp_path, [("1-1-A-0.wav", 1, "dog", "1"), ("1-2-A-0.wav", 1, "dog", "2")])
    write(root / "audio/1-1-A-0.wav", esc50_clip(3.2, 0.4))  # short bark late in the clip
    write(root / "audio/1-2-A-0.wav", esc50_clip(0.0, 5.0))  # sound all along
    by_file: dict[str, list[Segment]] = {}
    for segment in Esc50Source(root, seed=0).iter_segments("animals"):
        by_file.setdefault(origin_file(segment.origin), []).append(segment)
    [bark] = by_file["audio/1-1-A-0.wav"]  # the padding never becomes a window of its own
    assert offset_s(bark) == pytest.approx(3.4 - 1.0, abs=0.011)
    middle = bark.audio[SR - 1600 : SR + 1600]  # the bark is at the window's centre
    assert np.abs(middle).max() == pytest.approx(0.3, abs=0.01)
    steady = by_file["audio/1-2-A-0.wav"]
    assert len(steady) == 2
    assert abs(offset_s(steady[1]) - offset_s(steady[0])) >= 2.0


def test_esc50_folds_filter(esc50_root: Path) -> None:
    source = Esc50Source(esc50_root, seed=0, folds=(1,))
    assert set(source.categories()) == {"animals", "human_nonspeech"}
    assert {origin_file(s.origin) for s in source.iter_segments("animals")} == {
        "audio/1-100032-A-0.wav",
        "audio/1-100032-B-0.wav",
    }


def test_esc50_skips_and_counts_corrupt_silent_and_missing_clips(esc50_root: Path) -> None:
    write_corrupt(esc50_root / "audio/1-100032-B-0.wav")
    write(esc50_root / "audio/2-200000-A-5.wav", np.zeros(5 * SR, dtype=np.float32))
    (esc50_root / "audio/1-100032-A-0.wav").unlink()
    source = Esc50Source(esc50_root, seed=0)
    assert list(source.iter_segments("animals")) == []
    assert skipped_files(source) == {"audio/1-100032-A-0.wav", "audio/1-100032-B-0.wav", "audio/2-200000-A-5.wav"}
    assert skip_reasons(source) == {
        "audio/1-100032-A-0.wav": "missing file",
        "audio/1-100032-B-0.wav": "unreadable audio",
        "audio/2-200000-A-5.wav": "all-zero audio",
    }
    assert "Format not recognised" in next(s.detail for s in source.skipped if s.reason == "unreadable audio")
    list(source.iter_segments("animals"))  # iterating again does not count them twice
    source.group_material("animals")  # nor does reading the headers
    assert len(source.skipped) == 3


def test_esc50_missing_layout_names_the_expected_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"meta/esc50\.csv and <root>/audio/\*\.wav"):
        Esc50Source(tmp_path / "nowhere", seed=0)


def test_esc50_order_is_seeded(tmp_path: Path) -> None:
    rows = [(f"1-{i}-A-0.wav", 1, "dog", str(i)) for i in range(8)]
    root = make_esc50(tmp_path, rows)

    def order(seed: int) -> list[str]:
        return [s.origin for s in Esc50Source(root, seed=seed).iter_segments("animals")]

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert sorted(order(3)) == sorted(order(4))


# MUSAN ---------------------------------------------------------------------------------------


def test_musan_categories_groups_and_vocal_music(tmp_path: Path) -> None:
    root = make_musan(tmp_path / "musan")
    source = MusanSource(root, seed=0)
    assert source.categories() == {"music": NONSPEECH, "noise": NONSPEECH, "speech": SPEECH}
    music = list(source.iter_segments("music"))
    assert [s.origin for s in music] == ["music/fma/music-fma-0000.wav@0.500s"]  # 0001 has vocals
    assert music[0].group == "musan:music/fma/music-fma-0000.wav"
    with_vocals = MusanSource(root, seed=0, include_vocal_music=True)
    assert len(list(with_vocals.iter_segments("music"))) == 2
    [speech] = source.iter_segments("speech")
    assert (speech.label, speech.category, speech.source) == (SPEECH, "speech", "musan")
    noise = list(source.iter_segments("noise"))
    long_file = [s for s in noise if "sound-bible" in s.origin]
    assert len(long_file) == 3  # a 10 s file gives max_windows windows
    assert len({s.group for s in long_file}) == 1
    assert skip_reasons(source) == {
        "README": "outside the category folders",
        "music/fma/ANNOTATIONS": "not a libsndfile format (no extension)",
        "music/fma/music-fma-0001.wav": "music with vocals (include_vocal_music=false)",
    }


def test_musan_needs_annotations_unless_vocal_music_is_kept(tmp_path: Path) -> None:
    root = make_musan(tmp_path)
    (root / "music/fma/ANNOTATIONS").unlink()
    with pytest.raises(FileNotFoundError, match="ANNOTATIONS"):
        MusanSource(root, seed=0)
    assert "music" in MusanSource(root, seed=0, include_vocal_music=True).categories()


def test_musan_missing_layout(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    with pytest.raises(FileNotFoundError, match="MUSAN expects <root>/music/"):
        MusanSource(tmp_path, seed=0)


# LibriSpeech ---------------------------------------------------------------------------------


def test_librispeech_groups_by_speaker(tmp_path: Path) -> None:
    root = make_librispeech(tmp_path / "LibriSpeech")
    source = LibriSpeechSource(root, seed=0)
    assert source.categories() == {"speech": SPEECH}
    segments = list(source.iter_segments("speech"))
    groups = {origin_file(s.origin): s.group for s in segments}
    assert groups == {
        "dev-clean/84/121123/84-121123-0000.flac": "librispeech:84",
        "dev-clean/84/121123/84-121123-0001.flac": "librispeech:84",
        "dev-clean/84/121550/84-121550-0000.flac": "librispeech:84",  # other chapter, same speaker
        "dev-clean/174/50561/174-50561-0000.flac": "librispeech:174",
        "test-clean/61/70968/61-70968-0000.flac": "librispeech:61",
    }
    assert all(s.label == SPEECH and s.category == "speech" for s in segments)
    assert len([s for s in segments if "121550" in s.origin]) == 2  # 4.5 s -> two 2 s windows


def test_librispeech_splits_short_files_and_stray_audio(tmp_path: Path) -> None:
    root = make_librispeech(tmp_path)
    write(root / "dev-clean/84/121123/84-121123-0002.flac", tone(0.5))  # under min_ms
    write(root / "dev-clean/84/121123/84-121123-0003.flac", tone(1.5))  # one whole, shorter segment
    write(root / "dev-clean/stray.flac", tone(3.0))  # not at <speaker>/<chapter>/ depth
    source = LibriSpeechSource(root, seed=0, splits=("dev-clean",))
    segments = {s.origin: s for s in source.iter_segments("speech")}
    assert not any(origin.startswith("test-clean") or "stray" in origin for origin in segments)
    assert segments["dev-clean/84/121123/84-121123-0003.flac@0.000s"].audio.size == round(1.5 * SR)
    assert skip_reasons(source) == {
        "dev-clean/84/121123/84-121123-0002.flac": "shorter than 1000 ms",
        "dev-clean/stray.flac": "not at <split>/<speaker>/<chapter>/<file>",
        "dev-clean/84/121123/84-121123.trans.txt": "not a libsndfile format (.txt)",
        "dev-clean/84/121550/84-121550.trans.txt": "not a libsndfile format (.txt)",
        "dev-clean/174/50561/174-50561.trans.txt": "not a libsndfile format (.txt)",
    }
    with pytest.raises(FileNotFoundError, match=r"no split folders \['train-clean-100'\]"):
        LibriSpeechSource(root, seed=0, splits=("train-clean-100",))


def test_librispeech_missing_layout(tmp_path: Path) -> None:
    write(tmp_path / "dev-clean/84/a.flac", tone(2.0))  # one level short
    with pytest.raises(FileNotFoundError, match=r"<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>\.flac"):
        LibriSpeechSource(tmp_path, seed=0)


# VoxConverse ---------------------------------------------------------------------------------


def test_single_speaker_stretches_leave_out_overlap_and_split_at_speaker_changes() -> None:
    turns = [SpeakerTurn(10, 50, "A"), SpeakerTurn(40, 60, "B"), SpeakerTurn(60, 80, "A"), SpeakerTurn(80, 90, "A")]
    assert single_speaker_stretches(turns) == [(10, 40), (50, 60), (60, 90)]


@pytest.fixture
def vox_root(tmp_path: Path) -> Path:
    return make_voxconverse(tmp_path / "voxconverse")


def test_voxconverse_speech_windows_lie_in_single_speaker_regions(vox_root: Path) -> None:
    source = VoxConverseSource(vox_root, seed=0)
    assert source.categories() == {"speech": SPEECH, "nonspeech_gap": NONSPEECH}
    speech = list(source.iter_segments("speech"))
    # Single-speaker stretches 1-4 s, 10-13 s, 13-15.5 s (5-6 s is too short): one window each,
    # 100 ms inside, for both readable recordings.
    for recording in ("abcde", "fghij"):
        mine = [s for s in speech if s.group == f"voxconverse:{recording}"]
        assert sorted(s.origin for s in mine) == [f"audio/{recording}.wav@{t}s" for t in ("1.100", "10.100", "13.100")]
    for segment in speech:
        assert segment.audio.size == 2 * SR
        # Tone at the single-speaker level everywhere: no gap noise, no louder overlap.
        assert np.abs(segment.audio).max() == pytest.approx(SINGLE_AMPLITUDE, abs=0.02)
        frames = segment.audio[: 2 * SR].reshape(-1, 320)
        assert np.sqrt((frames**2).mean(axis=1)).min() > 0.8 * SINGLE_AMPLITUDE / np.sqrt(2)


def test_voxconverse_gap_windows_keep_clear_of_speech(vox_root: Path) -> None:
    source = VoxConverseSource(vox_root, seed=0)
    gaps = list(source.iter_segments("nonspeech_gap"))
    assert sorted(s.origin for s in gaps if s.group == "voxconverse:abcde") == [
        "audio/abcde.wav@15.600s",
        "audio/abcde.wav@17.600s",
        "audio/abcde.wav@6.100s",
    ]
    assert {s.category for s in gaps} == {"nonspeech_gap"} and {s.label for s in gaps} == {NONSPEECH}
    for segment in gaps:
        assert np.abs(segment.audio).max() < 2 * GAP_AMPLITUDE  # quiet noise only


def test_voxconverse_skips_and_counts_broken_recordings(vox_root: Path) -> None:
    source = VoxConverseSource(vox_root, seed=0)
    list(source.iter_segments("speech"))
    assert skip_reasons(source) == {"audio/norttm.wav": "no RTTM file", "audio/broken.wav": "unreadable audio"}
    assert next(s.detail for s in source.skipped if s.file == "audio/norttm.wav") == "rttm/norttm.rttm"


def test_voxconverse_material_per_recording_matches_its_windows(vox_root: Path) -> None:
    source = VoxConverseSource(vox_root, seed=0)
    for category in ("speech", "nonspeech_gap"):
        material = source.group_material(category)
        assert set(material) == {"voxconverse:abcde", "voxconverse:fghij", "voxconverse:norttm", "voxconverse:broken"}
        assert material["voxconverse:norttm"] == material["voxconverse:broken"] == 0.0
        windows = [s for s in source.iter_segments(category) if s.group == "voxconverse:abcde"]
        assert material["voxconverse:abcde"] == pytest.approx(2.0 * len(windows)) and windows


def test_file_sources_measure_material_from_headers(tmp_path: Path) -> None:
    root = make_folder_tree(tmp_path / "corpus")
    write(root / "speech/spk2/long.flac", tone(30.0))  # 30 s: only max_windows (3) x 2 s are usable
    material = FolderSource(root, seed=0, group_depth=2).group_material("speech")
    assert material == {"folder:speech/spk1": pytest.approx(5.0), "folder:speech/spk2": pytest.approx(2.5 + 6.0)}


def test_voxconverse_options(vox_root: Path) -> None:
    overlapped = VoxConverseSource(vox_root, seed=0, include_overlapped_speech=True)
    loud = [s for s in overlapped.iter_segments("speech") if np.abs(s.audio).max() > 0.5]
    assert loud and all(np.abs(s.audio).max() == pytest.approx(OVERLAP_AMPLITUDE, abs=0.03) for s in loud)
    one_each = VoxConverseSource(vox_root, seed=0, max_windows=1)
    assert sorted(s.origin for s in one_each.iter_segments("speech")) == [
        "audio/abcde.wav@10.100s",  # the middle one of the three candidates
        "audio/fghij.wav@10.100s",
    ]
    wide = VoxConverseSource(vox_root, seed=0, edge_margin_ms=400)  # 13.4-15.1 s is now too short
    assert sorted(offset_s(s) for s in wide.iter_segments("speech") if s.group.endswith("abcde")) == [1.4, 10.4]


def test_voxconverse_missing_layout(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    expected = r"VoxConverse expects <root>/audio/<id>\.wav and <root>/dev/<id>\.rttm"
    with pytest.raises(FileNotFoundError, match=expected):
        VoxConverseSource(tmp_path, seed=0, rttm_dir="dev")


# Folder --------------------------------------------------------------------------------------


def test_folder_categories_labels_and_groups(tmp_path: Path) -> None:
    root = make_folder_tree(tmp_path / "corpus")
    source = FolderSource(root, seed=0)
    assert source.categories() == {"animals": NONSPEECH, "music": NONSPEECH, "speech": SPEECH}
    [song] = source.iter_segments("music")  # 44.1 kHz stereo ogg
    assert song.origin == "music/song.ogg@0.250s" and song.group == "folder:music/song.ogg"
    assert song.audio.size == 2 * SR and np.abs(song.audio).max() == pytest.approx(0.3, abs=0.02)
    [bird] = source.iter_segments("animals")
    assert bird.origin == "animals/birds/chirp.flac@0.500s"
    by_speaker = FolderSource(root, seed=0, group_depth=2, source_name="lab")
    groups = {origin_file(s.origin): s.group for s in by_speaker.iter_segments("speech")}
    assert groups == {
        "speech/spk1/a.wav": "lab:speech/spk1",
        "speech/spk1/b.wav": "lab:speech/spk1",
        "speech/spk2/c.wav": "lab:speech/spk2",
    }
    assert {s.source for s in by_speaker.iter_segments("speech")} == {"lab"}


def test_folder_speech_categories_override(tmp_path: Path) -> None:
    root = make_folder_tree(tmp_path)
    source = FolderSource(root, seed=0, speech_categories=("speech", "animals"))
    assert source.categories()["animals"] == SPEECH
    assert {s.label for s in source.iter_segments("animals")} == {SPEECH}


def test_folder_unknown_category_and_missing_layout(tmp_path: Path) -> None:
    source = FolderSource(make_folder_tree(tmp_path / "corpus"), seed=0)
    with pytest.raises(ValueError, match=r"unknown category 'noise'; choose from \['animals', 'music', 'speech'\]"):
        source.iter_segments("noise")
    with pytest.raises(FileNotFoundError, match="expects <root>/<category>/"):
        FolderSource(tmp_path / "missing", seed=0)
    (tmp_path / "empty" / "speech").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no audio files in any sub-folder"):
        FolderSource(tmp_path / "empty", seed=0)


def test_folder_silent_files_are_counted(tmp_path: Path) -> None:
    root = make_folder_tree(tmp_path)
    write(root / "music/silent.wav", np.full(3 * SR, 1e-4, dtype=np.float32))  # -80 dBFS: not all-zero, yet silent
    write(root / "music/empty.wav", np.zeros(0, dtype=np.float32))
    source = FolderSource(root, seed=0)
    assert [s.origin for s in source.iter_segments("music")] == ["music/song.ogg@0.250s"]
    reasons = skip_reasons(source)
    assert reasons["music/silent.wav"] == "silent" and reasons["music/empty.wav"] == "empty audio"
    assert reasons["notes.txt"] == "outside the category folders"


def test_order_is_the_same_in_another_process(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for i in range(12):
        write(root / f"noise/n{i:02d}.wav", quiet_noise(1.2, amplitude=0.1, seed=i))
    script = (
        "import sys\nfrom qwen_vad.data.sources.folder import FolderSource\n"
        "print(','.join(s.origin for s in FolderSource(sys.argv[1], seed=7).iter_segments('noise')))"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1], env={"PYTHONHASHSEED": "123"},
    )  # fmt: skip
    here = ",".join(s.origin for s in FolderSource(root, seed=7).iter_segments("noise"))
    assert other.stdout.strip() == here
    assert here != ",".join(sorted(here.split(",")))  # actually shuffled


# Hugging Face --------------------------------------------------------------------------------


def test_hf_saved_dataset_labels_groups_and_skips(tmp_path: Path) -> None:
    root = make_hf_dataset(tmp_path / "hf")
    source = HfSource(root, seed=0, min_ms=1000, group_column="speaker")
    assert source.categories() == {"nonspeech": NONSPEECH, "speech": SPEECH}  # ClassLabel names
    speech = list(source.iter_segments("speech"))
    assert sorted(s.origin for s in speech) == ["train/0@0.250s", "train/1@0.250s"]
    assert {s.group for s in speech} == {"hf:spk7"}
    stereo = next(s for s in speech if s.origin.startswith("train/1"))
    assert stereo.audio.size == 2 * SR and np.abs(stereo.audio).max() == pytest.approx(0.3, abs=0.02)
    [music] = source.iter_segments("nonspeech")
    assert (music.origin, music.label, music.group) == ("train/2@0.250s", NONSPEECH, "hf:band1")
    [(file, reason, detail)] = source.skipped
    assert file == "train/3" and reason == "unreadable audio" and "Format not recognised" in detail


def test_hf_category_column_and_row_groups(tmp_path: Path) -> None:
    root = make_hf_dataset(tmp_path / "hf")
    source = HfSource(root, seed=0, category_column="genre", source_name="mydata")
    assert source.categories() == {"music": NONSPEECH, "speech": SPEECH}
    assert {s.group for s in source.iter_segments("speech")} == {"mydata:train/0", "mydata:train/1"}
    with pytest.raises(ValueError, match="mix SPEECH and NONSPEECH"):
        HfSource(root, seed=0, category_column="batch")
    with pytest.raises(ValueError, match=r"no columns \['transcript'\]"):
        HfSource(root, seed=0, category_column="transcript")


def test_hf_rows_without_label_are_left_out_and_counted(tmp_path: Path) -> None:
    source = HfSource(make_hf_dataset(tmp_path / "a", labels=[1, -1, 0, -1]), seed=0)
    assert source.categories() == {"nonspeech": NONSPEECH, "speech": SPEECH}
    assert [s.origin for s in source.iter_segments("speech")] == ["train/0@0.250s"]
    assert ("train/*", "no value in label column 'label'", "2 rows") in source.skipped
    with pytest.raises(ValueError, match="no row of split 'train' has a label"):
        HfSource(make_hf_dataset(tmp_path / "b", labels=[-1, -1, -1, -1]), seed=0)


def test_hf_dataset_dict_needs_an_existing_split(tmp_path: Path) -> None:
    root = make_hf_dataset(tmp_path / "hfdict", as_dict_split="test")
    assert set(HfSource(root, seed=0, split="test").categories()) == {"speech", "nonspeech"}
    with pytest.raises(ValueError, match=r"no split 'train'; it has \['other', 'test'\]"):
        HfSource(root, seed=0)


def test_hf_unreachable_hub_says_to_save_a_local_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # fail fast instead of retrying
    with pytest.raises(FileNotFoundError, match="save_to_disk"):
        HfSource("nobody/no-such-dataset", seed=0)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        HfSource(tmp_path / "missing", seed=0)
    (tmp_path / "plain").mkdir()
    with pytest.raises(FileNotFoundError, match="not a dataset saved with save_to_disk"):
        HfSource(tmp_path / "plain", seed=0)
