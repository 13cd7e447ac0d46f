"""normalize_answer: free text -> SPEECH / NONSPEECH / UNKNOWN, one table of phrasings."""

from __future__ import annotations

import pytest

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad import answers as A
from qwen_vad.answers import ANSWER_RULES, UNKNOWN, normalize_answer, read_answer
from qwen_vad.prompts import load_prompt

# (answer, expected) with the default letters: A = SPEECH, B = NONSPEECH.
PHRASINGS = [
    # option letters
    ("A", SPEECH),
    ("B", NONSPEECH),
    ("a", SPEECH),
    ("A)", SPEECH),
    ("(B)", NONSPEECH),
    ("B.", NONSPEECH),
    ("**A**", SPEECH),
    ("'B'", NONSPEECH),
    ("Answer: B", NONSPEECH),
    ("option A", SPEECH),
    ("The answer is A.", SPEECH),
    ("The answer is A definitely.", SPEECH),  # mid-sentence capital: the option
    ("I'd say B because it sounds like rain.", NONSPEECH),
    ("B) NONSPEECH", NONSPEECH),
    ("B) NONSPEECH (music/noise/silence/animals)", NONSPEECH),
    ("A - SPEECH", SPEECH),
    ("A = Contains human voice", SPEECH),
    ("B = Does not contain human voice", NONSPEECH),
    ("A) Yes - I hear human voice speaking", SPEECH),
    ("B) No - I hear music, noise, silence, or non-human sounds", NONSPEECH),
    ("B) NO SPEECH detected", NONSPEECH),
    ("The answer is B, not A.", NONSPEECH),
    ("  \n\nA<|im_end|>", SPEECH),
    ("B<|im_end|>\n", NONSPEECH),
    ("AB", UNKNOWN),
    ("A or B", UNKNOWN),
    ("A/B", UNKNOWN),
    ("C", UNKNOWN),
    # the labels, in any spelling
    ("SPEECH", SPEECH),
    ("speech", SPEECH),
    ("Nonspeech.", NONSPEECH),
    ("NON-SPEECH", NONSPEECH),
    ("non speech", NONSPEECH),
    ("no speech", NONSPEECH),
    ("NO SPEECH", NONSPEECH),
    ("Not speech", NONSPEECH),
    ("SPEECH or NONSPEECH", UNKNOWN),
    # yes / no
    ("Yes.", SPEECH),
    ("yes", SPEECH),
    ("Yes, someone is speaking.", SPEECH),
    ("No.", NONSPEECH),
    ("No, I only hear music.", NONSPEECH),
    ("No, I don't hear any speech.", NONSPEECH),
    # speech described
    ("A man is speaking.", SPEECH),  # "A" here is the article, not option A
    ("A woman talking on the phone.", SPEECH),
    ("Someone says hello.", SPEECH),
    ("Two people having a conversation.", SPEECH),
    ("Spoken words in a noisy room.", SPEECH),
    ("Narration over background music.", SPEECH),  # speech over other sounds is still speech
    ("A dog barks while a man is talking.", SPEECH),
    ("I hear a human voice.", SPEECH),
    # other sounds only
    ("I hear a dog barking.", NONSPEECH),
    ("A dog is barking.", NONSPEECH),
    ("Answer: A dog barking.", NONSPEECH),  # sentence start after the colon: still the article
    ("Silence", NONSPEECH),
    ("Static noise.", NONSPEECH),
    ("Birds singing in the morning.", NONSPEECH),
    ("Rain falling on a roof.", NONSPEECH),
    ("A car engine running.", NONSPEECH),
    ("A beeping sound.", NONSPEECH),
    ("Instrumental music with piano.", NONSPEECH),
    ("A man coughing.", NONSPEECH),
    ("Nothing but white noise.", NONSPEECH),
    # negation
    ("There is no human speech in this clip.", NONSPEECH),
    ("There is no speech in this clip", NONSPEECH),
    ("I don't hear anyone talking.", NONSPEECH),
    ("I don’t think there is any speech.", NONSPEECH),  # curly apostrophe, far scope
    ("Nobody is speaking.", NONSPEECH),
    ("no voice, only music", NONSPEECH),
    ("Music without vocals.", NONSPEECH),
    ("A song without words.", NONSPEECH),
    ("Speech is not present.", NONSPEECH),
    ("Human speech is absent.", NONSPEECH),
    ("It is not music, it's a person talking.", SPEECH),
    ("There is speech, not music.", SPEECH),
    ("No music, just a man speaking.", SPEECH),
    # singing: a voice that is not plainly speech -> UNKNOWN unless a verdict is given
    ("A woman singing.", UNKNOWN),
    ("Pop song with vocals.", UNKNOWN),
    ("Yes, a woman is singing.", SPEECH),
    ("B, someone singing.", NONSPEECH),
    # contradictions, hedges, nothing
    ("Yes, but there is no speech.", UNKNOWN),
    ("I'm not sure.", UNKNOWN),
    ("I'm not sure, but it might be speech.", UNKNOWN),
    ("Hard to tell.", UNKNOWN),
    ("The clip is very short.", UNKNOWN),
    ("", UNKNOWN),
    ("   \n", UNKNOWN),
    ("<|im_end|>", UNKNOWN),
]


@pytest.mark.parametrize(("answer", "expected"), PHRASINGS, ids=[repr(answer) for answer, _ in PHRASINGS])
def test_phrasing(answer: str, expected: str) -> None:
    assert normalize_answer(answer) == expected


# With the swapped baseline, A means NONSPEECH and B SPEECH.
SWAPPED_PHRASINGS = [
    ("A", NONSPEECH),
    ("B", SPEECH),
    ("The answer is A.", NONSPEECH),
    ("B) SPEECH (human voice)", SPEECH),
    ("A) NONSPEECH", NONSPEECH),
    ("A) SPEECH", UNKNOWN),  # the letter and the word disagree
    ("A man is speaking.", SPEECH),  # the article is not read as option A
    ("A dog is barking.", NONSPEECH),
]


@pytest.mark.parametrize(("answer", "expected"), SWAPPED_PHRASINGS, ids=[repr(a) for a, _ in SWAPPED_PHRASINGS])
def test_letters_follow_the_template(answer: str, expected: str) -> None:
    assert normalize_answer(answer, load_prompt("swapped_baseline")) == expected


def test_open_ended_template_reads_no_letters() -> None:
    open_prompt = load_prompt("open_speech_or_nonspeech")
    assert normalize_answer("A", open_prompt) == UNKNOWN
    assert normalize_answer("NONSPEECH", open_prompt) == NONSPEECH
    assert normalize_answer("A man is talking.", open_prompt) == SPEECH


# (answer, rule that resolves it): one or more per rule, with agreeing evidence resolved by
# precedence (letter > yes/no > label word > synonym / negation).
RULE_CASES = [
    ("A", A.LETTER),
    ("Answer: B", A.LETTER),
    ("B) NONSPEECH", A.LETTER),  # the letter and the label word agree: the letter names it
    ("A) Yes - I hear human voice speaking", A.LETTER),
    ("Yes.", A.YES_NO),
    ("No, I don't hear any speech.", A.YES_NO),  # "No." and a negation agree
    ("Yes, someone is speaking.", A.YES_NO),
    ("speech", A.LABEL_WORD),
    ("SPEECH", A.LABEL_WORD),
    ("I hear human speech.", A.LABEL_WORD),
    ("Nonspeech.", A.LABEL_WORD),
    ("NON-SPEECH", A.LABEL_WORD),
    ("There is speech, not music.", A.LABEL_WORD),
    ("A man is speaking.", A.SYNONYM),
    ("Two people having a conversation.", A.SYNONYM),
    ("no speech", A.NEGATION),
    ("Not speech", A.NEGATION),
    ("I don't hear anyone talking.", A.NEGATION),
    ("Human speech is absent.", A.NEGATION),
    ("I hear a dog barking.", A.OTHER_SOUND),
    ("Silence", A.OTHER_SOUND),
    ("SPEECH or NONSPEECH", A.CONTRADICTION),
    ("A/B", A.CONTRADICTION),
    ("I'm not sure, but it might be speech.", A.HEDGE),
    ("A woman singing.", A.AMBIGUOUS_VOICE),
    ("", A.EMPTY),
    ("<|im_end|>", A.EMPTY),
    ("The clip is very short.", A.NO_CUE),
    ("C", A.NO_CUE),
]


@pytest.mark.parametrize(("answer", "rule"), RULE_CASES, ids=[repr(answer) for answer, _ in RULE_CASES])
def test_rule_that_resolved_the_answer(answer: str, rule: str) -> None:
    reading = read_answer(answer)
    assert reading.rule == rule
    assert reading.label == normalize_answer(answer)


def test_every_rule_is_reached_and_gives_its_documented_label() -> None:
    readings = [read_answer(answer) for answer, _ in PHRASINGS] + [read_answer(answer) for answer, _ in RULE_CASES]
    assert {r.rule for r in readings} == set(ANSWER_RULES)
    for reading in readings:
        gives, _ = ANSWER_RULES[reading.rule]
        assert reading.label in gives, (reading, gives)


def test_letters_resolve_with_the_template_meaning() -> None:
    swapped = load_prompt("swapped_baseline")
    assert read_answer("A", swapped) == A.AnswerReading(NONSPEECH, A.LETTER)
    assert read_answer("A) SPEECH", swapped) == A.AnswerReading(UNKNOWN, A.CONTRADICTION)
    assert read_answer("A", load_prompt("open_speech_or_nonspeech")) == A.AnswerReading(UNKNOWN, A.NO_CUE)
