"""What a search leaves behind: the state replayed from its history, what a resumed run keeps,
and the published prompt file that never overwrites an earlier one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwen_vad.opro.final import save_prompt_file
from qwen_vad.opro.history import History, SearchState, read_events
from qwen_vad.opro.resume import replayable_events
from qwen_vad.prompts import PromptTemplate, parse_prompt

PROMPT = "Speech?\nA) yes\nB) no"


def scored(step: int, prompt_id: str, train: float, origin: str = "optimizer") -> dict:
    return {
        "event": "candidate", "step": step, "prompt_id": prompt_id, "origin": origin, "output_index": 0,
        "text": f"{PROMPT} {prompt_id}", "status": "scored", "reason": None, "source": "test",
        "speech_option": "A", "nonspeech_option": "B", "train_score": train,
    }  # fmt: skip


def dev(step: int, prompt_id: str, score: float) -> dict:
    return {"event": "dev_score", "step": step, "prompt_id": prompt_id, "dev_score": score}


def replay(events: list[dict]) -> SearchState:
    state = SearchState()
    for event in events:
        state.apply(event if event["event"] != "step_done" else {"event": "step_done", "step": event["step"]})
    return state


def test_improvement_and_patience_follow_the_best_dev_score(tmp_path: Path) -> None:
    history = History(tmp_path / "h.jsonl")
    for event in [scored(0, "baseline", 0.6, "seed"), scored(0, "question", 0.7, "seed"), dev(0, "baseline", 0.62), dev(0, "question", 0.60)]:
        history.record(event)
    history.record(history.state.step_done_event(0))
    state = history.state
    assert (state.best_on_dev().template.id, state.best_dev_score, state.steps_without_improvement) == ("baseline", 0.62, 0)
    assert state.best_on_train().template.id == "question" and state.candidates_scored == 0

    for event in [scored(1, "s01c00", 0.8), dev(1, "s01c00", 0.70)]:
        history.record(event)
    history.record(history.state.step_done_event(1))
    assert (state.best_on_dev().template.id, state.steps_without_improvement, state.candidates_scored) == ("s01c00", 0, 1)

    # Equal dev score is no improvement; the tie goes to the higher train score.
    for event in [scored(2, "s02c00", 0.9), dev(2, "s02c00", 0.70)]:
        history.record(event)
    done = history.state.step_done_event(2)
    history.record(done)
    assert done["steps_without_improvement"] == 1 and done["best_dev_score"] == 0.70
    assert state.best_on_dev().template.id == "s02c00" and state.completed_step == 2

    # The file replays to the same state.
    again = replay(read_events(tmp_path / "h.jsonl"))
    assert (again.best_dev_score, again.steps_without_improvement, again.completed_step) == (0.70, 1, 2)
    assert list(again.prompts) == list(state.prompts) and again.seen_texts == state.seen_texts


def test_rejected_and_duplicate_texts_are_remembered_for_dedupe() -> None:
    state = SearchState()
    state.apply({**scored(1, "s01c00", 0.5), "status": "rejected", "reason": "too long", "train_score": None})
    state.apply({**scored(1, "s01c01", 0.5), "text": "", "status": "rejected", "reason": "no block"})
    assert state.seen_texts == {f"{PROMPT} s01c00": "s01c00"} and state.prompts == {}


def test_a_line_cut_off_by_a_crash_is_dropped_but_damage_elsewhere_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(scored(0, "a", 0.5)) + "\n" + '{"event": "cand')
    assert [e["prompt_id"] for e in read_events(path)] == ["a"]
    path.write_text('{"event": "cand\n' + json.dumps(scored(0, "a", 0.5)) + "\n")
    with pytest.raises(ValueError, match="line 1 is not JSON"):
        read_events(path)


def test_a_resumed_run_keeps_finished_steps_and_the_replies_of_the_unfinished_one() -> None:
    events = [
        {"event": "start", "step": 0},
        scored(0, "baseline", 0.6, "seed"), dev(0, "baseline", 0.6), {"event": "step_done", "step": 0},
        {"event": "meta_prompt", "step": 1, "text": "meta 1"},
        {"event": "optimizer_output", "step": 1, "index": 0, "raw": "reply 1"},
        scored(1, "s01c00", 0.7), {"event": "step_done", "step": 1},
        {"event": "meta_prompt", "step": 2, "text": "meta 2"},
        {"event": "optimizer_output", "step": 2, "index": 0, "raw": "reply 2a"},
        {"event": "optimizer_output", "step": 2, "index": 1, "raw": "reply 2b"},
        scored(2, "s02c00", 0.8),  # scored, but the step never finished
    ]  # fmt: skip
    kept, pending = replayable_events(events)
    assert kept == events[:8]
    assert list(pending) == [2] and pending[2].meta_prompt == "meta 2" and pending[2].outputs == ["reply 2a", "reply 2b"]

    stopped = events[:8] + [{"event": "stopped", "step": 1, "reason": "patience"}]
    kept, pending = replayable_events(stopped)
    assert kept == stopped and pending == {}

    before_seeds_finished = events[:2]
    assert replayable_events(before_seeds_finished) == ([{"event": "start", "step": 0}], {})


def test_a_new_prompt_file_keeps_the_earlier_one(tmp_path: Path) -> None:
    first = PromptTemplate("opro-a2-1", "Speech?\nA) yes\nB) no", "ab", "A", "B", {"run": "results/opro/a2/20260101-000000"})
    second = PromptTemplate("opro-a2-2", "Voice?\nA) yes\nB) no", "ab", "A", "B", {"run": "results/opro/a2/20260102-000000"})
    target = save_prompt_file(first, tmp_path, "a2")
    assert save_prompt_file(second, tmp_path, "a2") == target
    assert parse_prompt(target.read_text(), "a2") == second
    assert parse_prompt((tmp_path / "a2.20260101-000000.txt").read_text(), "x") == first
    save_prompt_file(first, tmp_path, "a2")  # the same run id again: a numbered name, nothing overwritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a2.20260101-000000.txt", "a2.20260102-000000.txt", "a2.txt"]
    save_prompt_file(second, tmp_path, "a2")
    assert (tmp_path / "a2.20260101-000000-1.txt").is_file()
