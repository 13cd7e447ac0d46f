"""Run Qwen2-Audio's audio encoder on the frames a short clip needs instead of on 30 s.

The stock `Qwen2AudioEncoder.forward` only accepts 3000 mel frames (30 s): every clip is padded
to 30 s, both convolutions and all 32 transformer layers run over 1500 positions, and all but a
few dozen of the resulting 750 audio tokens are thrown away. A 0.2-s clip needs 11 encoder
positions, not 1500: over 100x less encoder work.

Why cutting the input is exact (transformers 5.23, `Qwen2AudioModel.forward`): the model builds
an attention mask from `feature_attention_mask` that hides every encoder position past the clip
(`audio_feat_lengths`) from the keys of every layer, then keeps only the first
`audio_output_lengths` pooled positions of each clip. So positions past a clip never influence
its kept tokens, except through the two convolutions at the clip's end, whose receptive field
reaches 1-2 mel frames of padding (conv1: kernel 3, stride 1; conv2: kernel 3, stride 2).
Keeping those frames, with the same values, makes the result equal up to float rounding:

  mel frames of clip (stock mask)       M  = ceil(samples / 160)
  encoder positions attended (conv2)    L1 = (M - 1) // 2 + 1
  audio tokens (avg-pool, stride 2)     T  = (L1 - 2) // 2 + 1
  conv2 position L1-1 reads conv1 outputs up to 2*L1-1, which read mel frames up to 2*L1,
  so 2*L1 + 1 frames are needed; one more keeps the count even (see below).

The padding frames must hold what the stock extractor puts there: the log-mel of zeros,
clamped at (clip max - 8). The Whisper extractor computes that for any padded length as long
as the padded waveform ends in silence that covers the STFT's reflect padding (200 samples);
padding to `mel_frames * 160` samples leaves at least 2 frames (320 samples) of zeros (below
the 3000-frame cap, where the input is the stock one), and the per-clip maximum is taken over
frames that all exist in both paths. Padding to the longest clip (`padding="longest"`) would
not be exact: the longest clip would lose its padding frames and its STFT would reflect audio.

Nothing in site-packages is edited: `use_short_clip_encoder(model, True)` switches the model's
encoder instance to the `ShortClipQwen2AudioEncoder` subclass (same parameters, same module
tree, so PEFT wrapping, registered hooks, gradient checkpointing and saving are unaffected),
and back with `False`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutput
from transformers.models.qwen2_audio.modeling_qwen2_audio import Qwen2AudioEncoder

# WhisperFeatureExtractor as configured for Qwen2-Audio: 10-ms hop, 30-s window.
MEL_HOP_LENGTH = 160
MAX_MEL_FRAMES = 3000


def mel_frames_for_clips(num_samples: Iterable[int]) -> int:
    """Mel frames the short-clip encoder needs for a batch of clips of these sample counts.

    Covers the longest clip plus the padding frames its convolutions read, rounded up to an even
    count (the model sizes its encoder mask as `(frames - 2) // 2 + 1`, which equals conv2's
    output length only for even frame counts). Never more than the stock 3000 frames, at which
    point the result is the stock input itself.
    """
    longest = max(num_samples)
    if longest <= 0:
        raise ValueError(f"clips must hold at least one sample, the longest holds {longest}")
    clip_frames = math.ceil(longest / MEL_HOP_LENGTH)
    encoder_positions = (clip_frames - 1) // 2 + 1
    needed_frames = 2 * encoder_positions + 2
    return min(needed_frames, MAX_MEL_FRAMES)


def audio_tokens_for_samples(num_samples: int) -> int:
    """Audio tokens Qwen2-Audio gives a clip of ``num_samples`` at 16 kHz (the formulas above):
    0 for 20 ms (2 mel frames), 1 for 40-60 ms, 5 for 0.2 s, 25 for 1 s, 750 for 30 s and more."""
    mel_frames = min(math.ceil(num_samples / MEL_HOP_LENGTH), MAX_MEL_FRAMES)
    encoder_positions = (mel_frames - 1) // 2 + 1
    return max(0, (encoder_positions - 2) // 2 + 1)


class ShortClipQwen2AudioEncoder(Qwen2AudioEncoder):
    """Qwen2AudioEncoder that accepts any even number of mel frames up to 3000.

    Same computation as the stock forward, on `frames // 2` positions with the matching slice of
    the position embeddings. Correct only together with the attention mask the model builds from
    `feature_attention_mask` (which it always passes) and features from `mel_frames_for_clips`.
    Per-layer outputs (`output_hidden_states`/`output_attentions`) are not recorded: the
    Qwen2-Audio model never asks its encoder for them.
    """

    def forward(
        self, input_features: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> BaseModelOutput:
        frames = input_features.shape[-1]
        max_frames = self.config.max_source_positions * self.conv1.stride[0] * self.conv2.stride[0]
        if frames % 2 or not 0 < frames <= max_frames:
            raise ValueError(
                f"the short-clip encoder takes an even number of mel frames up to {max_frames}, "
                f"got {frames}; compute the features with "
                "qwen_vad.models.rendering.build_model_inputs(short_clip_features=True)"
            )
        weight = self.conv1.weight
        input_features = input_features.to(dtype=weight.dtype, device=weight.device)

        inputs_embeds = nn.functional.gelu(self.conv1(input_features))
        inputs_embeds = nn.functional.gelu(self.conv2(inputs_embeds))
        inputs_embeds = inputs_embeds.permute(0, 2, 1)
        # Position i of a short input is position i of the 30-s input: same embedding row.
        hidden_states = inputs_embeds + self.embed_positions.weight[: inputs_embeds.shape[1]]
        hidden_states = nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)

        for encoder_layer in self.layers:
            # LayerDrop, as in the stock forward (0 in Qwen2-Audio's config, so normally a no-op).
            if self.training and self.layerdrop > 0.0 and torch.rand([]) < self.layerdrop:
                continue
            hidden_states = encoder_layer(hidden_states, attention_mask)

        hidden_states = self.avg_pooler(hidden_states.permute(0, 2, 1)).permute(0, 2, 1)
        hidden_states = self.layer_norm(hidden_states)
        return BaseModelOutput(last_hidden_state=hidden_states)


def find_audio_encoders(model: nn.Module) -> list[Qwen2AudioEncoder]:
    """The Qwen2-Audio audio encoder(s) inside ``model`` (bare, PEFT-wrapped or quantized).

    Usually one; two when peft trains the encoder in full (``modules_to_save`` keeps the
    original beside the trained copy, and either may run), so both are switched together.
    """
    encoders = [module for module in model.modules() if isinstance(module, Qwen2AudioEncoder)]
    if not encoders:
        raise ValueError(f"no Qwen2AudioEncoder in {type(model).__name__}")
    return encoders


def use_short_clip_encoder(model: nn.Module, enabled: bool) -> None:
    """Switch ``model``'s audio encoder between the short-clip forward and the stock one."""
    for encoder in find_audio_encoders(model):
        if type(encoder) not in (Qwen2AudioEncoder, ShortClipQwen2AudioEncoder):
            raise TypeError(f"cannot switch an encoder of type {type(encoder).__name__}")
        if "forward" in vars(encoder):
            # An instance-level forward (accelerate's dispatch hooks for multi-device or offloaded
            # device maps) wraps the class's forward and would silently ignore the switch.
            raise TypeError("the audio encoder's forward is wrapped by a hook; load it on a single device")
        encoder.__class__ = ShortClipQwen2AudioEncoder if enabled else Qwen2AudioEncoder


def uses_short_clip_encoder(model: nn.Module) -> bool:
    """Whether ``model`` expects short-clip features (see `mel_frames_for_clips`)."""
    modes = {isinstance(encoder, ShortClipQwen2AudioEncoder) for encoder in find_audio_encoders(model)}
    if len(modes) != 1:
        raise ValueError("the model's audio encoders disagree on the short-clip path; call use_short_clip_encoder")
    return modes.pop()
