"""Read a model's free-text answer as SPEECH, NONSPEECH or UNKNOWN.

One normaliser for every place that reads generated text (open-ended prompts, free generation as
a check on constrained A/B decoding), so an answer counts the same wherever it is read.

The answer is read as evidence, in three kinds:

* speech present: an option letter meaning SPEECH, "yes", a speech word ("speech", "someone
  talking") that is not negated;
* speech absent: an option letter meaning NONSPEECH, "no" as an answer, "nonspeech", a negated
  speech word ("no human speech", "I don't hear anyone talking", "speech is absent");
* other sounds: "music", "a dog barking", "silence", ... (negated ones are dropped: "not music"
  says nothing about speech).

The question is whether the clip *contains* speech, so presence wins over other sounds ("a man
talking over music" is SPEECH), other sounds alone mean NONSPEECH, and presence together with
absence is a contradiction (UNKNOWN), as are hedges ("I'm not sure") and empty text.

``read_answer`` also names the rule that decided (``ANSWER_RULES``: letter, yes/no, label word,
synonym, negation, other sound, and why an UNKNOWN is unknown), so a report can show how a
model's answers were read and list the ones that could not be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.prompts import PromptTemplate

UNKNOWN = "UNKNOWN"

# Without a template, the letters mean what they mean in every hand-written prompt.
DEFAULT_OPTION_LABELS = {"A": SPEECH, "B": NONSPEECH}

# --------------------------------------------------------------------------------------------
# Word tables. Entries are lowercase; multi-word entries match consecutive words. Hyphens split
# words ("non-speech" is "non speech"); apostrophes do not ("don't").

# The SPEECH label's own word (the answer "speech", "human speech"): read like a speech word,
# reported as its own rule (LABEL_WORD) so a count of answers shows which phrasing the model uses.
SPEECH_LABEL_WORDS = ("speech", "human speech")

SPEECH_WORDS = (
    "speak", "speaks", "speaking", "spoke", "spoken", "spoken words",
    "speaker", "speakers", "talk", "talks", "talking", "talked", "voice", "voices", "human voice",
    "conversation", "conversing", "dialogue", "dialog", "chatter", "chatting", "says", "saying",
    "said", "words", "narration", "narrator", "narrating", "announcer", "announcement",
    "lecture", "interview", "whisper", "whispers", "whispering", "utterance", "reading aloud",
)  # fmt: skip
# Not "say": it is the model's own voice in "I'd say B".

# Words that name the NONSPEECH label itself (not a sound): they say speech is absent.
NONSPEECH_LABEL_WORDS = ("nonspeech", "non speech")

OTHER_SOUND_WORDS = (
    # music
    "music", "musical", "melody", "tune", "song", "songs", "instrumental", "instrument",
    "instruments", "piano", "guitar", "drum", "drums", "violin", "orchestra", "beat",
    # noise and silence
    "noise", "noises", "noisy", "static", "hiss", "hissing", "hum", "buzz", "buzzing", "crackle",
    "crackling", "silence", "silent", "quiet", "nothing", "tone", "tones", "beep", "beeps",
    "beeping", "alarm", "siren",
    # animals ("birds singing" is birdsong, not a singer)
    "animal", "animals", "bird", "birds", "birdsong", "bird singing", "birds singing", "chirp",
    "chirping", "tweeting", "dog", "dogs", "bark", "barks", "barking", "cat", "cats", "meow",
    "meowing", "cow", "rooster", "insect", "insects", "crickets", "frog", "frogs",
    # environment and machines
    "rain", "raining", "wind", "thunder", "water", "waves", "engine", "motor", "car", "cars",
    "traffic", "vehicle", "train", "airplane", "plane", "helicopter", "machine", "machinery",
    "fan", "footsteps", "door", "knock", "knocking", "clock", "ticking", "typing", "keyboard",
    "environmental", "ambient",
    # human sounds that are not speech (the dataset's human_nonspeech category)
    "applause", "clapping", "cough", "coughing", "sneeze", "sneezing", "breathing", "laughter",
    "laughing", "crying", "whistle", "whistling", "humming",
)  # fmt: skip

# A voice that is not plainly speech. Singing is a human voice, which the prompts define as
# SPEECH, yet songs sit in the NONSPEECH music sources (GTZAN, FMA, MusicCaps) and the research
# plan lists "music with singing-like patterns" among the expected false positives: which label
# a singer deserves is the open question, not the model's. So these words alone give UNKNOWN
# (counted, never silently scored either way); with a verdict beside them ("Yes, a woman is
# singing", "B, singing") the verdict decides.
AMBIGUOUS_VOICE_WORDS = (
    "sing", "sings", "singing", "sung", "singer", "singers", "vocal", "vocals", "lyrics", "choir",
    "chant", "chanting", "rap", "rapping", "speech like", "voice like",
)  # fmt: skip

YES_WORDS = ("yes", "yeah", "yep", "affirmative")
NO_WORDS = ("no", "nope")  # an answer when a clause ends right after it, else a negator

# A negator negates the cues in the next NEGATION_SCOPE words of its clause.
NEGATORS = (
    "not", "never", "without", "neither", "nor", "none", "non", "nobody", "cannot", "dont",
    "doesnt", "isnt", "cant", "didnt", "wont", "lack of", "lacks", "lacking", "absence of",
    "free of", "devoid of", "instead of", "rather than",
)  # fmt: skip
NEGATION_SCOPE = 5  # "I don't think there is any speech": "speech" is the 5th word after "don't"

# Said after the thing they negate: they negate every cue earlier in their clause.
ABSENCE_WORDS = ("absent", "missing", "not present", "not detected", "not audible", "not heard")

# The speaker's own doubt: the answer is not a verdict.
HEDGE_WORDS = (
    "not sure", "unsure", "uncertain", "can't tell", "cannot tell", "cant tell", "hard to tell",
    "difficult to tell", "impossible to tell", "unable to tell", "hard to say", "difficult to say",
    "can't determine", "cannot determine", "unable to determine", "don't know", "do not know",
)  # fmt: skip

# Words that end a clause, and with it a negation's scope ("no voice but music").
CLAUSE_BREAK_WORDS = (
    "but", "only", "just", "and", "except", "other than", "apart from", "besides", "although",
    "though", "however", "while", "whereas",
)  # fmt: skip
CLAUSE_BREAK_PUNCTUATION = frozenset(".,;:!?()[]=/")


class _Cue(Enum):
    SPEECH_LABEL = "speech label"
    SPEECH = "speech"
    NONSPEECH_LABEL = "nonspeech label"
    OTHER_SOUND = "other sound"
    AMBIGUOUS_VOICE = "ambiguous voice"
    YES = "yes"
    NO = "no"
    NEGATOR = "negator"
    ABSENCE = "absence"
    HEDGE = "hedge"
    CLAUSE_BREAK = "clause break"


def _phrase_table() -> dict[tuple[str, ...], _Cue]:
    tables = {
        _Cue.SPEECH_LABEL: SPEECH_LABEL_WORDS,
        _Cue.SPEECH: SPEECH_WORDS,
        _Cue.NONSPEECH_LABEL: NONSPEECH_LABEL_WORDS,
        _Cue.OTHER_SOUND: OTHER_SOUND_WORDS,
        _Cue.AMBIGUOUS_VOICE: AMBIGUOUS_VOICE_WORDS,
        _Cue.YES: YES_WORDS,
        _Cue.NO: NO_WORDS,
        _Cue.NEGATOR: NEGATORS,
        _Cue.ABSENCE: ABSENCE_WORDS,
        _Cue.HEDGE: HEDGE_WORDS,
        _Cue.CLAUSE_BREAK: CLAUSE_BREAK_WORDS,
    }
    phrases: dict[tuple[str, ...], _Cue] = {}
    for cue, entries in tables.items():
        for entry in entries:
            words = tuple(entry.split())
            if words in phrases:  # one meaning per phrase, or the tables contradict each other
                raise ValueError(f"{entry!r} is listed as both {phrases[words].value} and {cue.value}")
            phrases[words] = cue
    return phrases


_PHRASES = _phrase_table()
_LONGEST_PHRASE = max(len(words) for words in _PHRASES)

# --------------------------------------------------------------------------------------------
# Option letters


# Words that may follow a chosen letter: "A or B", "A is correct", "A because ...".
OPTION_FOLLOWER_WORDS = frozenset({"or", "and", "nor", "vs", "versus", "is", "was", "because", "since", "as", "then"})
# Capital letters that are also English words at the start of a sentence ("A dog barks").
WORD_LETTERS = frozenset({"A", "I"})

# One letter on its own; not part of a contraction ("I'd", "it's"), but it may be quoted ('B').
_STANDALONE_LETTER = re.compile(r"(?<![A-Za-z0-9])(?<![A-Za-z]')[A-Za-z](?![A-Za-z0-9])(?!'[A-Za-z])")
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]*\|>|</?s>")  # <|im_end|>, <|endoftext|>, </s>
_WORD_BEFORE = re.compile(r"([A-Za-z']+)[^A-Za-z']*$")
_WORD_AFTER = re.compile(r"\s+([A-Za-z']+)")
_SENTENCE_END = ".!?:\n"
_DECORATION = " \t*\"'_"  # markdown and quotes around a letter: "**A**", "'B'"


def _option_letter_labels(text: str, option_labels: dict[str, str]) -> list[str]:
    """The labels of the option letters the answer chooses ("Answer: B" -> [NONSPEECH])."""
    labels = []
    bare_answer = re.sub(r"[^A-Za-z]", "", text)  # "(B).", "**A**"
    for match in _STANDALONE_LETTER.finditer(text):
        letter = match.group()
        if letter.upper() not in option_labels:
            continue
        if bare_answer == letter or _reads_as_chosen_option(text, match):
            labels.append(option_labels[letter.upper()])
    return labels


def _reads_as_chosen_option(text: str, match: re.Match[str]) -> bool:
    before, after = text[: match.start()], text[match.end() :]
    word_before = _WORD_BEFORE.search(before)
    previous_word = word_before.group(1).lower() if word_before else ""
    if previous_word in {"not", "never"} or previous_word.endswith("n't"):
        return False  # "B, not A" rejects A
    if match.group().islower():
        return after.startswith(")")  # "b) nonspeech"; a lone "a" elsewhere is the article
    word_after = _WORD_AFTER.match(after)
    if word_after is None or word_after.group(1).lower() in OPTION_FOLLOWER_WORDS:
        return True  # "A) ...", "A.", "A - SPEECH", "A or B", "The answer is A", end of text
    # Followed by another word. Mid-sentence, a capital letter is an option ("B definitely");
    # at a sentence start "A" may be the article ("A dog barks", "Answer: A man speaking").
    before = before.rstrip(_DECORATION)
    at_sentence_start = not before or before[-1] in _SENTENCE_END
    return not (match.group() in WORD_LETTERS and at_sentence_start)


# --------------------------------------------------------------------------------------------
# Words


@dataclass
class _Hit:
    cue: _Cue
    negated: bool


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"\s[-\u2013\u2014]+\s|[\u2013\u2014]", " , ", text)  # a spaced dash ends a clause
    return re.findall(r"[a-z]+(?:'[a-z]+)*|[.,;:!?()\[\]=/]", text)


def _is_clause_break(token: str) -> bool:
    return token in CLAUSE_BREAK_PUNCTUATION


def _word_hits(text: str) -> list[_Hit]:
    """Cues in reading order, each marked negated or not by the negation scope rule."""
    tokens = _tokens(text)
    hits: list[_Hit] = []
    clause_hits: list[_Hit] = []  # hits since the clause began, for "speech is absent"
    negation_left = 0
    position = 0
    while position < len(tokens):
        words, cue = _longest_phrase(tokens, position)
        position += len(words)
        if cue is _Cue.CLAUSE_BREAK or (cue is None and _is_clause_break(words[0])):
            negation_left, clause_hits = 0, []
            continue
        negated = negation_left > 0
        negation_left = max(negation_left - 1, 0)
        if cue is _Cue.NO and not (position == len(tokens) or _is_clause_break(tokens[position])):
            cue = _Cue.NEGATOR  # "no speech", not the answer "No."
        if cue is _Cue.NEGATOR:
            negation_left = NEGATION_SCOPE
        elif cue is _Cue.ABSENCE:
            for hit in clause_hits:
                hit.negated = True
        elif cue is not None:
            hit = _Hit(cue, negated)
            hits.append(hit)
            clause_hits.append(hit)
    return hits


def _longest_phrase(tokens: list[str], position: int) -> tuple[tuple[str, ...], _Cue | None]:
    """The longest table phrase starting at ``position`` ("not present" before "not")."""
    for length in range(min(_LONGEST_PHRASE, len(tokens) - position), 0, -1):
        words = tuple(tokens[position : position + length])
        if words in _PHRASES:
            return words, _PHRASES[words]
    word = tokens[position]
    # Every contraction negates ("don't", "isn't", "wasn't"): a rule, not a longer table.
    return (word,), _Cue.NEGATOR if word.endswith("n't") else None


# --------------------------------------------------------------------------------------------
# The rules that resolve an answer, in precedence order: when several kinds of evidence agree
# ("B) NONSPEECH" is a letter and the label word), the first of them names the rule. Every
# prediction in generate mode records its rule (predictions column ``answer_rule``).

LETTER = "letter"
YES_NO = "yes/no"
LABEL_WORD = "label word"
SYNONYM = "synonym"
NEGATION = "negation"
OTHER_SOUND = "other sound"
CONTRADICTION = "contradiction"
HEDGE = "hedge"
AMBIGUOUS_VOICE = "ambiguous voice"
EMPTY = "empty"
NO_CUE = "no cue"

EITHER = (SPEECH, NONSPEECH)
# rule -> (the labels it can give, what it reads)
ANSWER_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    LETTER: (EITHER, "an option letter, with the prompt's meaning (\"A\", \"Answer: B\")"),
    YES_NO: (EITHER, "yes or no as the answer (\"Yes.\", \"No, only music\")"),
    LABEL_WORD: (EITHER, "the label itself (\"speech\", \"human speech\", \"nonspeech\", \"non-speech\")"),
    SYNONYM: ((SPEECH,), "a speech word other than the label (\"a man talking\", \"a voice\", \"someone says\")"),
    NEGATION: ((NONSPEECH,), "a negated speech word (\"no speech\", \"nobody is talking\", \"speech is absent\")"),
    OTHER_SOUND: ((NONSPEECH,), "only other sounds named (\"a dog barking\", \"music\", \"silence\")"),
    CONTRADICTION: ((UNKNOWN,), "speech said to be present and absent (\"Yes, but there is no speech\")"),
    HEDGE: ((UNKNOWN,), "the model's own doubt (\"I'm not sure\", \"hard to tell\")"),
    AMBIGUOUS_VOICE: ((UNKNOWN,), "a voice that is not plainly speech, with no verdict (\"a woman singing\")"),
    EMPTY: ((UNKNOWN,), "no text (or special tokens only)"),
    NO_CUE: ((UNKNOWN,), "text without any cue the tables know (\"The clip is very short.\")"),
}


@dataclass(frozen=True)
class AnswerReading:
    label: str  # SPEECH, NONSPEECH or UNKNOWN
    rule: str  # the key of ANSWER_RULES that decided it


def read_answer(text: str, template: PromptTemplate | None = None) -> AnswerReading:
    """The label of a model's free-text answer and the rule that resolved it.

    Option letters are read with ``template``'s meaning (none for open-ended prompts); without a
    template, A means SPEECH and B NONSPEECH, as in every hand-written prompt.
    """
    text = _SPECIAL_TOKEN.sub(" ", text).strip()
    if not text:
        return AnswerReading(UNKNOWN, EMPTY)
    option_labels = template.option_labels if template is not None else DEFAULT_OPTION_LABELS
    letter_labels = _option_letter_labels(text, option_labels)
    hits = _word_hits(text)
    if any(hit.cue is _Cue.HEDGE for hit in hits):
        return AnswerReading(UNKNOWN, HEDGE)

    def has(cue: _Cue, negated: bool) -> bool:
        return any(hit.cue is cue and hit.negated == negated for hit in hits)

    # Evidence per side, in rule precedence order.
    present = [
        rule
        for rule, found in (
            (LETTER, SPEECH in letter_labels),
            (YES_NO, has(_Cue.YES, False)),
            (LABEL_WORD, has(_Cue.SPEECH_LABEL, False)),
            (SYNONYM, has(_Cue.SPEECH, False)),
        )
        if found
    ]
    absent = [
        rule
        for rule, found in (
            (LETTER, NONSPEECH in letter_labels),
            (YES_NO, has(_Cue.NO, False)),
            (LABEL_WORD, has(_Cue.NONSPEECH_LABEL, False)),
            (NEGATION, has(_Cue.SPEECH_LABEL, True) or has(_Cue.SPEECH, True)),
        )
        if found
    ]
    if present and absent:
        return AnswerReading(UNKNOWN, CONTRADICTION)
    if present:
        return AnswerReading(SPEECH, present[0])
    if absent:
        return AnswerReading(NONSPEECH, absent[0])
    if has(_Cue.AMBIGUOUS_VOICE, False):
        return AnswerReading(UNKNOWN, AMBIGUOUS_VOICE)
    if has(_Cue.OTHER_SOUND, False):
        return AnswerReading(NONSPEECH, OTHER_SOUND)
    return AnswerReading(UNKNOWN, NO_CUE)


def normalize_answer(text: str, template: PromptTemplate | None = None) -> str:
    """SPEECH, NONSPEECH or UNKNOWN for a model's free-text answer (see ``read_answer``)."""
    return read_answer(text, template).label


__all__ = ["ANSWER_RULES", "DEFAULT_OPTION_LABELS", "UNKNOWN", "AnswerReading", "normalize_answer", "read_answer"]
