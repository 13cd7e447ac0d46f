"""Training batches on the tiny checkpoint: label masks per loss mode, prompt augmentation,
SpecAugment bounds, the loss, and gradients through the short-clip encoder path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoProcessor, ProcessorMixin

from qwen_vad.cli import compose_config
from qwen_vad.config import SpecAugmentConfig
from qwen_vad.models.families import family_named
from qwen_vad.models.fast_encoder import use_short_clip_encoder
from qwen_vad.prompts import PromptTemplate, load_prompt
from qwen_vad.training.collator import TrainingCollator
from qwen_vad.training.examples import ClipDataset, LabelledClip, TrainingExample
from qwen_vad.training.labels import IGNORE_INDEX, LOSS_MODES
from qwen_vad.training.loss import AnswerLoss
from qwen_vad.training.model_setup import load_trainable_model
from qwen_vad.training.prompt_sampling import PromptSampler
from qwen_vad.training.specaugment import SpecAugment

SECONDS = [0.2, 1.0, 0.3, 0.5]
IS_SPEECH = [True, False, False, True]
NO_AUGMENT = SpecAugmentConfig(probability=0.0)
QWEN2_AUDIO = family_named("qwen2_audio")


@pytest.fixture(scope="module")
def processor(tiny_checkpoint: Path) -> ProcessorMixin:
    return AutoProcessor.from_pretrained(tiny_checkpoint)


def examples(seconds: list[float] = SECONDS, is_speech: list[bool] = IS_SPEECH, epoch: int = 0) -> list[TrainingExample]:
    rng = np.random.default_rng(0)
    clips = [
        LabelledClip(clip_id=f"clip{i}", audio=(0.1 * rng.standard_normal(round(s * 16_000))).astype(np.float32), is_speech=speech)
        for i, (s, speech) in enumerate(zip(seconds, is_speech, strict=True))
    ]
    dataset = ClipDataset(clips, seed=0)
    dataset.set_epoch(epoch)
    return [dataset[i] for i in range(len(dataset))]


def collator(processor: ProcessorMixin, mode: str, prompts: list[str] = ("baseline",), augment: SpecAugmentConfig = NO_AUGMENT,
             short_clip_features: bool = True) -> TrainingCollator:  # fmt: skip
    sampler = PromptSampler(processor, [load_prompt(p) for p in prompts], system_prompt=None, family=QWEN2_AUDIO)
    return TrainingCollator(processor, sampler, mode, SpecAugment(augment), short_clip_features)


def decode(processor: ProcessorMixin, ids: torch.Tensor) -> str:
    return processor.tokenizer.decode(ids.tolist())


@pytest.mark.parametrize("mode", LOSS_MODES)
def test_labels_sit_where_the_loss_mode_says_and_decode_to_the_answer(processor: ProcessorMixin, mode: str) -> None:
    batch = collator(processor, mode)(examples())
    labels, input_ids, attention = batch["labels"], batch["input_ids"], batch["attention_mask"]
    assert attention[:, -1].all() and not attention[:, 0].all(), "rows are left-padded, like evaluation batches"
    letters = ["A" if speech else "B" for speech in IS_SPEECH]
    for row, letter in enumerate(letters):
        labelled = (labels[row] != IGNORE_INDEX).nonzero().flatten().tolist()
        width = input_ids.shape[1]
        if mode in ("answer", "ab"):
            assert labelled == [width - 2]
            assert decode(processor, labels[row, labelled]) == letter
        elif mode == "answer_eos":
            assert labelled == [width - 2, width - 1]
            assert decode(processor, labels[row, labelled]) == f"{letter}<|im_end|>"
        else:
            real = attention[row].nonzero().flatten().tolist()
            audio = (input_ids[row] == processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")).nonzero().flatten().tolist()
            assert audio, "the clip's audio placeholders are in the sequence"
            assert labelled == [p for p in real[1:] if p not in audio]
            text = decode(processor, labels[row, labelled])
            assert text.startswith("system\nYou are a helpful assistant.") and "Choose one:" in text
            assert text.endswith(f"<|im_start|>assistant\n{letter}<|im_end|>")
        assert torch.equal(labels[row, labelled], input_ids[row, labelled])


def test_batches_match_what_evaluation_scores(processor: ProcessorMixin) -> None:
    # The text before the answer is the evaluation prompt, and positions start at each row's first token.
    from qwen_vad.models.rendering import render_prompt

    batch = collator(processor, "answer")(examples())
    prompt_ids = processor.tokenizer(render_prompt(processor, load_prompt("baseline").text), add_special_tokens=False).input_ids
    audio = processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    for row in range(len(SECONDS)):
        real = batch["input_ids"][row, batch["attention_mask"][row].bool()].tolist()[:-2]
        collapsed = [t for i, t in enumerate(real) if t != audio or real[i - 1] != audio]  # one placeholder per clip
        assert collapsed == prompt_ids
        positions = batch["position_ids"][row, batch["attention_mask"][row].bool()]
        assert positions.tolist() == list(range(len(real) + 2))


def test_prompt_augmentation_follows_each_templates_letters(processor: ProcessorMixin) -> None:
    batch_collator = collator(processor, "answer", prompts=["baseline", "swapped_baseline"])
    many = examples([0.2] * 32, [True] * 16 + [False] * 16)
    batch = batch_collator(many)
    answers = [decode(processor, row[-2:-1]) for row in batch["labels"]]
    texts = [decode(processor, row) for row in batch["input_ids"]]
    swapped = ["A) NONSPEECH" in text for text in texts]
    assert 0 < sum(swapped) < len(many), "both templates are drawn"
    for example, answer, is_swapped in zip(many, answers, swapped, strict=True):
        expected = {(True, False): "A", (False, False): "B", (True, True): "B", (False, True): "A"}
        assert answer == expected[(example.clip.is_speech, is_swapped)]
    assert torch.equal(batch_collator(many)["input_ids"], batch["input_ids"]), "the draw follows the examples' seeds"
    next_epoch = batch_collator(examples([0.2] * 32, [True] * 16 + [False] * 16, epoch=1))
    assert not torch.equal(next_epoch["input_ids"], batch["input_ids"]), "each epoch draws again"


def test_ab_loss_needs_one_letter_pair_and_open_prompts_are_refused(processor: ProcessorMixin) -> None:
    yes_no = PromptTemplate(id="yes_no", text="Speech?\nY) yes\nN) no", speech_option="Y", nonspeech_option="N")
    mixed = PromptSampler(processor, [load_prompt("baseline"), yes_no], system_prompt=None, family=QWEN2_AUDIO)
    with pytest.raises(ValueError, match="same two option letters"):
        mixed.option_pair()
    assert PromptSampler(processor, [load_prompt("baseline"), load_prompt("swapped_baseline")], None, QWEN2_AUDIO).option_pair() is not None
    with pytest.raises(ValueError, match="open-ended"):
        PromptSampler(processor, [load_prompt("open_what_do_you_hear")], system_prompt=None, family=QWEN2_AUDIO)


def test_answer_loss_is_the_cross_entropy_of_the_answer_token(processor: ProcessorMixin) -> None:
    batch = collator(processor, "answer")(examples())
    logits = torch.randn(*batch["input_ids"].shape, len(processor.tokenizer) + 8)
    outputs = type("Output", (), {"logits": logits})()
    answer_ids = batch["input_ids"][:, -2]
    expected = torch.nn.functional.cross_entropy(logits[:, -3], answer_ids)
    torch.testing.assert_close(AnswerLoss("answer", None)(outputs, batch["labels"]), expected)
    # Gradient accumulation: the sum is divided by the items of the whole accumulated batch.
    torch.testing.assert_close(AnswerLoss("answer", None)(outputs, batch["labels"], num_items_in_batch=8), expected * 4 / 8)

    speech_id, nonspeech_id = (processor.tokenizer.convert_tokens_to_ids(t) for t in ("A", "B"))
    pair = tuple(sorted((speech_id, nonspeech_id)))
    target = (answer_ids == pair[1]).long()
    expected_ab = torch.nn.functional.cross_entropy(logits[:, -3][:, list(pair)], target)
    torch.testing.assert_close(AnswerLoss("ab", pair)(outputs, batch["labels"]), expected_ab)


def test_specaugment_masks_only_valid_frames_within_its_bounds() -> None:
    cfg = SpecAugmentConfig(probability=0.5, freq_mask_bins=10, time_mask_fraction=0.05)
    augment = SpecAugment(cfg)
    generator = torch.Generator().manual_seed(0)
    valid_lengths = [20, 50, 100, 31, 300, 8] * 50
    frames = max(valid_lengths) + 12
    features = torch.randn(len(valid_lengths), 128, frames, generator=generator)
    mask = torch.zeros(len(valid_lengths), frames, dtype=torch.long)
    for row, valid in enumerate(valid_lengths):
        mask[row, :valid] = 1
    original = features.clone()

    def generators() -> list[torch.Generator]:
        return [torch.Generator().manual_seed(row) for row in range(len(valid_lengths))]

    augmented = augment(features, mask, generators())

    assert torch.equal(features, original), "the input is not modified"
    touched_rows = 0
    for row, valid in enumerate(valid_lengths):
        changed = augmented[row] != original[row]
        assert not changed[:, valid:].any(), "padding frames are never masked"
        if not changed.any():
            continue
        touched_rows += 1
        fill = augmented[row][changed].unique()
        assert fill.numel() == 1, "masked cells take one fill value"
        assert torch.isclose(fill[0], original[row, :, :valid].mean())
        in_clip = changed[:, :valid]
        time_columns = in_clip.all(dim=0).nonzero().flatten()  # 128 bins: only the time mask fills a column
        if time_columns.numel():
            assert time_columns.numel() <= math.floor(cfg.time_mask_fraction * valid)
            assert time_columns.max() - time_columns.min() + 1 == time_columns.numel(), "one contiguous time mask"
        outside_time_mask = in_clip.clone()
        outside_time_mask[:, time_columns] = False
        band_rows = outside_time_mask.any(dim=1).nonzero().flatten()
        if band_rows.numel():
            assert band_rows.numel() <= cfg.freq_mask_bins
            assert band_rows.max() - band_rows.min() + 1 == band_rows.numel(), "one contiguous frequency band"
            assert outside_time_mask[band_rows].all(dim=0).sum() == valid - time_columns.numel(), "the band spans the clip"
    # About half of the examples are augmented (a few draw empty masks): binomial bounds.
    assert 0.35 * len(valid_lengths) < touched_rows < 0.6 * len(valid_lengths)
    assert torch.equal(augment(features, mask, generators()), augmented), "masks follow the seeds"
    assert torch.equal(SpecAugment(NO_AUGMENT)(features, mask, generators()), original)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (SpecAugmentConfig(probability=1.5), "probability"),
        (SpecAugmentConfig(freq_mask_bins=-1), "freq_mask_bins"),
        (SpecAugmentConfig(time_mask_fraction=1.0), "time_mask_fraction"),
    ],
)
def test_specaugment_rejects_impossible_settings(cfg: SpecAugmentConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SpecAugment(cfg)


def test_lora_gradients_are_the_same_through_the_short_clip_encoder(processor: ProcessorMixin, tiny_checkpoint: Path) -> None:
    # No LoRA dropout: its random masks would differ between the two passes.
    overrides = [f"model.name_or_path={tiny_checkpoint}", "finetune.train_in_full=[multi_modal_projector]", "finetune.lora.dropout=0"]
    cfg, _ = compose_config(["exp=smoke", *overrides])
    model, _ = load_trainable_model(cfg, "cpu")
    with torch.no_grad():  # a trained adapter: B = 0 at the start would leave A without gradient
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.1, generator=torch.Generator().manual_seed(0))
    model.train()
    loss = AnswerLoss("answer", None)

    def gradients(short_clip: bool) -> dict[str, torch.Tensor]:
        use_short_clip_encoder(model, short_clip)
        batch = collator(processor, "answer", short_clip_features=short_clip)(examples())
        model.zero_grad(set_to_none=True)
        labels = batch.pop("labels")
        loss(model(**batch), labels).backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.requires_grad}

    short, stock = gradients(short_clip=True), gradients(short_clip=False)
    assert any("lora_B" in name for name in short) and any("multi_modal_projector" in name for name in short)
    assert not any("audio_tower" in name for name in short), "the encoder stays frozen"
    for name, grad in stock.items():
        assert grad.abs().max() > 0, name
        torch.testing.assert_close(short[name], grad, rtol=1e-4, atol=1e-6, msg=name)
