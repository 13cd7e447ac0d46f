"""The loss the trainer minimises, given as the Trainer's ``compute_loss_func``.

Summed over the labelled positions and divided by ``num_items_in_batch`` (the labelled positions
of the whole accumulated batch, across processes), which is what makes gradient accumulation
and data parallelism give the gradient of one big batch; the Trainer passes it to this hook.
Only the labelled positions' logits are cast to float32 and scored, never the whole
(batch x sequence x 152k vocabulary) tensor.
"""

from __future__ import annotations

import torch
from torch.nn import functional
from transformers.modeling_outputs import ModelOutput

from qwen_vad.training.labels import AB, IGNORE_INDEX, check_loss_mode


class AnswerLoss:
    """Token cross-entropy over the vocabulary, or (``ab``) over the two option letters only."""

    def __init__(self, mode: str, option_pair: tuple[int, int] | None) -> None:
        check_loss_mode(mode)
        if mode == AB and option_pair is None:
            raise ValueError("loss.mode=ab needs the two option token ids")
        self.mode, self.option_pair = mode, option_pair

    def __call__(
        self, outputs: ModelOutput, labels: torch.Tensor, num_items_in_batch: torch.Tensor | int | None = None
    ) -> torch.Tensor:
        logits = outputs.logits
        # Position t's logits predict token t + 1.
        targets = labels[:, 1:].to(logits.device)
        scored = targets != IGNORE_INDEX
        picked_logits = logits[:, :-1][scored].float()
        picked_targets = targets[scored]
        if self.mode == AB:
            pair = torch.tensor(self.option_pair, device=logits.device)
            picked_logits = picked_logits[:, pair]
            picked_targets = (picked_targets == pair[1]).long()  # index of the right letter in the pair
        total = functional.cross_entropy(picked_logits, picked_targets, reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else scored.sum()
        return total / count
