"""Which token positions carry the loss (``loss.mode``).

Batches are left-padded, as evaluation batches are, so every row ends in the same two tokens:
the answer letter at position -2 and ``<|im_end|>`` at -1. Labels follow the Hugging Face
convention (aligned with ``input_ids``; the loss shifts them by one), with -100 where there is
no loss.
"""

from __future__ import annotations

import torch

from qwen_vad.errors import ConfigError

IGNORE_INDEX = -100  # what torch's cross-entropy skips

ANSWER = "answer"  # the answer letter only
ANSWER_EOS = "answer_eos"  # the answer letter and <|im_end|>
FULL = "full"  # every text token of the prompt and the answer
AB = "ab"  # the answer letter, scored against the other option letter only
LOSS_MODES = (ANSWER, ANSWER_EOS, FULL, AB)

ANSWER_POSITION = -2
END_OF_TURN_POSITION = -1


def check_loss_mode(mode: str) -> None:
    if mode not in LOSS_MODES:
        raise ConfigError(f"unknown loss.mode {mode!r}; choose one of {', '.join(LOSS_MODES)}")


def training_labels(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, mode: str, audio_token_id: int
) -> torch.Tensor:
    """Labels for a left-padded batch whose rows end in [answer letter, <|im_end|>]."""
    check_loss_mode(mode)
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    if mode in (ANSWER, AB):
        labels[:, ANSWER_POSITION] = input_ids[:, ANSWER_POSITION]
    elif mode == ANSWER_EOS:
        labels[:, ANSWER_POSITION:] = input_ids[:, ANSWER_POSITION:]
    else:
        # Padding predicts nothing; audio placeholders stand for encoder outputs, not for tokens
        # the model could predict; a row's first token has no position before it to predict it.
        text = attention_mask.bool() & (input_ids != audio_token_id)
        text &= attention_mask.cumsum(dim=-1) > 1
        labels = torch.where(text, input_ids, labels)
    return labels
