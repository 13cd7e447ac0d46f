"""From an optimizer's raw text to prompt templates the scorer can use, or a logged reason why not.

A reply holds its proposals between ``<PROMPT>`` and ``</PROMPT>``. Each proposal is normalised
(line endings, trailing spaces, blank-line runs, wrapping quotes or code fences: differences a
reader would not call a different prompt), so de-duplication is exact string equality after
normalisation. A proposal is accepted only if constrained A/B decoding can score it: two option
lines, ``A`` and ``B``, one of which says speech is present and the other that it is absent.
Which letter means SPEECH is read from the option descriptions with the project's answer
normaliser (``qwen_vad.answers``); a proposal whose options it cannot tell apart is rejected
rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.answers import normalize_answer
from qwen_vad.prompts import AB_MODE, GENERATE_MODE, PromptError, PromptTemplate, swap_options

PROMPT_OPEN, PROMPT_CLOSE = "<PROMPT>", "</PROMPT>"
_TAGGED = re.compile(r"<PROMPT>(.*?)</PROMPT>", re.DOTALL | re.IGNORECASE)

# The letters constrained decoding compares; every seed prompt uses them.
OPTION_LETTERS = ("A", "B")
# "A) ...", "(A) ...", "A. ...", "A: ...", "A = ...", "A - ...": one capital letter opening a line.
_OPTION_LINE = re.compile(r"^[ \t*]*\(?(?P<letter>[A-Z])(?:\)|\.|:|[ \t]*=|[ \t]+-)[ \t]*(?P<description>\S.*)$", re.MULTILINE)
# Chat-template control tokens inside a prompt would end the user turn early or add an audio slot.
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]*\|>")
_FENCE = re.compile(r"^```[A-Za-z]*\n(?P<body>.*)\n```$", re.DOTALL)
_QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("\u201c", "\u201d"))

# Option descriptions are read without any letter meaning ("A human voice" is not option A).
_DESCRIPTION_READER = PromptTemplate(id="option_description", text="descriptions only", mode=GENERATE_MODE)


@dataclass(frozen=True)
class Candidate:
    """One proposal: its normalised text and either a template or the reason it was rejected."""

    text: str
    template: PromptTemplate | None
    rejection: str | None

    @property
    def accepted(self) -> bool:
        return self.template is not None


def extract_proposals(raw: str) -> list[str]:
    """The texts between ``<PROMPT>`` and ``</PROMPT>`` in one optimizer reply, in order."""
    return [match.group(1) for match in _TAGGED.finditer(raw)]


def normalize_prompt(text: str) -> str:
    """Whitespace and wrapping a reader would not call a different prompt, removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced["body"].strip()
    for opening, closing in _QUOTE_PAIRS:
        if len(text) > 1 and text.startswith(opening) and text.endswith(closing):
            text = text[1:-1].strip()
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def letter_mapping(text: str) -> tuple[dict[str, str] | None, str | None]:
    """({letter: SPEECH | NONSPEECH}, None) for a valid A/B prompt, else (None, the reason)."""
    options = [(m["letter"], m["description"]) for m in _OPTION_LINE.finditer(text)]
    letters = [letter for letter, _ in options]
    extra = sorted(set(letters) - set(OPTION_LETTERS))
    if extra:
        return None, f"offers options {', '.join(extra)}: only A and B can be scored"
    for letter in OPTION_LETTERS:
        if letters.count(letter) != 1:
            return None, f"needs exactly one option line for {letter} (like '{letter}) ...'), found {letters.count(letter)}"
    meanings = {letter: normalize_answer(description, _DESCRIPTION_READER) for letter, description in options}
    if sorted(meanings.values()) != sorted((SPEECH, NONSPEECH)):
        described = ", ".join(f"{letter}: {label}" for letter, label in sorted(meanings.items()))
        return None, f"cannot tell which option means speech ({described})"
    return meanings, None


def make_candidate(
    raw_text: str, prompt_id: str, source: str, max_chars: int, needs_swappable_options: bool
) -> Candidate:
    """Normalise one proposal and build its template, or say why it cannot be scored."""
    text = normalize_prompt(raw_text)
    rejection = _text_problem(text, max_chars)
    if rejection is not None:
        return Candidate(text=text, template=None, rejection=rejection)
    mapping, rejection = letter_mapping(text)
    if mapping is None:
        return Candidate(text=text, template=None, rejection=rejection)
    by_label = {label: letter for letter, label in mapping.items()}
    try:
        template = PromptTemplate(
            id=prompt_id,
            text=text,
            mode=AB_MODE,
            speech_option=by_label[SPEECH],
            nonspeech_option=by_label[NONSPEECH],
            metadata={"source": source},
        )
        if needs_swappable_options:
            swap_options(template)  # decoding.swap_options scores both orders
    except PromptError as err:
        return Candidate(text=text, template=None, rejection=str(err))
    return Candidate(text=text, template=template, rejection=None)


def _text_problem(text: str, max_chars: int) -> str | None:
    if not text:
        return "empty prompt"
    if len(text) > max_chars:
        return f"too long: {len(text)} characters, the limit is {max_chars} (opro.max_prompt_chars)"
    if control := _SPECIAL_TOKEN.search(text):
        return f"holds a chat-template control token ({control.group()})"
    if PROMPT_OPEN.lower() in text.lower() or PROMPT_CLOSE.lower() in text.lower():
        return "holds a <PROMPT> tag (a nested or unbalanced proposal)"
    return None
