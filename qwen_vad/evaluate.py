"""``python -m qwen_vad.evaluate exp=NAME [split=test]``: score a dataset split with one system.

The system is the audio LLM (``evaluate.system=qwen``) or a classic VAD (webrtc, silero,
energy, ten_vad); all write the same ``predictions.parquet``. The decision threshold is
learned on the dev split and then applied to the reported split: the test split never tunes
anything.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from qwen_vad.analysis.jsonable import to_jsonable
from qwen_vad.analysis.metrics import classification_metrics
from qwen_vad.cli import stage_main
from qwen_vad.config import Config
from qwen_vad.data.manifest import read_manifest
from qwen_vad.data.store import build_record, dataset_dir, is_built
from qwen_vad.latency import STAGES, percentiles_ms
from qwen_vad.runs import Run
from qwen_vad.scoring import Scorer
from qwen_vad.scoring_run import ScoredClips, is_speech_label, predictions_frame, score_clips, subset_clips
from qwen_vad.thresholds import learn_threshold

log = logging.getLogger("qwen_vad.evaluate")


def evaluate(cfg: Config, run: Run) -> None:
    folder, manifest = load_dataset(cfg)
    score_and_write(cfg, run, make_scorer(cfg), folder, manifest)


def score_and_write(cfg: Config, run: Run, scorer: Scorer, folder: Path, manifest: pd.DataFrame, extra_metrics: dict | None = None) -> None:
    """Score dev (for the threshold) and ``cfg.split``, then write predictions, threshold and
    metrics; the finetune stage scores its trained adapter through this same step."""
    scored = {
        split: score_clips(scorer, subset_clips(manifest, split, cfg.evaluate.max_clips, cfg.seed), folder,
                           cfg.evaluate.warmup_batches, desc=f"{scorer.system} {split}")
        for split in splits_to_score(cfg, scorer)
    }  # fmt: skip
    threshold = decide_threshold(cfg, scorer, scored)
    predictions = pd.concat([predictions_frame(s.rows, scorer, threshold["threshold"]) for s in scored.values()])
    write_outputs(run, predictions, threshold, scored, scorer, extra_metrics)


def load_dataset(cfg: Config) -> tuple[Path, pd.DataFrame]:
    """The experiment's dataset, checked to be built from the experiment's own data config."""
    folder = dataset_dir(cfg.paths.data_dir, cfg.data.name)
    if not is_built(folder, build_record(cfg.data)):
        raise FileNotFoundError(f"{folder}: dataset {cfg.data.name!r} is not built; run `python -m qwen_vad.data exp=...` first")
    return folder, read_manifest(folder)


def make_scorer(cfg: Config) -> Scorer:
    if cfg.evaluate.system != "qwen":
        from qwen_vad.baselines.scorers import make_vad_scorer

        return make_vad_scorer(cfg.evaluate.system, cfg.baselines)
    from qwen_vad.decoding import LLMScorer
    from qwen_vad.models.loader import load_model
    from qwen_vad.prompts import load_prompt

    m = cfg.model
    model, processor = load_model(m.name_or_path, m.dtype, m.device, m.attn_implementation, m.adapter, m.load_in_4bit, m.fast_encoder)
    return LLMScorer(model, processor, load_prompt(cfg.decoding.prompt), cfg.decoding, llm_system_name(cfg))


def llm_system_name(cfg: Config) -> str:
    name = Path(cfg.model.name_or_path.rstrip("/")).name
    return f"{name}+lora" if cfg.model.adapter else name


def splits_to_score(cfg: Config, scorer: Scorer) -> list[str]:
    if cfg.split not in ("train", "dev", "test"):
        raise ValueError(f"split must be train, dev or test, got {cfg.split!r}")
    needs_dev = cfg.evaluate.threshold is None and not scorer.gives_labels
    return list(dict.fromkeys((["dev"] if needs_dev else []) + [cfg.split]))


def decide_threshold(cfg: Config, scorer: Scorer, scored: dict[str, ScoredClips]) -> dict:
    if scorer.gives_labels:
        return {"threshold": None, "source": "none: generate mode answers with labels"}
    if cfg.evaluate.threshold is not None:
        return {"threshold": float(cfg.evaluate.threshold), "source": "fixed (evaluate.threshold)"}
    dev = scored["dev"].rows
    learned = learn_threshold(dev["p_speech"].to_numpy(), is_speech_label(dev["label"]))
    log.info("threshold %.4f learned on %d dev clips (balanced accuracy %.3f)", learned["threshold"], len(dev), learned["dev_balanced_accuracy"])
    return {**learned, "source": "learned on dev (max balanced accuracy)", "n_dev": len(dev)}


def write_outputs(
    run: Run, predictions: pd.DataFrame, threshold: dict, scored: dict[str, ScoredClips], scorer: Scorer, extra_metrics: dict | None = None
) -> None:
    predictions.reset_index(drop=True).to_parquet(run.path("predictions.parquet"), index=False)
    run.path("threshold.json").write_text(json.dumps(threshold, indent=2) + "\n")
    skipped = [dict(s, split=split) for split, result in scored.items() for s in result.skipped]
    pd.DataFrame(skipped, columns=["split", "clip_id", "path", "error"]).to_csv(run.path("skipped_clips.csv"), index=False)
    metrics = {
        "system": scorer.system,
        "prompt_id": scorer.prompt_id,
        "threshold": threshold,
        "skipped_clips": {split: len(result.skipped) for split, result in scored.items()},
        "splits": {split: classification_metrics(frame) for split, frame in predictions.groupby("split")},
        "latency_ms": latency_summary(predictions),
        **(extra_metrics or {}),
    }
    run.path("metrics.json").write_text(json.dumps(to_jsonable(metrics), indent=2, allow_nan=False) + "\n")
    for split, block in metrics["splits"].items():
        log.info("%s %s: accuracy %.3f, balanced accuracy %.3f (n=%d)", scorer.system, split,
                 block["accuracy"], block["balanced_accuracy"], block["n"])  # fmt: skip


def latency_summary(predictions: pd.DataFrame) -> dict:
    columns = [f"{s}_ms" for s in STAGES] + ["latency_ms"]
    return {c.removesuffix("_ms") if c != "latency_ms" else "total": percentiles_ms(predictions[c] / 1000) for c in columns}


main = stage_main("evaluate")(evaluate)

if __name__ == "__main__":
    main()
