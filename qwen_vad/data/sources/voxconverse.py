"""VoxConverse (github.com/joonson/voxconverse): long multi-speaker recordings with RTTM
diarisation, which tells where people speak and, just as usefully, where nobody does.

Layout: ``<root>/<audio_dir>/<id>.wav`` and ``<root>/<rttm_dir>/<id>.rttm``, RTTM lines
``SPEAKER <id> 1 <onset s> <duration s> <NA> <NA> <speaker> <NA> <NA>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.audio.io import SAMPLE_RATE, AudioError, to_mono_16k
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.windows import (
    SkipLog,
    format_origin,
    is_silent,
    list_audio_files,
    note_skip,
    relative_name,
    require_category,
    seeded_order,
)
from qwen_vad.errors import ConfigError, MissingInputError

SPEECH_CATEGORY = "speech"
GAP_CATEGORY = "nonspeech_gap"
CATEGORY_LABELS = {SPEECH_CATEGORY: SPEECH, GAP_CATEGORY: NONSPEECH}

# Spans below are (start, end) in samples at 16 kHz, end exclusive.
Span = tuple[int, int]


@dataclass(frozen=True)
class SpeakerTurn:
    start: int  # samples at 16 kHz
    end: int
    speaker: str


def seconds_to_samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def read_rttm(path: Path) -> list[SpeakerTurn]:
    """The SPEAKER lines of an RTTM file as turns; other line types carry no speech regions."""
    turns = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ValueError(f"{path}:{number}: expected 'SPEAKER <id> 1 <onset> <duration> <NA> <NA> <speaker> ...'")
        try:
            onset, duration = float(fields[3]), float(fields[4])
        except ValueError as err:
            raise ValueError(f"{path}:{number}: onset and duration must be numbers ({err})") from err
        start, end = seconds_to_samples(onset), seconds_to_samples(onset + duration)
        if end > start:
            turns.append(SpeakerTurn(start, end, fields[7]))
    return turns


def single_speaker_stretches(turns: list[SpeakerTurn]) -> list[Span]:
    """Stretches where exactly one speaker talks, without overlap, merged per speaker.

    A sweep over turn boundaries: between two consecutive boundaries the set of active speakers
    is constant. Overlapped speech is left out because it is the part of the annotation most
    often off by a few hundred ms, and one voice is the cleanest example of SPEECH.
    """
    events = sorted([(t.start, 1, t.speaker) for t in turns] + [(t.end, -1, t.speaker) for t in turns])
    active: Counter[str] = Counter()
    stretches: list[tuple[int, int, str]] = []
    previous = 0
    for time, change, speaker in events:
        talking = [name for name, count in active.items() if count > 0]
        if time > previous and len(talking) == 1:
            if stretches and stretches[-1][1] == previous and stretches[-1][2] == talking[0]:
                stretches[-1] = (stretches[-1][0], time, talking[0])
            else:
                stretches.append((previous, time, talking[0]))
        active[speaker] += change
        previous = time
    return [(start, end) for start, end, _ in stretches]


def speech_regions(turns: list[SpeakerTurn]) -> list[Span]:
    """The union of all turns: where at least one person speaks."""
    regions: list[Span] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if regions and turn.start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], turn.end))
        else:
            regions.append((turn.start, turn.end))
    return regions


def gaps_between(regions: list[Span], duration: int) -> list[Span]:
    """Where nobody speaks: before the first region, between regions, after the last."""
    gaps = []
    previous_end = 0
    for start, end in regions:
        if start > previous_end:
            gaps.append((previous_end, start))
        previous_end = max(previous_end, end)
    if duration > previous_end:
        gaps.append((previous_end, duration))
    return gaps


def tile_windows(spans: list[Span], window: int, margin: int, duration: int) -> list[int]:
    """Start offsets of back-to-back windows lying fully inside a span shrunk by ``margin`` on
    both sides (and inside the file)."""
    starts = []
    for start, end in spans:
        first, last = start + margin, min(end, duration) - margin
        starts.extend(range(first, last - window + 1, window))
    return starts


def spread_choice(starts: list[int], count: int) -> list[int]:
    """``count`` of the candidate starts spread evenly over the recording (all when fewer), so
    the windows sample the whole conversation, not its first minutes."""
    if len(starts) <= count:
        return starts
    share = len(starts) / count
    return [starts[int((k + 0.5) * share)] for k in range(count)]


def read_window(path: Path, rate: int, frames: int, offset: int, size: int) -> np.ndarray | None:
    """``size`` samples at 16 kHz from ``offset``, reading only that part of the file; ``None``
    when the stretch is digital silence. The chunk is resampled alone; VoxConverse is 16 kHz
    already, and for other rates soxr's edge transient is a few ms of a 2 s window."""
    start = offset * rate // SAMPLE_RATE
    # Two extra source frames so resampling never comes out one sample short.
    stop = min(frames, -(-(offset + size) * rate // SAMPLE_RATE) + 2)
    raw, _ = sf.read(str(path), start=start, stop=stop, dtype="float64", always_2d=True)
    if is_silent(raw.mean(axis=1)):
        return None
    audio = to_mono_16k(raw, rate, name=str(path))[:size]
    if audio.size < size:
        raise AudioError(f"{path}: file ends before {(offset + size) / SAMPLE_RATE:.3f}s", "shorter than its RTTM")
    return audio


class VoxConverseSource:
    """SPEECH windows from single-speaker stretches, NONSPEECH windows (``nonspeech_gap``) from the
    gaps between speech; the leakage group is the recording (``voxconverse:<id>``)."""

    name = "voxconverse"

    def __init__(
        self,
        root: str | Path,
        seed: int,
        segment_ms: int = 2000,
        max_windows: int = 8,
        edge_margin_ms: int = 100,
        include_overlapped_speech: bool = False,
        audio_dir: str = "audio",
        rttm_dir: str = "rttm",
    ) -> None:
        """``max_windows``: per recording and category; 8 because recordings run for minutes
        (there are only ~450 of them) while each window is a couple of seconds.
        ``edge_margin_ms``: windows keep this far from the annotated edges of a region, which
        are only accurate to about a syllable, so a gap window does not catch a word's tail.
        ``include_overlapped_speech``: also cut SPEECH windows where several people talk.
        ``audio_dir`` / ``rttm_dir``: folders under ``root`` (the RTTMs ship per split, e.g.
        ``dev/``, in the VoxConverse repository)."""
        if segment_ms <= 0 or max_windows < 1 or edge_margin_ms < 0:
            raise ConfigError("segment_ms and max_windows_per_file must be positive and edge_margin_ms not negative")
        self.root = Path(root)
        self.seed = seed
        self.window = segment_ms * SAMPLE_RATE // 1000
        self.max_windows = max_windows
        self.margin = edge_margin_ms * SAMPLE_RATE // 1000
        self.include_overlapped_speech = include_overlapped_speech
        self.rttm_folder = self.root / rttm_dir
        self.skipped = SkipLog()
        layout = f"VoxConverse expects <root>/{audio_dir}/<id>.wav and <root>/{rttm_dir}/<id>.rttm"
        audio_folder = self.root / audio_dir
        for folder in (audio_folder, self.rttm_folder):
            if not folder.is_dir():
                raise MissingInputError(f"{folder}: no such folder; {layout}")
        self._recordings = list_audio_files(audio_folder, self.root, self.skipped)
        if not self._recordings:
            raise MissingInputError(f"{audio_folder}: no audio files; {layout}")

    def categories(self) -> dict[str, str]:
        return dict(CATEGORY_LABELS)

    def iter_segments(self, category: str) -> Iterator[Segment]:
        require_category(category, self.categories(), self.name)
        return self._segments(category)

    def group_material(self, category: str) -> dict[str, float]:
        """Seconds of windows each recording offers in ``category``, from its RTTM and audio
        header (no audio is decoded); 0 for a recording that will be skipped."""
        require_category(category, self.categories(), self.name)
        material = {}
        for path in self._recordings:
            try:
                starts = self._window_starts(path, category)[0]
            except (OSError, RuntimeError, ValueError):
                starts = []
            material[self._group(path)] = len(starts) * self.window / SAMPLE_RATE
        return material

    def _segments(self, category: str) -> Iterator[Segment]:
        for path in seeded_order(self._recordings, self.seed, category):
            name = relative_name(path, self.root)
            rttm = self._rttm(path)
            if not rttm.is_file():
                note_skip(self.skipped, name, "no RTTM file", relative_name(rttm, self.root))
                continue
            try:
                yield from self._recording_segments(path, name, category)
            # Unreadable audio (soundfile raises RuntimeError subclasses), a malformed RTTM
            # (ValueError) or audio shorter than its RTTM says (AudioError) skip the recording.
            except AudioError as err:
                note_skip(self.skipped, name, err.reason, str(err))
            except (OSError, RuntimeError) as err:
                note_skip(self.skipped, name, "unreadable audio", str(err))
            except ValueError as err:
                note_skip(self.skipped, name, "malformed RTTM", str(err))

    def _rttm(self, path: Path) -> Path:
        return self.rttm_folder / f"{path.stem}.rttm"

    def _group(self, path: Path) -> str:
        return f"{self.name}:{path.stem}"

    def _window_starts(self, path: Path, category: str) -> tuple[list[int], int, int]:
        """Where the recording's windows of ``category`` start, its sample rate and frames."""
        turns = read_rttm(self._rttm(path))
        info = sf.info(str(path))
        duration = info.frames * SAMPLE_RATE // info.samplerate
        if category == SPEECH_CATEGORY:
            spans = speech_regions(turns) if self.include_overlapped_speech else single_speaker_stretches(turns)
        else:
            spans = gaps_between(speech_regions(turns), duration)
        starts = spread_choice(tile_windows(spans, self.window, self.margin, duration), self.max_windows)
        return starts, info.samplerate, info.frames

    def _recording_segments(self, path: Path, name: str, category: str) -> Iterator[Segment]:
        starts, rate, frames = self._window_starts(path, category)
        for offset in starts:
            audio = read_window(path, rate, frames, offset, self.window)
            if audio is None:
                continue  # silent stretch: no power to mix at an SNR, and not an example of either class
            yield Segment(
                audio=audio,
                label=CATEGORY_LABELS[category],
                category=category,
                source=self.name,
                group=self._group(path),
                origin=format_origin(name, offset),
            )
