"""The synthetic talkers: espeak-ng voice x variant x pitch bucket, each one leakage group."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from qwen_vad.data.sources.synth import espeak

# espeak-ng voice -> language of the sentences it reads. Voices without a sentence bank of
# their own (Dutch, Brazilian Portuguese) read English, i.e. speak it with their accent.
VOICES: dict[str, str] = {
    "en-us": "en",
    "en-gb": "en",
    "en-gb-x-rp": "en",
    "en-gb-scotland": "en",
    "en-gb-x-gbclan": "en",
    "en-us-nyc": "en",
    "en-029": "en",
    "de": "de",
    "fr-fr": "fr",
    "es": "es",
    "it": "it",
    "nl": "en",
    "pt-br": "en",
}

# Voice variants that change the timbre. Left out on purpose: the whisper voices and the very
# breathy ones (voicing < 40: Annie, Alicia, Denis, michel, ...), whose output is largely
# unvoiced, and those built on klatt mode 6, which this espeak-ng renders identically to "klatt".
VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8",
    "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5",
    "croak", "Andy", "belinda", "linda", "norbert", "quincy", "rob", "travis", "zac",
)  # fmt: skip

# espeak-ng `-p` (0-99) in three buckets; a bucket is part of the speaker's identity, the exact
# pitch inside it varies from utterance to utterance like a real talker's does.
PITCH_BUCKETS: dict[str, tuple[int, int]] = {"low": (25, 41), "mid": (42, 58), "high": (59, 75)}

# Speaking rates (words per minute) drawn per utterance; espeak's default is 175.
RATE_RANGE_WPM = (120, 200)


@dataclass(frozen=True)
class Speaker:
    voice: str  # espeak-ng language voice, e.g. "en-gb-x-rp"
    variant: str  # espeak-ng variant, e.g. "f3"
    pitch_bucket: str  # key of PITCH_BUCKETS

    @property
    def id(self) -> str:
        """Stable name, e.g. ``en-us+f3.high``; used in leakage groups and origins."""
        return f"{self.voice}+{self.variant}.{self.pitch_bucket}"

    @property
    def espeak_voice(self) -> str:
        return f"{self.voice}+{self.variant}"

    @property
    def language(self) -> str:
        return VOICES[self.voice]

    @property
    def pitch_range(self) -> tuple[int, int]:
        return PITCH_BUCKETS[self.pitch_bucket]


@functools.cache
def all_speakers() -> tuple[Speaker, ...]:
    """Every talker, in a fixed order; fails if the installed espeak-ng lacks a voice we need.

    A missing voice is an error rather than silently skipped: espeak-ng would fall back to its
    default voice, and a smaller table would change which talker each seed draws.
    """
    missing = sorted(set(VOICES) - espeak.installed_languages()) + sorted(
        f"+{v}" for v in set(VARIANTS) - espeak.installed_variants()
    )
    if missing:
        raise espeak.EspeakNotFoundError(
            f"the installed espeak-ng lacks voices the synthetic source needs: {', '.join(missing)}; "
            f"install the full `espeak-ng` package (apt-get install espeak-ng espeak-ng-data)"
        )
    return tuple(
        Speaker(voice, variant, bucket) for voice in VOICES for variant in VARIANTS for bucket in PITCH_BUCKETS
    )
