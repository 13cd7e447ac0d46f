"""Prompt templates: the text a model is asked, and which option letter stands for which label.

A template file ``prompts/<id>.txt`` opens with header lines ``# key: value`` and then holds the
prompt text verbatim (the file's final newline is not part of the prompt)::

    # id: baseline
    # mode: ab
    # speech_option: A
    # nonspeech_option: B
    # source: research plan (Baseline)

    Choose one:
    ...

Keys: ``id`` (defaults to the file stem), ``mode`` (``ab``: the model's answer is read from the
scores of the two option letters, the default; ``generate``: open-ended text, read by
``qwen_vad.answers.normalize_answer``), ``speech_option`` / ``nonspeech_option`` (the letters, for
``ab`` only). Every other key (``source``, or the scores OPRO records) is kept as metadata. One
blank line after the header separates it from the text and is not part of the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.config import REPO_ROOT
from qwen_vad.errors import UserError

PROMPTS_DIR = REPO_ROOT / "prompts"
PROMPT_SUFFIX = ".txt"

AB_MODE = "ab"  # constrained decoding: p(speech letter) vs p(nonspeech letter)
GENERATE_MODE = "generate"  # free text, normalised afterwards
MODES = (AB_MODE, GENERATE_MODE)

# Header keys that are fields of PromptTemplate, in the order format_prompt_file writes them.
FIELD_KEYS = ("id", "mode", "speech_option", "nonspeech_option")
# Set by swap_options: the id of the template whose options were swapped.
SWAPPED_FROM_KEY = "swapped_from"
SWAPPED_ID_PREFIX = "swapped_"

_HEADER_LINE = re.compile(r"# (?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<value>.*)")
_METADATA_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PromptError(UserError, ValueError):
    """A prompt template that cannot be loaded, parsed or transformed; the message says why."""


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt and the meaning of its option letters. Invalid templates cannot be built."""

    id: str
    text: str
    mode: str = AB_MODE
    speech_option: str | None = None
    nonspeech_option: str | None = None
    # Not hashed: a dict cannot be, and id + text already identify a template.
    metadata: dict[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # A private copy, so editing the caller's dict later cannot change a frozen template.
        object.__setattr__(self, "metadata", dict(self.metadata))
        problem = _template_problem(self)
        if problem is not None:
            raise PromptError(f"prompt {self.id!r}: {problem}")

    @property
    def option_labels(self) -> dict[str, str]:
        """{letter: SPEECH | NONSPEECH}; empty for open-ended (generate) prompts."""
        if self.speech_option is None or self.nonspeech_option is None:
            return {}
        return {self.speech_option: SPEECH, self.nonspeech_option: NONSPEECH}

    def label_for_option(self, letter: str) -> str:
        """The label an option letter stands for in this prompt (SPEECH or NONSPEECH)."""
        labels = self.option_labels
        if letter not in labels:
            raise PromptError(f"prompt {self.id!r}: {letter!r} is not one of its options {sorted(labels)}")
        return labels[letter]


def _template_problem(template: PromptTemplate) -> str | None:
    """What makes a template unusable, or None when it is valid."""
    if not template.id or any(character.isspace() for character in template.id):
        return "the id must be non-empty and free of whitespace"
    if not template.text.strip():
        return "the prompt text is empty"
    if template.mode not in MODES:
        return f"unknown mode {template.mode!r}; valid modes: {', '.join(MODES)}"
    problem = _options_problem(template)
    if problem is not None:
        return problem
    return _metadata_problem(template.metadata)


def _options_problem(template: PromptTemplate) -> str | None:
    letters = {"speech_option": template.speech_option, "nonspeech_option": template.nonspeech_option}
    if template.mode == GENERATE_MODE:
        given = [key for key, letter in letters.items() if letter is not None]
        return f"generate prompts have no option letters; remove {', '.join(given)}" if given else None
    missing = [key for key, letter in letters.items() if letter is None]
    if missing:
        return f"ab prompts need both option letters; missing {', '.join(missing)} (e.g. '# speech_option: A')"
    for key, letter in letters.items():
        if not _is_option_letter(letter):
            return f"{key} must be a single uppercase letter A-Z, got {letter!r}"
    if template.speech_option == template.nonspeech_option:
        return f"speech_option and nonspeech_option are both {template.speech_option!r}"
    for key, letter in letters.items():
        # A letter the text never shows cannot be what the prompt asks the model to answer with.
        if not re.search(rf"(?<![A-Za-z]){letter}(?![A-Za-z])", template.text):
            return f"{key} {letter!r} does not appear in the prompt text"
    return None


def _is_option_letter(letter: str | None) -> bool:
    return letter is not None and len(letter) == 1 and "A" <= letter <= "Z"


def _metadata_problem(metadata: dict[str, str]) -> str | None:
    # Checked here, not when writing, so every template that exists can be written to a file
    # and read back unchanged.
    for key, value in metadata.items():
        if key in FIELD_KEYS:
            return f"metadata key {key!r} is a template field; set it as one"
        if not _METADATA_KEY.fullmatch(key):
            return f"metadata key {key!r} must be letters, digits and underscores"
        if not isinstance(value, str) or "\n" in value or value != value.strip():
            return f"metadata {key!r} must be one line of text without surrounding spaces, got {value!r}"
    return None


# --------------------------------------------------------------------------------------------
# Files


def parse_prompt(text: str, default_id: str) -> PromptTemplate:
    """A template from the contents of a prompt file; ``default_id`` is used when no ``# id:``."""
    # Files edited on Windows: the text must not depend on where it was saved.
    lines = text.replace("\r\n", "\n").split("\n")
    header: dict[str, str] = {}
    line_index = 0
    while line_index < len(lines) and (match := _HEADER_LINE.fullmatch(lines[line_index])):
        key = match["key"]
        if key in header:
            raise PromptError(f"prompt {default_id!r}: header key {key!r} appears twice")
        header[key] = match["value"].strip()
        line_index += 1
    if header and line_index < len(lines) and lines[line_index] == "":
        line_index += 1  # the separator line, written by format_prompt_file
    body = "\n".join(lines[line_index:])
    body = body.removesuffix("\n")  # editors end files with a newline; the prompt does not
    return PromptTemplate(
        id=header.pop("id", default_id),
        text=body,
        mode=header.pop("mode", AB_MODE),
        speech_option=header.pop("speech_option", None),
        nonspeech_option=header.pop("nonspeech_option", None),
        metadata=header,
    )


def format_prompt_file(template: PromptTemplate) -> str:
    """The file contents that parse_prompt turns back into exactly this template."""
    header = {"id": template.id, "mode": template.mode}
    if template.speech_option is not None and template.nonspeech_option is not None:
        header["speech_option"] = template.speech_option
        header["nonspeech_option"] = template.nonspeech_option
    header.update(template.metadata)
    header_lines = [f"# {key}: {value}".rstrip() for key, value in header.items()]
    return "\n".join(header_lines) + "\n\n" + template.text + "\n"


def list_prompts(prompts_dir: Path = PROMPTS_DIR) -> list[str]:
    """Names load_prompt accepts, e.g. ["baseline", ..., "optimized/a2"]."""
    return sorted(
        path.relative_to(prompts_dir).with_suffix("").as_posix()
        for path in prompts_dir.rglob(f"*{PROMPT_SUFFIX}")
        if not path.name.startswith(".")
    )


def load_prompt(name_or_path: str | Path, prompts_dir: Path = PROMPTS_DIR) -> PromptTemplate:
    """A template by name ("baseline", "optimized/a2") or by the path of its file."""
    path = _prompt_path(str(name_or_path), prompts_dir)
    try:
        return parse_prompt(path.read_text(encoding="utf-8"), default_id=path.stem)
    except PromptError as error:
        raise PromptError(f"{path}: {error}") from error


def _prompt_path(name_or_path: str, prompts_dir: Path) -> Path:
    named = prompts_dir / f"{name_or_path}{PROMPT_SUFFIX}"
    if named.is_file():
        return named
    as_path = Path(name_or_path)
    if as_path.is_file():
        return as_path
    available = ", ".join(list_prompts(prompts_dir)) if prompts_dir.is_dir() else "none"
    raise PromptError(
        f"unknown prompt {name_or_path!r}: neither a file nor a prompt in {prompts_dir}; available: {available}"
    )


# --------------------------------------------------------------------------------------------
# Swapping options


def swap_options(template: PromptTemplate) -> PromptTemplate:
    """The same prompt with the two options' descriptions exchanged, so each letter means the other.

    Scoring a prompt and its swap and averaging cancels a preference for one letter. Option
    lines must start with ``A)`` or ``A =`` (any letter). Swapping twice gives the original back.
    """
    if template.mode != AB_MODE or template.speech_option is None or template.nonspeech_option is None:
        raise PromptError(f"prompt {template.id!r}: only ab prompts have options to swap")
    speech_line = _option_line(template, template.speech_option)
    nonspeech_line = _option_line(template, template.nonspeech_option)
    text = template.text
    # Later span first, so the earlier span's offsets still hold after the first replacement.
    replacements = sorted(
        [
            (speech_line.span("description"), nonspeech_line["description"]),
            (nonspeech_line.span("description"), speech_line["description"]),
        ],
        reverse=True,
    )
    for (start, end), description in replacements:
        text = text[:start] + description + text[end:]
    swapped_id, metadata = _swapped_identity(template)
    return PromptTemplate(
        id=swapped_id,
        text=text,
        mode=AB_MODE,
        speech_option=template.nonspeech_option,
        nonspeech_option=template.speech_option,
        metadata=metadata,
    )


def _option_line(template: PromptTemplate, letter: str) -> re.Match[str]:
    pattern = re.compile(rf"^(?P<marker>[ \t]*{letter}(?:\)|[ \t]*=)[ \t]*)(?P<description>.*)$", re.MULTILINE)
    matches = list(pattern.finditer(template.text))
    if len(matches) != 1:
        raise PromptError(
            f"prompt {template.id!r}: cannot swap options: expected exactly one line starting with "
            f"'{letter})' or '{letter} =', found {len(matches)}"
        )
    return matches[0]


def _swapped_identity(template: PromptTemplate) -> tuple[str, dict[str, str]]:
    """Id and metadata of the swapped template; a swap of a swap gets the original's back."""
    original_id = template.metadata.get(SWAPPED_FROM_KEY)
    if original_id is not None and template.id == SWAPPED_ID_PREFIX + original_id:
        return original_id, {key: value for key, value in template.metadata.items() if key != SWAPPED_FROM_KEY}
    return SWAPPED_ID_PREFIX + template.id, {**template.metadata, SWAPPED_FROM_KEY: template.id}


__all__ = [
    "AB_MODE",
    "GENERATE_MODE",
    "MODES",
    "PROMPTS_DIR",
    "PromptError",
    "PromptTemplate",
    "format_prompt_file",
    "list_prompts",
    "load_prompt",
    "parse_prompt",
    "swap_options",
]
