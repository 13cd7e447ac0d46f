"""The evaluation protocol every row of the comparison matrix goes through.

Whatever produced the system (a VAD, the base model with a hand-written or searched prompt, a
fine-tuned adapter), it is scored the same way: the evaluation set's full dev split, where the
decision threshold is learned (and, in the analysis, the calibration temperature), and the
reported split (``split``, the test split), where nothing is tuned. With ``evaluate.max_clips``
both are the same seeded subsets for every row (drawn with ``data.seed``, not the run's seed).

The run folder gets ``predictions.parquet``, ``threshold.json``, ``skipped_clips.csv``,
``prompt.txt`` (the prompt an LLM was asked) and ``metrics.json`` (the system and its kind,
metrics per split, clips scored and skipped per split, the dataset's fingerprint, latency,
input warnings, latency per rank and the scoring loop's timing). The evaluate, finetune and opro
stages all end here. The system's kind (llm | vad) is that of ``evaluate.system`` in the systems
registry (qwen_vad.scoring.systems).

Under a multi-process launch (``torchrun`` / ``accelerate launch``) every rank scores its share of
the batches (qwen_vad.scoring.sharding), every rank gets all the rows and learns the same
threshold, and rank 0 writes the outputs: the predictions are those of a single process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pandas as pd

from qwen_vad.errors import ConfigError
from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.metrics import classification_metrics
from qwen_vad.config import Config, EvaluateConfig
from qwen_vad.data.datasets import Dataset
from qwen_vad.prompts import format_prompt_file
from qwen_vad.runs import Run
from qwen_vad.scoring.base import Scorer
from qwen_vad.distributed import is_main_process
from qwen_vad.scoring.batches import RANK_COLUMN, ScoredClips, score_clips
from qwen_vad.scoring.input_checks import input_warnings
from qwen_vad.scoring.latency import STAGES, percentiles_ms
from qwen_vad.scoring.loading import input_workers
from qwen_vad.scoring.predictions import SYSTEM_KIND_COLUMN, is_speech_label, predictions_frame, with_system_kind
from qwen_vad.scoring.subsets import subset_clips
from qwen_vad.scoring.systems import system_kind
from qwen_vad.scoring.thresholds import learn_threshold

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "dev", "test")
THRESHOLD_SPLIT = "dev"
PROMPT_COPY = "prompt.txt"


@dataclass
class ProtocolResult:
    predictions: pd.DataFrame
    threshold: dict
    scored: dict[str, ScoredClips]


def protocol_splits(cfg: Config) -> list[str]:
    """The full dev split (thresholds, temperatures, choosing the best system) and the reported
    split. Generate mode needs no threshold, but is scored on dev all the same, so every row of
    the matrix carries the same dev evidence."""
    if cfg.split not in SPLIT_NAMES:
        raise ConfigError(f"split must be one of {', '.join(SPLIT_NAMES)}, got {cfg.split!r}")
    return list(dict.fromkeys([THRESHOLD_SPLIT, cfg.split]))


def protocol_clips(cfg: Config, dataset: Dataset) -> dict[str, pd.DataFrame]:
    return {split: subset_clips(dataset.manifest, split, cfg.evaluate.max_clips, cfg.data.seed) for split in protocol_splits(cfg)}


def score_and_record(cfg: Config, run: Run, scorer: Scorer, dataset: Dataset, extra_metrics: dict | None = None) -> ProtocolResult:
    """Score dev and the reported split, learn the threshold on dev, write the run's outputs."""
    kind = system_kind(cfg)
    workers = input_workers(cfg.evaluate.num_workers, scorer)
    scored = {
        split: score_clips(scorer, clips, dataset.folder, cfg.evaluate.warmup_batches, desc=f"{scorer.system} {split}",
                           num_workers=workers, data_parallel=True)
        for split, clips in protocol_clips(cfg, dataset).items()
    }  # fmt: skip
    threshold = decide_threshold(cfg.evaluate, scorer, scored)
    predictions = pd.concat([predictions_frame(s.rows, scorer, threshold["threshold"]) for s in scored.values()], ignore_index=True)
    predictions = with_system_kind(predictions, kind)
    if is_main_process():  # every rank holds the same predictions; one writes them
        write_outputs(run, predictions, threshold, scored, scorer, kind, dataset, extra_metrics)
    return ProtocolResult(predictions, threshold, scored)


def decide_threshold(cfg: EvaluateConfig, scorer: Scorer, scored: dict[str, ScoredClips]) -> dict:
    if scorer.gives_labels:
        return {"threshold": None, "source": "none: generate mode answers with labels"}
    if cfg.threshold is not None:
        return {"threshold": float(cfg.threshold), "source": "fixed (evaluate.threshold)"}
    dev = scored[THRESHOLD_SPLIT].rows
    learned = learn_threshold(dev["p_speech"].to_numpy(), is_speech_label(dev["label"]))
    log.info("threshold %.4f learned on %d dev clips (balanced accuracy %.3f)", learned["threshold"], len(dev), learned["dev_balanced_accuracy"])
    return {**learned, "source": "learned on the full dev split (max balanced accuracy)", "n_dev": len(dev)}


def write_outputs(
    run: Run,
    predictions: pd.DataFrame,
    threshold: dict,
    scored: dict[str, ScoredClips],
    scorer: Scorer,
    kind: str,
    dataset: Dataset,
    extra_metrics: dict | None = None,
) -> None:
    predictions.to_parquet(run.path("predictions.parquet"), index=False)
    run.path("threshold.json").write_text(json.dumps(threshold, indent=2) + "\n")
    skipped = [dict(s, split=split) for split, result in scored.items() for s in result.skipped]
    pd.DataFrame(skipped, columns=["split", "clip_id", "path", "error"]).to_csv(run.path("skipped_clips.csv"), index=False)
    if scorer.template is not None:
        run.path(PROMPT_COPY).write_text(format_prompt_file(scorer.template), encoding="utf-8")
    warnings = {split: input_warnings(frame) for split, frame in predictions.groupby("split")}
    for split, found in warnings.items():
        for warning in found:
            log.warning("%s %s: %s", scorer.system, split, warning["message"])
    metrics = {
        "system": scorer.system,
        SYSTEM_KIND_COLUMN: kind,
        "prompt_id": scorer.prompt_id,
        "threshold": threshold,
        "dataset": {"name": dataset.config.name, "fingerprint": dataset.fingerprint},
        "clips": {split: len(result.rows) for split, result in scored.items()},
        "skipped_clips": {split: len(result.skipped) for split, result in scored.items()},
        "splits": {split: classification_metrics(frame) for split, frame in predictions.groupby("split")},
        "latency_ms": latency_summary(predictions),
        # Per process of a multi-process launch (one entry, "0", in a single process).
        "latency_ms_by_rank": {str(rank): latency_summary(rows) for rank, rows in predictions.groupby(RANK_COLUMN)},
        "scoring_loop": {split: result.timing for split, result in scored.items()},
        "warnings": warnings,
        **(extra_metrics or {}),
    }
    run.path("metrics.json").write_text(json.dumps(to_jsonable(metrics), indent=2, allow_nan=False) + "\n")
    for split, block in metrics["splits"].items():
        log.info("%s %s: accuracy %.3f, balanced accuracy %.3f (n=%d)", scorer.system, split,
                 block["accuracy"], block["balanced_accuracy"], block["n"])  # fmt: skip


def latency_summary(predictions: pd.DataFrame) -> dict:
    columns = [f"{s}_ms" for s in STAGES] + ["latency_ms"]
    return {c.removesuffix("_ms") if c != "latency_ms" else "total": percentiles_ms(predictions[c] / 1000) for c in columns}
