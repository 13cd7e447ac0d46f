"""qwen_vad: can an audio LLM detect speech in very short, noisy clips better than classic VADs?"""

__version__ = "0.1.0"

SPEECH = "SPEECH"
NONSPEECH = "NONSPEECH"
LABELS = (SPEECH, NONSPEECH)
