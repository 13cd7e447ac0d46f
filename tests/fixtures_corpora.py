"""Small corpus trees, laid out like the real corpora, written into a test's tmp_path.

Audio is generated so tests can check windows by construction: a tone where a corpus says there
is sound (speech regions, an ESC-50 event), quiet noise or silence where it says there is none.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

SR = 16_000


def tone(seconds: float, rate: int = SR, freq: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def quiet_noise(seconds: float, rate: int = SR, amplitude: float = 0.01, seed: int = 0) -> np.ndarray:
    """Low-level noise: clearly not silence (-45 dBFS), clearly not the 0.3-amplitude tone."""
    return (amplitude * np.random.default_rng(seed).uniform(-1, 1, round(seconds * rate))).astype(np.float32)


# Suffixes soundfile cannot map to a format by itself: (format, subtype) to write them with.
WRITE_FORMATS = {".oga": ("OGG", "VORBIS"), ".opus": ("OGG", "OPUS"), ".mp3": ("MP3", "MPEG_LAYER_III")}


def write(path: Path, audio: np.ndarray, rate: int = SR, stereo: bool = False) -> Path:
    """Write ``audio`` in the format the suffix names (wav, flac, ogg, oga, opus, mp3, caf, ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.stack([audio, audio], axis=1) if stereo else audio
    format, subtype = WRITE_FORMATS.get(path.suffix.lower(), (None, None))
    sf.write(str(path), data, rate, format=format, subtype=subtype)
    return path


def write_corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF this is not audio at all")
    return path


def wav_bytes(audio: np.ndarray, rate: int = SR, stereo: bool = False, format: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.stack([audio, audio], axis=1) if stereo else audio, rate, format=format)
    return buffer.getvalue()


# ESC-50 --------------------------------------------------------------------------------------

ESC50_COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]


def esc50_clip(event_start_s: float, event_s: float, rate: int = SR) -> np.ndarray:
    """A 5 s clip: silence with a tone from ``event_start_s`` lasting ``event_s``."""
    clip = np.zeros(5 * rate, dtype=np.float32)
    start = round(event_start_s * rate)
    event = tone(event_s, rate)
    clip[start : start + event.size] = event
    return clip


def make_esc50(root: Path, rows: list[tuple[str, int, str, str]]) -> Path:
    """``rows``: (filename, fold, category, src_file); each clip gets a 1 s event at 2 s and,
    like the real corpus, is a 44.1 kHz mono wav."""
    records = []
    for filename, fold, category, src_file in rows:
        write(root / "audio" / filename, esc50_clip(2.0, 1.0, rate=44_100), rate=44_100)
        records.append((filename, fold, 0, category, False, src_file, "A"))
    (root / "meta").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(records, columns=ESC50_COLUMNS).to_csv(root / "meta" / "esc50.csv", index=False)
    return root


# MUSAN ---------------------------------------------------------------------------------------


def make_musan(root: Path, vocal_stems: tuple[str, ...] = ("music-fma-0001",)) -> Path:
    """Two music files (one with vocals per ANNOTATIONS), two noise files, one speech file."""
    write(root / "music/fma/music-fma-0000.wav", tone(3.0))
    write(root / "music/fma/music-fma-0001.wav", tone(3.0, freq=330))
    stems = ("music-fma-0000", "music-fma-0001")
    lines = [f"{stem} Pop {'Y' if stem in vocal_stems else 'N'} Someone" for stem in stems]
    (root / "music/fma/ANNOTATIONS").write_text("\n".join(lines) + "\n")
    write(root / "noise/free-sound/noise-free-sound-0000.wav", quiet_noise(2.5, amplitude=0.2))
    write(root / "noise/sound-bible/noise-sound-bible-0000.wav", quiet_noise(10.0, amplitude=0.2, seed=1))
    write(root / "speech/librivox/speech-librivox-0000.wav", tone(2.0, freq=200))
    (root / "README").write_text("MUSAN\n")
    return root


# LibriSpeech ---------------------------------------------------------------------------------


def make_librispeech(root: Path) -> Path:
    """dev-clean: speaker 84 (two chapters), speaker 174; test-clean: speaker 61. flac files."""
    for split, speaker, chapter, utterance, seconds in [
        ("dev-clean", "84", "121123", "0000", 3.0),
        ("dev-clean", "84", "121123", "0001", 2.5),
        ("dev-clean", "84", "121550", "0000", 4.5),
        ("dev-clean", "174", "50561", "0000", 3.0),
        ("test-clean", "61", "70968", "0000", 2.2),
    ]:
        folder = root / split / speaker / chapter
        write(folder / f"{speaker}-{chapter}-{utterance}.flac", tone(seconds, freq=150 + int(speaker)))
        (folder / f"{speaker}-{chapter}.trans.txt").write_text(f"{speaker}-{chapter}-{utterance} HELLO\n")
    return root


# VoxConverse ---------------------------------------------------------------------------------

SINGLE_AMPLITUDE = 0.3  # a tone of this amplitude where one speaker talks
OVERLAP_AMPLITUDE = 0.8  # where two talk at once
GAP_AMPLITUDE = 0.01  # quiet noise where nobody talks

# (onset s, duration s, speaker) in a 20 s recording:
#   0-1 gap | 1-5 A | 4-6 B (4-5 overlap) | 6-10 gap | 10-13 A | 13-15.5 B (A->B change) | 15.5-20 gap
VOX_TURNS = [(1.0, 4.0, "A"), (4.0, 2.0, "B"), (10.0, 3.0, "A"), (13.0, 2.5, "B")]
VOX_SECONDS = 20.0


def vox_recording(turns: list[tuple[float, float, str]], seconds: float, rate: int) -> np.ndarray:
    """Quiet noise everywhere, a tone over turns, a louder tone where turns overlap."""
    audio = quiet_noise(seconds, rate, GAP_AMPLITUDE).astype(np.float64)
    talkers = np.zeros(audio.size, dtype=int)
    for onset, duration, _ in turns:
        talkers[round(onset * rate) : round((onset + duration) * rate)] += 1
    loud = tone(seconds, rate, freq=300.0, amplitude=1.0)
    audio[talkers == 1] = SINGLE_AMPLITUDE * loud[talkers == 1]
    audio[talkers >= 2] = OVERLAP_AMPLITUDE * loud[talkers >= 2]
    return audio.astype(np.float32)


def rttm_text(recording_id: str, turns: list[tuple[float, float, str]]) -> str:
    return "".join(
        f"SPEAKER {recording_id} 1 {onset:.3f} {duration:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
        for onset, duration, speaker in turns
    )


def make_voxconverse(root: Path) -> Path:
    """``abcde`` at 16 kHz mono, ``fghij`` at 44.1 kHz stereo, same turns; ``norttm`` lacks its
    RTTM and ``broken`` is not audio."""
    for recording_id, rate, stereo in [("abcde", SR, False), ("fghij", 44_100, True)]:
        write(root / "audio" / f"{recording_id}.wav", vox_recording(VOX_TURNS, VOX_SECONDS, rate), rate, stereo)
        (root / "rttm").mkdir(parents=True, exist_ok=True)
        (root / "rttm" / f"{recording_id}.rttm").write_text(rttm_text(recording_id, VOX_TURNS))
    write(root / "audio" / "norttm.wav", vox_recording(VOX_TURNS, VOX_SECONDS, SR))
    write_corrupt(root / "audio" / "broken.wav")
    (root / "rttm" / "broken.rttm").write_text(rttm_text("broken", VOX_TURNS))
    return root


# Folder tree ---------------------------------------------------------------------------------


def make_folder_tree(root: Path) -> Path:
    """speech/<speaker>/..., music/ (ogg, 44.1 kHz stereo), animals/ (flac)."""
    write(root / "speech/spk1/a.wav", tone(2.5, freq=220))
    write(root / "speech/spk1/b.wav", tone(2.5, freq=230))
    write(root / "speech/spk2/c.wav", tone(2.5, freq=240))
    write(root / "music/song.ogg", tone(2.5, 44_100, freq=523), 44_100, stereo=True)
    write(root / "animals/birds/chirp.flac", tone(3.0, freq=2000))
    (root / "notes.txt").write_text("not a category\n")
    (root / "empty_category").mkdir()
    return root


# Hugging Face dataset saved with save_to_disk ------------------------------------------------


def make_hf_rows() -> dict[str, list]:
    """Four rows: two speech (one 44.1 kHz stereo flac), one music, one corrupt music row."""
    return {
        "audio": [
            {"bytes": wav_bytes(tone(2.5, freq=200)), "path": "s0.wav"},
            {"bytes": wav_bytes(tone(2.5, 44_100, freq=210), 44_100, stereo=True, format="FLAC"), "path": "s1.flac"},
            {"bytes": wav_bytes(tone(2.5, freq=600)), "path": "m0.wav"},
            {"bytes": b"not audio", "path": "m1.wav"},
        ],
        "label": [1, 1, 0, 0],
        "genre": ["speech", "speech", "music", "music"],
        "speaker": ["spk7", "spk7", "band1", "band2"],
        "batch": ["a", "b", "a", "b"],  # mixes speech and music rows
    }


def make_hf_dataset(root: Path, as_dict_split: str | None = None, labels: list[int] | None = None) -> Path:
    """Save the rows with an Audio column and a ClassLabel label, as a Dataset or, with
    ``as_dict_split``, as a DatasetDict holding that split (and a tiny "other" split).
    ``labels`` replaces the label column (-1: no label, as in hidden-label test splits)."""
    from datasets import Audio, ClassLabel, Dataset, DatasetDict

    rows = make_hf_rows()
    if labels is not None:
        rows["label"] = labels
    dataset = Dataset.from_dict(rows)
    dataset = dataset.cast_column("audio", Audio()).cast_column("label", ClassLabel(names=["nonspeech", "speech"]))
    if as_dict_split is None:
        dataset.save_to_disk(str(root))
    else:
        DatasetDict({as_dict_split: dataset, "other": dataset.select([0])}).save_to_disk(str(root))
    return root


# A folder corpus of real speech and sounds ---------------------------------------------------


def make_speaker_corpus(
    root: Path,
    speakers: list[str],
    files_per_speaker: int = 3,
    nonspeech: dict[str, tuple[str, int]] | None = None,
    seed: int = 11,
) -> Path:
    """``root/speech/<speaker>/utt<k>.wav``: espeak-ng speech (2 s files), which passes VAD
    hygiene; ``root/<category>/<category><k><ext>``: 6 s of the synthetic source's procedural
    sound of that category (``nonspeech``: category -> (extension, files); each file is its own
    group at ``group_depth=2``)."""
    from qwen_vad.data.sources.synthetic import SyntheticSource

    speech = SyntheticSource(seed).iter_segments("speech")
    for speaker in speakers:
        for k in range(files_per_speaker):
            write(root / "speech" / speaker / f"utt{k}.wav", next(speech).audio)
    long_sounds = SyntheticSource(seed, segment_ms=6000)
    for category, (extension, count) in (nonspeech or {}).items():
        stream = long_sounds.iter_segments(category)
        for k in range(count):
            write(root / category / f"{category}{k}{extension}", next(stream).audio)
    return root
