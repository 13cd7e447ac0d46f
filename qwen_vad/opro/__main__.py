"""``python -m qwen_vad.opro exp=a2``: OPRO prompt search for the audio LLM (docs/opro.md).

An optimizer LLM reads the best prompts so far with their scores and proposes new ones; the
audio LLM scores them on a train subset, the best are re-scored on dev, and the best prompt on
dev is evaluated once on test and written to ``prompts/optimized/<exp>.txt``.

``torchrun --nproc_per_node N -m qwen_vad.opro exp=a2`` (or ``accelerate launch``) shares the
scoring out among N processes; the search, its history and its result are those of one process.
"""

from __future__ import annotations

from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.distributed import is_main_process
from qwen_vad.opro.backends import open_optimizer
from qwen_vad.opro.final import evaluate_final_prompt, publish, published_template
from qwen_vad.opro.search import Search
from qwen_vad.opro.session import open_session
from qwen_vad.runs import Run
from qwen_vad.scoring.systems import require_llm


def opro(cfg: Config, run: Run) -> None:
    require_llm(cfg, "opro")  # the searched prompt is scored and recorded as evaluate.system's LLM
    session = open_session(cfg, run)  # model, search clips (train subset, dev), caches, history (new or resumed)
    with open_optimizer(cfg.opro, cfg.seed, session.model, session.processor) as optimizer:
        best = Search(cfg.opro, cfg.seed, session.history, session.scorer, optimizer, session.pending).run()
    template = published_template(best, run)
    scored, threshold = evaluate_final_prompt(cfg, run, session, template)  # threshold on dev, test scored once
    if is_main_process():  # every rank searched and scored alike; one publishes
        publish(cfg, run, session, best, template, scored, threshold)  # prompts/optimized/<exp>.txt, metrics.json


main = stage_main("opro")(opro)

if __name__ == "__main__":
    main()
