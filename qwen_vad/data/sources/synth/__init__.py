"""Building blocks of the offline synthetic source (qwen_vad.data.sources.synthetic).

Speech comes from the espeak-ng binary; every non-speech category is generated procedurally
with numpy/scipy. Each generator module exposes a ``GENERATORS`` mapping from sub-type name
to a function ``(rng, n_samples) -> float64 audio`` whose scale is arbitrary: the source
normalises the peak afterwards, identically for every category, so level is no label cue.
"""
