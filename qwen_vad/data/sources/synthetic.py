"""Built-in offline source: espeak-ng speech and procedural non-speech, deterministic from a seed.

Needs nothing but numpy/scipy and the espeak-ng binary, so the smoke pipeline and the tests can
build a dataset without any corpus download. Two roles:

* target streams (``background=False``): speech, music, animals, noise, environment;
* background pool (``background=True``): a single "noise" category of stationary noises that
  the dataset builder mixes under every target clip to reach a given SNR.

Every segment has its own RNG, derived from ``SeedSequence(seed, spawn_key=(role, category,
index))`` with string tags turned into integers by CRC-32 (never Python's salted ``hash``), so
segment ``k`` of a category is the same bytes in every process, whatever was drawn before it,
and the background pool's seed space is disjoint from the targets'.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator

import numpy as np

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.data.sources.base import Segment
from qwen_vad.data.sources.synth import animals, environment, music, noise
from qwen_vad.data.sources.synth.dsp import SoundGenerator, coloured_noise
from qwen_vad.data.sources.synth.speech import speak
from qwen_vad.errors import ConfigError

# Sub-type generators of each non-speech target category.
NONSPEECH_GENERATORS: dict[str, dict[str, SoundGenerator]] = {
    "music": music.GENERATORS,
    "animals": animals.GENERATORS,
    "noise": noise.GENERATORS,
    "environment": environment.GENERATORS,
}

# Peaks drawn per segment, identically for every category, so that loudness says nothing about
# the label; well below 1.0 so SNR mixing can add noise without clipping.
PEAK_RANGE = (0.2, 0.6)

# A recording floor this far under the peak: inaudible, but no segment, and no cut of one, is
# ever digital silence (clean clips must not be all-zero, and SNR mixing needs signal power).
FLOOR_DB = -60.0

# The dataset builder cuts clips around the segment centre. Sparse generators (drips, bird
# phrases, barks) can leave the middle empty; a non-speech segment whose central 200 ms is this
# far below its overall level is drawn again (same RNG stream, so still deterministic).
CENTRE_WINDOW_MS = 200
CENTRE_MIN_DB = -30.0
MAX_DRAWS = 20

# Role tags: part of every seed and of every group/origin, which is what keeps the background
# pool disjoint from the target streams in both seed space and naming.
TARGET_ROLE = "synthetic"
BACKGROUND_ROLE = "synthetic-background"


def _tag(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class SyntheticSource:
    """Endless, seeded streams of clean segments; see the module docstring for the two roles."""

    name = "synthetic"

    def __init__(self, seed: int, segment_ms: int = 2000, background: bool = False) -> None:
        if segment_ms <= 0:
            raise ConfigError(f"segment_ms must be positive, got {segment_ms}")
        if seed < 0:
            raise ConfigError(f"seed must be a non-negative integer (numpy SeedSequence entropy), got {seed}")
        self.seed = int(seed)
        self.segment_ms = int(segment_ms)
        self.background = background
        self._role = BACKGROUND_ROLE if background else TARGET_ROLE

    def categories(self) -> dict[str, str]:
        if self.background:
            return {"noise": NONSPEECH}
        return {"speech": SPEECH, **{category: NONSPEECH for category in NONSPEECH_GENERATORS}}

    def iter_segments(self, category: str) -> Iterator[Segment]:
        """Segments 0, 1, 2, ... of ``category``; never ends, same order for the same seed."""
        self._check_category(category)
        for index in itertools.count():
            yield self.segment(category, index)

    def group_material(self, category: str) -> None:
        """None: the streams are endless, so their groups cannot be listed; the split of a
        synthetic group is a hash of it (``qwen_vad.data.splits.split_of_group``)."""
        self._check_category(category)
        return None

    def segment(self, category: str, index: int) -> Segment:
        """Segment number ``index`` of ``category``, computed independently of all others."""
        self._check_category(category)
        rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(_tag(self._role), _tag(category), index))
        )
        n_samples = self.segment_ms * SAMPLE_RATE // 1000
        if category == "speech":
            audio, speaker = speak(rng, n_samples)
            group = f"{self._role}:speech:{speaker.id}"
            origin = f"{self._role}://speech/{speaker.id}/seed{self.seed}/{index}@0.000s"
        else:
            subtypes = self._generators(category)
            # Round-robin over sub-types: every prefix of the stream is balanced between them.
            subtype = list(subtypes)[index % len(subtypes)]
            audio = _draw_with_active_centre(subtypes[subtype], rng, n_samples)
            group = f"{self._role}:{category}:seed{self.seed}:{index}"
            origin = f"{self._role}://{category}/seed{self.seed}/{subtype}/{index}@0.000s"
        return Segment(
            audio=_add_floor(rng, _normalise_peak(audio, rng.uniform(*PEAK_RANGE))),
            label=self.categories()[category],
            category=category,
            source=self.name,
            group=group,
            origin=origin,
        )

    def subtypes(self, category: str) -> tuple[str, ...]:
        """Generators behind a category in round-robin order (segment k uses entry k mod len);
        empty for speech, whose variety comes from the talkers instead."""
        self._check_category(category)
        return tuple(self._generators(category)) if category != "speech" else ()

    def _generators(self, category: str) -> dict[str, SoundGenerator]:
        return noise.BACKGROUND_GENERATORS if self.background else NONSPEECH_GENERATORS[category]

    def _check_category(self, category: str) -> None:
        if category not in self.categories():
            pool = "background pool" if self.background else "target streams"
            raise ConfigError(
                f"synthetic source ({pool}) has no category {category!r}; choose one of {sorted(self.categories())}"
            )


def _draw_with_active_centre(generator: SoundGenerator, rng: np.random.Generator, n_samples: int) -> np.ndarray:
    for _ in range(MAX_DRAWS):
        audio = generator(rng, n_samples)
        if _centre_level_db(audio) >= CENTRE_MIN_DB:
            return audio
    # Generators keep their events dense enough that this is practically unreachable; a quiet
    # centre is still a valid non-speech clip, so keep the last draw rather than fail.
    return audio


def _centre_level_db(audio: np.ndarray) -> float:
    """RMS of the central CENTRE_WINDOW_MS relative to the whole segment's RMS, in dB."""
    half = CENTRE_WINDOW_MS * SAMPLE_RATE // 2000
    middle = audio.size // 2
    centre_power = np.mean(audio[max(0, middle - half) : middle + half] ** 2)
    total_power = np.mean(audio**2)
    if not np.isfinite(total_power) or total_power == 0.0 or centre_power == 0.0:
        return -np.inf  # silent (e.g. a sparse generator drew no events): never acceptable
    return float(10 * np.log10(centre_power / total_power))


def _normalise_peak(audio: np.ndarray, peak: float) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    top = np.max(np.abs(audio))
    if not np.isfinite(top) or top == 0.0:
        raise RuntimeError("a synthetic generator produced silent or non-finite audio")
    return audio * (peak / top)


def _add_floor(rng: np.random.Generator, audio: np.ndarray) -> np.ndarray:
    """``audio`` plus pink noise FLOOR_DB under its peak, as float32."""
    floor_rms = np.max(np.abs(audio)) * 10 ** (FLOOR_DB / 20)
    return (audio + coloured_noise(rng, audio.size, exponent=1.0) * floor_rms).astype(np.float32)
