"""Prompt templates: the repository's files, parsing and writing, option swapping, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwen_vad import NONSPEECH, SPEECH
from qwen_vad.prompts import (
    PROMPTS_DIR,
    PromptError,
    PromptTemplate,
    format_prompt_file,
    list_prompts,
    load_prompt,
    parse_prompt,
    swap_options,
)

# The research plan's five prompts, copied by hand from the plan: the files must hold them exactly.
RESEARCH_PLAN_PROMPTS = {
    "baseline": (
        "Choose one:\nA) SPEECH (human voice)\nB) NONSPEECH (music/noise/silence/animals)\n\n"
        "Answer with A or B ONLY."
    ),
    "explicit": (
        "Listen carefully to this audio clip.\n\nDoes it contain human speech?\n\n"
        "A) Yes - I hear human voice speaking\nB) No - I hear music, noise, silence, or non-human sounds\n\n"
        "Your answer:"
    ),
    "task_focused": (
        "Task: Detect if human speech is present in this audio.\n\nA) SPEECH detected\nB) NO SPEECH detected\n\n"
        "Answer:"
    ),
    "question": "Is there human speech in this audio?\n\nA) Yes\nB) No\n\nYour response:",
    "binary_choice": (
        "Classification task: SPEECH vs NONSPEECH\n\nListen to the audio.\n\n"
        "A = Contains human voice\nB = Does not contain human voice\n\nSelect:"
    ),
}

OPEN_PROMPTS = {
    "open_what_do_you_hear": "What do you hear in this audio? Answer in one short sentence.",
    "open_speech_or_nonspeech": "Does this audio contain human speech? Answer SPEECH or NONSPEECH.",
}


def _write(folder: Path, name: str, contents: str) -> Path:
    path = folder / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(contents, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The repository's prompts


def test_repository_has_the_expected_prompts() -> None:
    expected = {*RESEARCH_PLAN_PROMPTS, *OPEN_PROMPTS, "swapped_baseline"}
    assert expected <= set(list_prompts())


@pytest.mark.parametrize("name", list_prompts())
def test_every_prompt_file_parses_and_is_written_canonically(name: str) -> None:
    template = load_prompt(name)
    assert template.id == Path(name).name
    assert "source" in template.metadata
    # Each file is exactly what format_prompt_file writes, so rewriting it changes nothing.
    assert format_prompt_file(template) == (PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(RESEARCH_PLAN_PROMPTS))
def test_research_plan_prompts_are_verbatim_with_a_meaning_speech(name: str) -> None:
    template = load_prompt(name)
    assert template.text == RESEARCH_PLAN_PROMPTS[name]
    assert template.mode == "ab"
    assert template.option_labels == {"A": SPEECH, "B": NONSPEECH}


@pytest.mark.parametrize("name", sorted(OPEN_PROMPTS))
def test_open_prompts_are_generate_prompts_without_letters(name: str) -> None:
    template = load_prompt(name)
    assert template.text == OPEN_PROMPTS[name]
    assert template.mode == "generate"
    assert template.option_labels == {}


def test_swapped_baseline_is_the_baseline_with_its_options_swapped() -> None:
    from_file = load_prompt("swapped_baseline")
    swapped = swap_options(load_prompt("baseline"))
    assert (from_file.id, from_file.text, from_file.option_labels) == (swapped.id, swapped.text, swapped.option_labels)
    assert from_file.metadata["swapped_from"] == swapped.metadata["swapped_from"] == "baseline"
    assert from_file.label_for_option("A") == NONSPEECH


def test_prompts_load_by_name_path_and_subfolder(tmp_path: Path) -> None:
    assert load_prompt(PROMPTS_DIR / "question.txt") == load_prompt("question")
    assert load_prompt(str(PROMPTS_DIR / "question.txt")) == load_prompt("question")
    optimized = PromptTemplate("a2", "Speech? A) yes B) no", speech_option="A", nonspeech_option="B")
    _write(tmp_path / "optimized", "a2", format_prompt_file(optimized))
    assert list_prompts(tmp_path) == ["optimized/a2"]
    assert load_prompt("optimized/a2", prompts_dir=tmp_path) == optimized


# --------------------------------------------------------------------------------------------
# Parsing and writing


def test_parse_reads_header_fields_and_keeps_other_keys_as_metadata() -> None:
    template = parse_prompt(
        "# mode: ab\n# speech_option: B\n# nonspeech_option: A\n# source: OPRO run results/opro/a2/x: it 3\n"
        "# dev_balanced_accuracy: 0.91\n\nA) NONSPEECH\nB) SPEECH\n",
        default_id="from_file",
    )
    assert template.id == "from_file"
    assert template.text == "A) NONSPEECH\nB) SPEECH"
    assert template.metadata == {"source": "OPRO run results/opro/a2/x: it 3", "dev_balanced_accuracy": "0.91"}
    assert template.label_for_option("B") == SPEECH


def test_parse_defaults_to_an_ab_prompt_and_needs_no_separator_line() -> None:
    with pytest.raises(PromptError, match="ab prompts need both option letters"):
        parse_prompt("A) SPEECH\nB) NONSPEECH\n", default_id="bare")
    template = parse_prompt("# speech_option: A\n# nonspeech_option: B\nA) SPEECH\nB) NONSPEECH", default_id="bare")
    assert (template.id, template.mode, template.text) == ("bare", "ab", "A) SPEECH\nB) NONSPEECH")


def test_parse_keeps_whitespace_inside_the_text() -> None:
    template = parse_prompt("# mode: generate\n\n\n  Indented,\n\ntrailing space: \n", default_id="spaced")
    # One separator line is dropped; the second blank line belongs to the prompt.
    assert template.text == "\n  Indented,\n\ntrailing space: "


@pytest.mark.parametrize(
    "template",
    [
        PromptTemplate("plain", "Speech? A or B.", speech_option="A", nonspeech_option="B"),
        PromptTemplate("open", "# looks: like a header\nbut is text", mode="generate"),
        PromptTemplate("leading_blank", "\nWhat is this?", mode="generate", metadata={"source": "", "note": "x: y"}),
        PromptTemplate("letters", "X) speech\nY) other", speech_option="X", nonspeech_option="Y"),
    ],
    ids=lambda template: template.id,
)
def test_parse_format_round_trip(template: PromptTemplate) -> None:
    written = format_prompt_file(template)
    assert parse_prompt(written, default_id="ignored") == template
    assert format_prompt_file(parse_prompt(written, default_id="ignored")) == written


def test_templates_are_frozen_and_hashable() -> None:
    metadata = {"source": "test"}
    template = PromptTemplate("t", "A or B", speech_option="A", nonspeech_option="B", metadata=metadata)
    metadata["source"] = "changed"  # the template kept its own copy
    assert template.metadata == {"source": "test"}
    assert len({template, template}) == 1
    with pytest.raises(AttributeError):
        template.text = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Swapping options


def test_swap_baseline_exchanges_descriptions_and_meaning() -> None:
    baseline = load_prompt("baseline")
    swapped = swap_options(baseline)
    assert swapped.text == (
        "Choose one:\nA) NONSPEECH (music/noise/silence/animals)\nB) SPEECH (human voice)\n\nAnswer with A or B ONLY."
    )
    assert (swapped.speech_option, swapped.nonspeech_option) == ("B", "A")
    assert swapped.id == "swapped_baseline"
    assert swap_options(swapped) == baseline  # swapping twice gives the original back


def test_swap_binary_choice_with_equals_style_options() -> None:
    swapped = swap_options(load_prompt("binary_choice"))
    assert swapped.text == (
        "Classification task: SPEECH vs NONSPEECH\n\nListen to the audio.\n\n"
        "A = Does not contain human voice\nB = Contains human voice\n\nSelect:"
    )
    assert swapped.option_labels == {"A": NONSPEECH, "B": SPEECH}


@pytest.mark.parametrize("name", sorted(RESEARCH_PLAN_PROMPTS))
def test_every_research_plan_prompt_can_be_swapped(name: str) -> None:
    template = load_prompt(name)
    swapped = swap_options(template)
    assert swapped.text != template.text
    assert swapped.label_for_option("A") == NONSPEECH
    assert swap_options(swapped) == template


def test_swap_needs_recognisable_option_lines() -> None:
    inline = PromptTemplate("inline", "Speech (A) or not (B)?", speech_option="A", nonspeech_option="B")
    with pytest.raises(PromptError, match=r"prompt 'inline': cannot swap options: .*'A\)' or 'A ='"):
        swap_options(inline)
    with pytest.raises(PromptError, match="only ab prompts"):
        swap_options(load_prompt("open_what_do_you_hear"))


# --------------------------------------------------------------------------------------------
# Validation: every error names the file and says what is wrong


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("# mode: ab\n# speech_option: A\n\nA) SPEECH B) NONSPEECH\n", "missing nonspeech_option"),
        ("# mode: ab\n\nA) SPEECH B) NONSPEECH\n", "missing speech_option, nonspeech_option"),
        ("# speech_option: A\n# nonspeech_option: A\n\nA) SPEECH\n", "both 'A'"),
        ("# speech_option: a\n# nonspeech_option: b\n\na) SPEECH b) NONSPEECH\n", "single uppercase letter"),
        ("# speech_option: AB\n# nonspeech_option: C\n\nAB) SPEECH C) NONSPEECH\n", "single uppercase letter"),
        ("# speech_option:\n# nonspeech_option: B\n\nB) NONSPEECH\n", "single uppercase letter"),
        ("# speech_option: A\n# nonspeech_option: C\n\nA) SPEECH B) NONSPEECH\n", "'C' does not appear"),
        ("# mode: multiple_choice\n\nWhat is it?\n", "unknown mode 'multiple_choice'; valid modes: ab, generate"),
        ("# mode: generate\n# speech_option: A\n\nA) speech?\n", "generate prompts have no option letters"),
        ("# mode: generate\n\n   \n", "the prompt text is empty"),
        ("# mode: generate\n# mode: ab\n\nWhat?\n", "header key 'mode' appears twice"),
        ("# id: two words\n# mode: generate\n\nWhat?\n", "free of whitespace"),
    ],
)
def test_invalid_prompt_files_fail_naming_the_file(tmp_path: Path, contents: str, message: str) -> None:
    path = _write(tmp_path, "broken", contents)
    with pytest.raises(PromptError, match=message) as error:
        load_prompt("broken", prompts_dir=tmp_path)
    assert str(path) in str(error.value)


def test_unknown_prompt_lists_the_available_ones(tmp_path: Path) -> None:
    _write(tmp_path, "kept", "# mode: generate\n\nWhat?\n")
    with pytest.raises(PromptError, match=r"unknown prompt 'baselin'.*available: kept"):
        load_prompt("baselin", prompts_dir=tmp_path)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"mode": "ab"}, "is a template field"),
        ({"bad key": "x"}, "letters, digits and underscores"),
        ({"note": "two\nlines"}, "one line of text"),
        ({"note": " padded"}, "without surrounding spaces"),
    ],
)
def test_metadata_that_would_not_survive_a_file_is_refused(metadata: dict[str, str], message: str) -> None:
    with pytest.raises(PromptError, match=message):
        PromptTemplate("t", "What?", mode="generate", metadata=metadata)


def test_label_for_an_unknown_letter_is_an_error() -> None:
    with pytest.raises(PromptError, match=r"'C' is not one of its options \['A', 'B'\]"):
        load_prompt("baseline").label_for_option("C")
