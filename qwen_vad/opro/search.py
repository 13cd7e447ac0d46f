"""The OPRO loop: seed prompts, then steps of meta-prompt -> proposals -> scores, until a budget.

Step 0 scores the seed prompts on the train subset and on dev. Each later step builds the
meta-prompt from the state (history mode) or from the task alone (random mode), asks the
optimizer for ``candidates_per_step`` replies, turns them into candidates (normalised,
de-duplicated against every earlier text, rejected with a reason when unusable), scores the
accepted ones on the train subset, and re-scores the step's best ``dev_rescored_per_step`` on
dev. The search stops at ``max_steps``, at ``max_candidates`` scored proposals, or after
``patience`` steps without a better dev score; the best prompt on dev wins.

Every change of state goes through ``History.record`` (see qwen_vad.opro.history), which is
what lets a resumed run replay it. Under a multi-process launch every rank runs this loop:
rank 0 alone asks the optimizer and shares its replies, every rank scores its share of each
prompt's clips and gets all the scores, so every rank takes the same steps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from qwen_vad.errors import ConfigError
from qwen_vad.config import OproConfig
from qwen_vad.distributed import share_from_main
from qwen_vad.opro.backends import Optimizer
from qwen_vad.opro.candidates import PROMPT_CLOSE, PROMPT_OPEN, extract_proposals, make_candidate
from qwen_vad.opro.exemplars import pick_exemplars
from qwen_vad.opro.history import DUPLICATE, OPTIMIZER, OVER_BUDGET, REJECTED, SCORED, SEED, History, ScoredPrompt
from qwen_vad.opro.meta_prompt import ScoredText, build_meta_prompt
from qwen_vad.opro.openai_client import OptimizerError
from qwen_vad.opro.reward import ANSWER_THRESHOLD, reward_scale
from qwen_vad.opro.search_scorer import SearchScorer
from qwen_vad.prompts import AB_MODE, PromptError, load_prompt

log = logging.getLogger(__name__)

MODES = ("history", "random")
NO_PROPOSAL = f"no {PROMPT_OPEN}...{PROMPT_CLOSE} block in the reply"


@dataclass
class PendingStep:
    """A step the interrupted run had asked the optimizer for but not finished: its replies are
    reused when the resumed run builds the same meta-prompt, so the optimizer is not asked twice."""

    meta_prompt: str
    outputs: list[str] = field(default_factory=list)


@dataclass
class Search:
    cfg: OproConfig
    seed: int
    history: History
    scorer: SearchScorer
    optimizer: Optimizer
    pending: dict[int, PendingStep] = field(default_factory=dict)

    def run(self) -> ScoredPrompt:
        """Search until a budget is spent; the best prompt on dev."""
        if self.cfg.mode not in MODES:
            raise ConfigError(f"opro.mode must be one of {', '.join(MODES)}, got {self.cfg.mode!r}")
        if not self.cfg.seed_prompts:
            raise ConfigError("opro.seed_prompts is empty: the search starts from at least one prompt")
        state = self.history.state
        if state.completed_step < 0:
            self.score_seeds()
        while (reason := self.stop_reason()) is None:
            self.step(state.completed_step + 1)
        if state.stop_reason is None:
            self.history.record({"event": "stopped", "step": state.completed_step, "reason": reason})
        log.info("search stopped (%s) after step %d", reason, state.completed_step)
        return state.best_on_dev()

    def stop_reason(self) -> str | None:
        state, cfg = self.history.state, self.cfg
        if state.stop_reason is not None:
            return state.stop_reason
        if state.completed_step >= cfg.max_steps:
            return f"max_steps ({cfg.max_steps}) reached"
        if state.candidates_scored >= cfg.max_candidates:
            return f"max_candidates ({cfg.max_candidates}) scored"
        if state.steps_without_improvement >= cfg.patience:
            return f"no better dev score in {cfg.patience} steps (patience)"
        return None

    # ----------------------------------------------------------------------------------------
    # Step 0

    def score_seeds(self) -> None:
        for name in self.cfg.seed_prompts:
            template = load_prompt(name)
            if template.mode != AB_MODE:
                raise PromptError(f"seed prompt {name!r} is open-ended; the search needs A/B prompts")
            self.history.record(
                {
                    "event": "candidate", "step": 0, "prompt_id": template.id, "origin": SEED, "output_index": None,
                    "text": template.text, "status": SCORED, "reason": None, "source": template.metadata.get("source", name),
                    "speech_option": template.speech_option, "nonspeech_option": template.nonspeech_option,
                    "train_score": self.scorer.score(template, "train"),
                }
            )  # fmt: skip
        # Every seed gets a dev score: the result is never worse on dev than the best hand-written prompt.
        for prompt in list(self.history.state.prompts.values()):
            self.record_dev_score(prompt, step=0)
        self.history.record(self.history.state.step_done_event(0))

    # ----------------------------------------------------------------------------------------
    # Steps 1..

    def step(self, step: int) -> None:
        meta_prompt = self.meta_prompt(step)
        self.history.record({"event": "meta_prompt", "step": step, "text": meta_prompt})
        outputs = self.ask_optimizer(step, meta_prompt)
        scored: list[ScoredPrompt] = []
        position = 0  # numbers the step's proposals: candidate ids s<step>c<position>
        # All replies are recorded before any is scored, so a run killed while scoring can reuse them.
        for index, raw in enumerate(outputs):
            self.history.record({"event": "optimizer_output", "step": step, "index": index, "raw": raw})
        for index, raw in enumerate(outputs):
            for text in extract_proposals(raw) or [None]:
                prompt = self.consider(step, f"s{step:02d}c{position:02d}", index, text)
                position += 1
                if prompt is not None:
                    scored.append(prompt)
        best_of_step = sorted(scored, key=lambda p: p.train_score, reverse=True)[: self.cfg.dev_rescored_per_step]
        for prompt in best_of_step:
            self.record_dev_score(prompt, step)
        self.history.record(self.history.state.step_done_event(step))
        state = self.history.state
        log.info("step %d: %d scored, best dev %.4f (%s), %d steps without improvement", step, len(scored),
                 state.best_dev_score, state.best_on_dev().template.id, state.steps_without_improvement)  # fmt: skip

    def meta_prompt(self, step: int) -> str:
        state = self.history.state
        rng = np.random.default_rng([self.seed, step])
        train = self.scorer.clips["train"]
        with_history = self.cfg.mode == "history"
        predicted = None
        if with_history:
            best = state.best_on_train()
            predicted = self.scorer.p_speech(best.template, "train") >= ANSWER_THRESHOLD
        exemplars = pick_exemplars(train, predicted, self.cfg.exemplars, rng)
        scale = reward_scale(self.cfg.reward_lambda)
        scored = [ScoredText(p.template.text, p.train_score / scale) for p in state.prompts.values()]
        return build_meta_prompt(scored, exemplars, with_history, self.cfg.history_size, self.cfg.score_buckets)

    def ask_optimizer(self, step: int, meta_prompt: str) -> list[str]:
        pending = self.pending.pop(step, None)
        if pending is not None and pending.meta_prompt == meta_prompt and len(pending.outputs) >= self.cfg.candidates_per_step:
            log.info("step %d: reusing the %d replies of the interrupted run", step, len(pending.outputs))
            return pending.outputs[: self.cfg.candidates_per_step]
        try:
            # Asked once (rank 0); a failure reaches every rank.
            return share_from_main(lambda: self.optimizer.propose(meta_prompt, self.cfg.candidates_per_step, step))
        except OptimizerError as err:
            self.history.record({"event": "optimizer_error", "step": step, "error": str(err)})
            raise

    def consider(self, step: int, prompt_id: str, index: int, text: str | None) -> ScoredPrompt | None:
        """Record one proposal as scored, rejected, duplicate or over budget; the scored prompt."""
        state = self.history.state
        event = {
            "event": "candidate", "step": step, "prompt_id": prompt_id, "origin": OPTIMIZER, "output_index": index,
            "text": "", "status": REJECTED, "reason": NO_PROPOSAL, "source": f"OPRO step {step}",
            "speech_option": None, "nonspeech_option": None, "train_score": None,
        }  # fmt: skip
        if text is None:
            self.history.record(event)
            return None
        candidate = make_candidate(text, prompt_id, event["source"], self.cfg.max_prompt_chars, self.scorer.needs_swappable_options)
        event["text"] = candidate.text
        if candidate.text in state.seen_texts:
            event.update(status=DUPLICATE, reason=f"same text as {state.seen_texts[candidate.text]}")
        elif not candidate.accepted:
            event["reason"] = candidate.rejection
        elif state.candidates_scored >= self.cfg.max_candidates:
            event.update(status=OVER_BUDGET, reason=f"max_candidates ({self.cfg.max_candidates}) already scored")
        else:
            template = candidate.template
            event.update(
                status=SCORED, reason=None, speech_option=template.speech_option,
                nonspeech_option=template.nonspeech_option, train_score=self.scorer.score(template, "train"),
            )  # fmt: skip
        self.history.record(event)
        return state.prompts.get(prompt_id) if event["status"] == SCORED else None

    def record_dev_score(self, prompt: ScoredPrompt, step: int) -> None:
        dev_score = self.scorer.score(prompt.template, "dev")
        self.history.record({"event": "dev_score", "step": step, "prompt_id": prompt.template.id, "dev_score": dev_score})
