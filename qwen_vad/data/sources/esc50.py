"""ESC-50 (github.com/karolpiczak/ESC-50): 2,000 five-second clips in 50 classes.

Layout: ``<root>/meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) and
``<root>/audio/<filename>``. Every class is NONSPEECH; this module maps them to our categories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad import NONSPEECH
from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.windows import (
    FileMeta,
    SkipLog,
    Windowing,
    Windows,
    material_by_group,
    require_category,
    segments_from_files,
    seeded_order,
)
from qwen_vad.errors import BadInputError, ConfigError, MissingInputError

# All 50 ESC-50 classes, grouped as in the ESC-50 paper (five macro classes of ten), and the
# category each one becomes here.
#  - Animals (ESC-50's own macro class) -> animals, plus chirping_birds and crickets, which ESC-50
#    files under "natural soundscapes" but which are animal calls: vocal-like, harmonic, the
#    negatives that resemble speech most after the human sounds.
#  - Human non-speech sounds -> human_nonspeech, kept apart: a human voice or body that is not
#    speaking is the hardest negative for a "human voice?" question and deserves its own rows.
#  - noise: the stationary, broadband textures with no discrete events (rain, sea waves, wind,
#    vacuum cleaner): the closest ESC-50 has to MUSAN noise and white/pink noise.
#  - environment: every other soundscape, domestic and urban sound (events: knocks, sirens, ...).
ESC50_CATEGORIES: dict[str, str] = {
    # Animals
    "dog": "animals",
    "rooster": "animals",
    "pig": "animals",
    "cow": "animals",
    "frog": "animals",
    "cat": "animals",
    "hen": "animals",
    "insects": "animals",
    "sheep": "animals",
    "crow": "animals",
    # Natural soundscapes and water sounds
    "rain": "noise",
    "sea_waves": "noise",
    "crackling_fire": "environment",
    "crickets": "animals",
    "chirping_birds": "animals",
    "water_drops": "environment",
    "wind": "noise",
    "pouring_water": "environment",
    "toilet_flush": "environment",
    "thunderstorm": "environment",
    # Human, non-speech sounds
    "crying_baby": "human_nonspeech",
    "sneezing": "human_nonspeech",
    "clapping": "human_nonspeech",
    "breathing": "human_nonspeech",
    "coughing": "human_nonspeech",
    "footsteps": "human_nonspeech",
    "laughing": "human_nonspeech",
    "brushing_teeth": "human_nonspeech",
    "snoring": "human_nonspeech",
    "drinking_sipping": "human_nonspeech",
    # Interior / domestic sounds
    "door_wood_knock": "environment",
    "mouse_click": "environment",
    "keyboard_typing": "environment",
    "door_wood_creaks": "environment",
    "can_opening": "environment",
    "washing_machine": "environment",
    "vacuum_cleaner": "noise",
    "clock_alarm": "environment",
    "clock_tick": "environment",
    "glass_breaking": "environment",
    # Exterior / urban noises
    "helicopter": "environment",
    "chainsaw": "environment",
    "siren": "environment",
    "car_horn": "environment",
    "engine": "environment",
    "train": "environment",
    "church_bells": "environment",
    "airplane": "environment",
    "fireworks": "environment",
    "hand_saw": "environment",
}

REQUIRED_COLUMNS = ("filename", "fold", "category", "src_file")
LAYOUT = "ESC-50 expects <root>/meta/esc50.csv and <root>/audio/*.wav"

# Loudest-window search works on 10 ms frames: fine enough to centre a short bark, cheap on 5 s.
FRAME_MS = 10
# A frame is "active" when its RMS is within 40 dB of the clip's loudest frame; ESC-50's padding
# is digital silence, far below that.
ACTIVE_BELOW_PEAK_DB = 40.0


def loudest_windows(audio: np.ndarray, windowing: Windowing, min_active_fraction: float) -> Windows:
    """Windows placed on the clip's sound rather than on a fixed grid.

    ESC-50 clips are padded with silence to 5 s, and many hold one short event (a bark, a knock)
    somewhere in them; fixed windows would often be mostly silence. So: score every window
    position (10 ms hop) by its energy weighted with a Hann taper, which peaks when the event is
    in the middle of the window, where the dataset builder cuts its short clips; take the best,
    then greedily the next best that does not overlap. The first window is always kept (the clip
    is not silent, load_audio has checked); later ones only if at least ``min_active_fraction``
    of their frames are active, so padding never becomes a segment of its own.
    """
    frame = SAMPLE_RATE * FRAME_MS // 1000
    size = windowing.segment_samples
    frames_per_window = -(-size // frame)  # ceil: the scored frames cover the whole window
    n_frames = audio.size // frame
    if n_frames < frames_per_window:  # longer than a window only by a fraction of a frame
        return [(0, audio[:size])]
    energy = np.square(audio[: n_frames * frame].astype(np.float64)).reshape(n_frames, frame).sum(axis=1)
    active = energy >= energy.max() * 10 ** (-ACTIVE_BELOW_PEAK_DB / 10)
    score = np.convolve(energy, np.hanning(frames_per_window + 2)[1:-1], mode="valid")
    active_share = np.convolve(active.astype(np.float64), np.ones(frames_per_window), mode="valid") / frames_per_window
    free = np.ones(score.size, dtype=bool)  # positions not overlapping a chosen window
    eligible = free.copy()  # the first window may sit anywhere
    starts: list[int] = []
    while len(starts) < windowing.max_windows and eligible.any():
        best = int(np.flatnonzero(eligible)[np.argmax(score[eligible])])
        starts.append(best)
        free[max(0, best - frames_per_window + 1) : best + frames_per_window] = False
        eligible = free & (active_share >= min_active_fraction)
    return [(start * frame, audio[start * frame : start * frame + size]) for start in sorted(starts)]


class Esc50Source:
    """ESC-50 mapped to animals / environment / noise / human_nonspeech (all NONSPEECH).

    The leakage group is ``src_file``, the freesound recording a clip was cut from: several clips
    (takes A, B, C, ...) come from one recording and must not straddle splits.
    """

    name = "esc50"

    def __init__(
        self,
        root: str | Path,
        seed: int,
        segment_ms: int = 2000,
        max_windows: int = 2,
        min_ms: int = 1000,
        folds: tuple[int, ...] = (1, 2, 3, 4, 5),
        min_active_fraction: float = 0.5,
    ) -> None:
        """``max_windows``: 2, because two non-overlapping 2 s windows are all a 5 s clip holds.
        ``folds``: the ESC-50 folds to use (all five by default). ``min_active_fraction``: share
        of non-silent 10 ms frames a second window needs (see ``loudest_windows``)."""
        if not 0.0 <= min_active_fraction <= 1.0:
            raise ConfigError(f"min_active_fraction must be in [0, 1], got {min_active_fraction}")
        self.root = Path(root)
        self.seed = seed
        self.windowing = Windowing(segment_ms, max_windows, min_ms)
        self.min_active_fraction = min_active_fraction
        self.skipped = SkipLog()
        self._rows = self._read_metadata(tuple(folds))

    def _read_metadata(self, folds: tuple[int, ...]) -> pd.DataFrame:
        csv = self.root / "meta" / "esc50.csv"
        if not csv.is_file():
            raise MissingInputError(f"{csv}: no such file; {LAYOUT}")
        if not (self.root / "audio").is_dir():
            raise MissingInputError(f"{self.root / 'audio'}: no such folder; {LAYOUT}")
        rows = pd.read_csv(csv)
        missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
        if missing:
            raise BadInputError(f"{csv}: missing columns {missing}; ESC-50's metadata has {list(REQUIRED_COLUMNS)}")
        unknown = sorted(set(rows["category"]) - set(ESC50_CATEGORIES))
        if unknown:
            raise BadInputError(f"{csv}: classes {unknown} are not ESC-50 classes; known: {sorted(ESC50_CATEGORIES)}")
        rows = rows[rows["fold"].isin(folds)]
        rows = rows.assign(our_category=rows["category"].map(ESC50_CATEGORIES))
        return rows.sort_values("filename").reset_index(drop=True)

    def categories(self) -> dict[str, str]:
        return {name: NONSPEECH for name in sorted(set(self._rows["our_category"]))}

    def group_material(self, category: str) -> dict[str, float]:
        return material_by_group(self._metas(category), self.windowing, self.root, self.skipped)

    def _metas(self, category: str) -> list[FileMeta]:
        require_category(category, self.categories(), self.name)
        rows = self._rows[self._rows["our_category"] == category]
        return [
            FileMeta(self.root / "audio" / filename, NONSPEECH, category, f"{self.name}:{src_file}")
            for filename, src_file in zip(rows["filename"], rows["src_file"], strict=True)
        ]

    def iter_segments(self, category: str) -> Iterator[Segment]:
        ordered = seeded_order(self._metas(category), self.seed, category)
        return segments_from_files(
            ordered,
            self.root,
            self.name,
            self.windowing,
            self.skipped,
            pick=lambda audio: loudest_windows(audio, self.windowing, self.min_active_fraction),
        )
