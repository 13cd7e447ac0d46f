"""One synthetic utterance: pick a talker and sentences, speak them, trim, cut to length."""

from __future__ import annotations

import numpy as np

from qwen_vad.audio.io import SAMPLE_RATE
from qwen_vad.data.sources.synth import espeak
from qwen_vad.data.sources.synth.sentences import sentence_bank
from qwen_vad.data.sources.synth.speakers import RATE_RANGE_WPM, Speaker, all_speakers

# Shortest speech segment: the dataset builder cuts centred clips of up to 1000 ms, and 200 ms
# of margin on both sides keeps the longest cut clear of the trimmed utterance's edges.
MIN_SPEECH_MS = 1200

# Ask espeak for this much more speech than needed (estimated from the word count and rate),
# so one call almost always suffices; the surplus becomes the choice of which words we keep.
TEXT_HEADROOM = 1.3


def _text_for(rng: np.random.Generator, language: str, seconds: float, words_per_minute: int) -> str:
    bank = sentence_bank(language)
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) * 60.0 / words_per_minute < seconds * TEXT_HEADROOM:
        sentences.append(bank[int(rng.integers(len(bank)))])
    # Joined without punctuation: one breath group, no sentence-final pause in the middle.
    return " ".join(sentences)


def speak(rng: np.random.Generator, n_samples: int) -> tuple[np.ndarray, Speaker]:
    """A stretch of continuous speech of ``n_samples`` (at least MIN_SPEECH_MS) and its talker.

    The utterance is trimmed of espeak's leading/trailing silence and a window of the wanted
    length is taken at a random offset inside it, so the segment is voice from end to end.
    """
    speakers = all_speakers()
    speaker = speakers[int(rng.integers(len(speakers)))]
    n_samples = max(n_samples, MIN_SPEECH_MS * SAMPLE_RATE // 1000)
    rate = int(rng.integers(RATE_RANGE_WPM[0], RATE_RANGE_WPM[1] + 1))
    pitch = int(rng.integers(speaker.pitch_range[0], speaker.pitch_range[1] + 1))
    audio = np.zeros(0, dtype=np.float32)
    # Short sentences at a fast rate can fall short of the estimate; then say more and try again.
    while audio.size < n_samples:
        text = _text_for(rng, speaker.language, n_samples / SAMPLE_RATE + audio.size / SAMPLE_RATE, rate)
        audio = espeak.trim_silence(espeak.synthesize(text, speaker.espeak_voice, rate, pitch))
    offset = int(rng.integers(audio.size - n_samples + 1))
    return audio[offset : offset + n_samples], speaker
