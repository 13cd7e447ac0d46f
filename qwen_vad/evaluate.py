"""``python -m qwen_vad.evaluate exp=NAME [split=test]``: score the evaluation set with one system.

The system is the one ``evaluate.system`` names in the systems registry
(qwen_vad.scoring.systems): the audio LLM (``qwen``, with the experiment's model, adapter and
prompt) or a classic VAD (webrtc, silero, energy, ten_vad, ...); all write the same
``predictions.parquet``. Every row goes through the same protocol (qwen_vad.scoring.protocol):
the threshold is learned on the full dev split and applied to the reported split; the test
split never tunes anything. With ``model.backend=server`` the LLM is scored through an inference
server (docs/serving.md), and ``resume=true`` continues an interrupted run without asking the
server again for the clips it had scored.
"""

from __future__ import annotations

from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.data.datasets import open_evaluation_set
from qwen_vad.runs import Run
from qwen_vad.scoring.protocol import score_and_record
from qwen_vad.scoring.systems import make_scorer, scoring_system
from qwen_vad.serving.run_answers import keep_answers, resumed_run


def evaluate(cfg: Config, run: Run) -> None:
    scoring_system(cfg.evaluate.system)  # an unknown system fails here, before any work
    dataset = open_evaluation_set(cfg)  # checked to be built from the experiment's data config
    resumed = resumed_run(cfg, run)  # resume=true: the interrupted run this one continues
    scorer = make_scorer(cfg)  # a VAD, or the LLM with its model, adapter and prompt
    keep_answers(run, scorer, resumed)  # model.backend=server: answers kept in the run, the resumed run's reused
    score_and_record(cfg, run, scorer, dataset)  # dev (threshold) + test: predictions, metrics


main = stage_main("evaluate")(evaluate)

if __name__ == "__main__":
    main()
