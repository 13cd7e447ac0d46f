"""Proposal parsing, normalisation, letter mapping and rejection (qwen_vad.opro.candidates)."""

from __future__ import annotations

import pytest

from qwen_vad.opro.candidates import extract_proposals, letter_mapping, make_candidate, normalize_prompt
from qwen_vad.prompts import list_prompts, load_prompt

VALID = "Is someone talking?\nA) Yes, a human voice\nB) No, only other sounds\n\nAnswer A or B."


def candidate(text: str, max_chars: int = 800, swappable: bool = False):
    return make_candidate(text, "s01c00", "OPRO step 1", max_chars, swappable)


def test_every_tagged_block_is_a_proposal_and_untagged_text_is_none() -> None:
    raw = "Sure! <PROMPT>first</PROMPT> and a second one:\n<prompt>\nsecond\n</prompt> <PROMPT>cut off"
    assert extract_proposals(raw) == ["first", "\nsecond\n"]
    assert extract_proposals("A) yes\nB) no") == []


def test_normalisation_removes_only_what_a_reader_would_not_call_different() -> None:
    messy = '```text\n"Is someone talking?  \r\nA) Yes, a human voice\n\n\n\nB) No, only other sounds"\n```'
    assert normalize_prompt(messy) == "Is someone talking?\nA) Yes, a human voice\n\nB) No, only other sounds"
    assert normalize_prompt("  Hello\n") == normalize_prompt("Hello")
    assert normalize_prompt("HELLO") != normalize_prompt("hello")  # case is kept: it is a different prompt


@pytest.mark.parametrize("name", [n for n in list_prompts() if load_prompt(n).mode == "ab"])
def test_every_hand_written_ab_prompt_maps_its_letters_as_its_file_says(name: str) -> None:
    template = load_prompt(name)
    mapping, reason = letter_mapping(template.text)
    assert reason is None
    assert mapping == template.option_labels


def test_a_valid_proposal_becomes_a_template() -> None:
    made = candidate(VALID)
    assert made.accepted and made.rejection is None
    assert (made.template.speech_option, made.template.nonspeech_option) == ("A", "B")
    assert made.template.id == "s01c00" and made.template.metadata == {"source": "OPRO step 1"}
    reversed_options = candidate("Hear anything?\nA) No speech at all\nB) Someone is speaking\nLetter only:")
    assert (reversed_options.template.speech_option, reversed_options.template.nonspeech_option) == ("B", "A")


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "empty prompt"),
        (VALID + " " + "x" * 100, "too long: 183 characters, the limit is 120"),
        ("Is there speech? Answer yes or no.", "exactly one option line for A"),
        ("Pick:\nA) speech\nB) no speech\nC) not sure", "offers options C"),
        ("Pick:\nA) speech\nA) talking\nB) no speech", "exactly one option line for A (like 'A) ...'), found 2"),
        ("Pick:\nA) a human voice\nB) someone talking", "cannot tell which option means speech (A: SPEECH, B: SPEECH)"),
        ("Pick:\nA) music\nB) something", "cannot tell which option means speech (A: NONSPEECH, B: UNKNOWN)"),
        ("Audio: <|AUDIO|>\nA) speech\nB) no speech", "control token (<|AUDIO|>)"),
        ("<PROMPT>\nA) speech\nB) no speech", "<PROMPT> tag"),
    ],
)
def test_unusable_proposals_are_rejected_with_a_reason(text: str, reason: str) -> None:
    made = candidate(text, max_chars=120)
    assert not made.accepted and made.template is None
    assert reason in made.rejection


def test_swap_options_needs_option_lines_it_can_swap() -> None:
    assert candidate(VALID, swappable=True).accepted
    # "A." lines are scorable but not swappable (swap_options reads "A)" or "A =").
    dotted = candidate("Speech?\nA. Yes, a voice\nB. No voice\nLetter:", swappable=True)
    assert not dotted.accepted and "cannot swap options" in dotted.rejection
    assert candidate("Speech?\nA. Yes, a voice\nB. No voice\nLetter:").accepted
