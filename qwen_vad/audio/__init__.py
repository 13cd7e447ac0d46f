"""Audio I/O, mixing at a target SNR and degradations. Everything is 16 kHz mono float32."""

from qwen_vad.audio.io import SAMPLE_RATE, AudioError, load_audio, save_audio, to_mono_16k

__all__ = ["SAMPLE_RATE", "AudioError", "load_audio", "save_audio", "to_mono_16k"]
