"""SpecAugment (Park et al. 2019) on Whisper log-mel features, for training batches only.

Each augmented example gets one frequency mask (up to F mel bins) and one time mask (up to a
fraction of its own valid frames), both inside its valid frames: the padding frames after a
short clip are left exactly as the feature extractor made them, since the model masks them
anyway and the short-clip encoder relies on their values. Masked cells take the mean of the
example's valid features: Whisper's log-mel scale has no neutral zero, and the clip's own mean
hides the band without adding a level the clip never had.

Each example's masks come from its own generator (seeded per example and epoch, see
qwen_vad.training.examples), so they are reproducible and a resumed run draws the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from qwen_vad.config import SpecAugmentConfig
from qwen_vad.errors import ConfigError


class SpecAugment:
    def __init__(self, cfg: SpecAugmentConfig) -> None:
        if not 0.0 <= cfg.probability <= 1.0:
            raise ConfigError(f"finetune.specaugment.probability must be in [0, 1], got {cfg.probability}")
        if cfg.freq_mask_bins < 0:
            raise ConfigError(f"finetune.specaugment.freq_mask_bins must be >= 0, got {cfg.freq_mask_bins}")
        if not 0.0 <= cfg.time_mask_fraction < 1.0:
            raise ConfigError(f"finetune.specaugment.time_mask_fraction must be in [0, 1), got {cfg.time_mask_fraction}")
        self.cfg = cfg

    @property
    def enabled(self) -> bool:
        return self.cfg.probability > 0 and (self.cfg.freq_mask_bins > 0 or self.cfg.time_mask_fraction > 0)

    def __call__(
        self, features: torch.Tensor, feature_attention_mask: torch.Tensor, generators: Sequence[torch.Generator]
    ) -> torch.Tensor:
        """A masked copy of ``features`` (batch, mel bins, frames), one generator per example;
        the input is left untouched."""
        augmented = features.clone()
        mel_bins = features.shape[1]
        valid_counts = feature_attention_mask.sum(dim=-1).tolist()
        for row, (valid_frames, generator) in enumerate(zip(valid_counts, generators, strict=True)):
            if valid_frames == 0 or torch.rand((), generator=generator) >= self.cfg.probability:
                continue
            valid = augmented[row, :, :valid_frames]  # a view: masking it masks the batch
            fill = valid.mean()
            bins = _random_int(min(self.cfg.freq_mask_bins, mel_bins), generator)
            first_bin = _random_int(mel_bins - bins, generator)
            valid[first_bin : first_bin + bins, :] = fill
            frames = _random_int(math.floor(self.cfg.time_mask_fraction * valid_frames), generator)
            first_frame = _random_int(valid_frames - frames, generator)
            valid[:, first_frame : first_frame + frames] = fill
        return augmented


def _random_int(high: int, generator: torch.Generator) -> int:
    """Uniform on 0..high inclusive."""
    return int(torch.randint(high + 1, (), generator=generator).item())
