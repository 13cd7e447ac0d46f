"""The meta-prompt the optimizer LLM reads (Yang et al. 2023, section 3 and appendix).

History mode (OPRO): the task, the best prompts so far with their scores as integers 0-100,
sorted ascending so the best sit last (nearest the instruction; the paper found this order
best), a few exemplar clips, and the instruction to write a better prompt between
``<PROMPT>`` and ``</PROMPT>``. Random mode (the APE-style ablation) leaves the history out, so
each proposal is a one-shot guess from the task and exemplars alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qwen_vad.opro.candidates import PROMPT_CLOSE, PROMPT_OPEN

TASK_DESCRIPTION = (
    "Your task is to write the instruction for an audio language model. The model hears a very "
    "short audio clip (0.2 to 1 second, often noisy) and then reads your instruction. It must say "
    "whether the clip contains human speech.\n"
    "The model answers with a single letter. Your instruction must offer exactly two options, one "
    "line starting with \"A)\" and one starting with \"B)\": one option means that the clip contains "
    "human speech, the other that it does not. It must ask for the letter only."
)
HISTORY_INTRO = (
    "Below are earlier instructions with their scores (balanced accuracy in percent). They are "
    "sorted by score in ascending order: the best are last."
)
EXEMPLAR_INTRO_ERRORS = "Example clips (described in words), mostly ones the best instruction so far gets wrong:"
EXEMPLAR_INTRO_RANDOM = "Example clips (described in words):"
HISTORY_REQUEST = (
    "Write a new instruction that is different from all the instructions above and scores higher "
    f"than all of them. Keep it short. Write the instruction between {PROMPT_OPEN} and {PROMPT_CLOSE}."
)
RANDOM_REQUEST = f"Write one instruction for this task. Write it between {PROMPT_OPEN} and {PROMPT_CLOSE}."


# One history entry as history_block writes it.
_HISTORY_ENTRY = re.compile(rf"^text:\n{PROMPT_OPEN}\n(?P<text>.*?)\n{PROMPT_CLOSE}\nscore:\n(?P<score>\d+)$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class ScoredText:
    text: str
    score: float  # the reward, 0..1


def bucketed_score(score: float, buckets: int) -> int:
    """The score shown to the optimizer: rounded to one of ``buckets`` levels, as an integer 0-100.

    The paper shows accuracies as integers (100 buckets); coarser buckets hide differences of a
    clip or two that are noise on a small scoring subset.
    """
    if buckets <= 0:
        raise ValueError(f"opro.score_buckets must be positive, got {buckets}")
    level = round(min(max(score, 0.0), 1.0) * buckets)
    return round(level * 100 / buckets)


def history_block(scored: Sequence[ScoredText], size: int, buckets: int) -> str:
    """The ``size`` best prompts, lowest score first (ties: the earlier prompt first)."""
    best = sorted(enumerate(scored), key=lambda item: (-item[1].score, item[0]))[:size]
    ascending = sorted(best, key=lambda item: (item[1].score, item[0]))
    entries = [
        f"text:\n{PROMPT_OPEN}\n{item.text}\n{PROMPT_CLOSE}\nscore:\n{bucketed_score(item.score, buckets)}"
        for _, item in ascending
    ]
    return "\n\n".join(entries)


def build_meta_prompt(
    scored: Sequence[ScoredText], exemplars: Sequence[str], with_history: bool, history_size: int, buckets: int
) -> str:
    """The whole meta-prompt for one step (see the module docstring)."""
    sections = [TASK_DESCRIPTION]
    if with_history and scored:
        sections += [HISTORY_INTRO, history_block(scored, history_size, buckets)]
    if exemplars:
        intro = EXEMPLAR_INTRO_ERRORS if with_history else EXEMPLAR_INTRO_RANDOM
        sections.append(intro + "\n" + "\n".join(f"- {line}" for line in exemplars))
    sections.append(HISTORY_REQUEST if with_history else RANDOM_REQUEST)
    return "\n\n".join(sections)


def shown_history(meta_prompt: str) -> list[tuple[str, int]]:
    """The (prompt, shown score) entries of a meta-prompt's history, in the order shown."""
    return [(m["text"], int(m["score"])) for m in _HISTORY_ENTRY.finditer(meta_prompt)]
