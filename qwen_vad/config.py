"""The structured configuration of every stage, and the loading of experiments.

One schema (``Config``) serves every stage: each stage reads the sections it needs. Experiments
are small YAML files under ``experiments/`` that override only what differs from these
defaults; they are registered as the Hydra config group ``exp`` (``exp=NAME``). Every default
below carries the reason it was chosen.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

# --------------------------------------------------------------------------------------------
# data: python -m qwen_vad.data


@dataclass
class SourceConfig:
    """One corpus (or the synthetic generator) that clean segments are drawn from.

    Options that only some kinds read say so; ``qwen_vad.data.sources.registry`` maps them.
    """

    # synthetic | folder | esc50 | musan | librispeech | voxconverse | hf
    kind: str = "synthetic"
    # Corpus folder (hf: a folder saved with save_to_disk, or a hub id).
    root: str = ""
    # Segments are cut this long; the longest clip (1000 ms) is centred inside one.
    segment_ms: int = 2000
    # Windows taken from one long file, so one recording cannot dominate a category
    # (null: the adapter's own default, chosen for its corpus).
    max_windows_per_file: Optional[int] = None
    # Files shorter than this are skipped: too short to centre-cut the longest clip.
    min_file_ms: int = 1000
    # Only these categories are used (empty: all the source offers).
    categories: list[str] = field(default_factory=list)
    # folder: first-level sub-folders whose clips are SPEECH.
    speech_categories: list[str] = field(default_factory=lambda: ["speech"])
    # folder: leading path levels that name the leakage group (0: each file is its own group).
    group_depth: int = 0
    # esc50: folds to use (all five by default).
    folds: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    # librispeech: sub-corpora such as train-clean-100 (empty: all found under root).
    subsets: list[str] = field(default_factory=list)
    # voxconverse: folders under root, and distance kept from annotated region edges.
    audio_dir: str = "audio"
    rttm_dir: str = "rttm"
    edge_margin_ms: int = 100
    # hf: split and column names; label values meaning SPEECH.
    split: str = "train"
    audio_column: str = "audio"
    label_column: str = "label"
    speech_labels: list[str] = field(default_factory=lambda: ["speech"])
    category_column: str = ""
    group_column: str = ""


@dataclass
class HygieneConfig:
    """VAD checks on the clean clip before mixing (research plan: WebRTC mode 3, 30 ms)."""

    enabled: bool = True
    webrtc_mode: int = 3  # the most aggressive mode: least likely to call noise speech
    webrtc_frame_ms: int = 30
    silero: bool = True  # load Silero: a second, neural opinion
    speech_min_activity: float = 0.70  # a SPEECH clip must be mostly speech
    nonspeech_max_activity: float = 0.05  # a NONSPEECH clip must hold (almost) no speech
    # Which VADs must agree. WebRTC calls broadband noise at normal levels speech (white, pink
    # and brown noise at -20 dBFS RMS: 100 % voiced frames in mode 3), so as a NONSPEECH filter
    # it would remove the noise category and the hardest negatives; its activity is still
    # recorded in the manifest for every clip.
    speech_vads: list[str] = field(default_factory=lambda: ["webrtc", "silero"])
    nonspeech_vads: list[str] = field(default_factory=lambda: ["silero"])


@dataclass
class OneAxisConfig:
    """The degradation bank of the follow-up work: one axis varied at a time (22 conditions).
    Which field holds which axis's levels is declared in qwen_vad.conditions."""

    durations_ms: list[int] = field(default_factory=lambda: [20, 40, 60, 80, 100, 200, 500, 1000])
    snrs_db: list[float] = field(default_factory=lambda: [-10.0, -5.0, 0.0, 5.0, 10.0, 20.0])
    reverb_rt60_s: list[float] = field(default_factory=lambda: [0.0, 0.3, 1.0, 2.5])
    filters: list[str] = field(default_factory=lambda: ["none", "bandpass", "lowpass", "highpass"])
    # The level every other axis is held at while one axis varies.
    neutral_duration_ms: int = 1000
    neutral_snr_db: float = float("inf")  # clean


@dataclass
class SplitConfig:
    # Research plan: 60/20/20 by video/file (leakage group). A ratio of 0: no such split
    # (train-only sets); each split with a positive ratio gets at least one group per category.
    train: float = 0.6
    dev: float = 0.2
    test: float = 0.2


@dataclass
class DataConfig:
    # The dataset folder is <paths.data_dir>/<name>. The defaults describe the study's factorial
    # test set, which every comparison row (a1, a2, b3, b4, d1, d2) shares.
    name: str = "factorial"
    # The dataset's own seed, apart from the top-level seed: a seed sweep of training or
    # scoring (-m seed=1,2,3) then shares one dataset, and so one test set.
    seed: int = 42
    # The corpora clean segments come from, by name (the name prefixes their groups). Taken as
    # given: an experiment naming sources gets exactly those. Empty: the built-in synthetic
    # source, so the offline default needs no corpus (it is recorded as such in build.json).
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    # Background noise for SNR mixing: a pool kept apart from the targets, never speech.
    background: SourceConfig = field(default_factory=lambda: SourceConfig(kind="synthetic"))
    design: str = "factorial"  # factorial | one_axis
    # factorial axes (research plan: 4 durations x 5 SNRs x 2 classes = 40 cells); the fields
    # each condition axis reads are declared in qwen_vad.conditions
    durations_ms: list[int] = field(default_factory=lambda: [200, 300, 500, 1000])
    snrs_db: list[float] = field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 20.0])
    reverb_rt60_s: list[float] = field(default_factory=lambda: [0.0])
    filters: list[str] = field(default_factory=lambda: ["none"])
    # Clips per factorial cell and class, over all splits (research plan: 25-75 -> 2,000 clips).
    per_cell: int = 50
    one_axis: OneAxisConfig = field(default_factory=OneAxisConfig)
    # one_axis: clean base clips per class; each yields one variant per condition.
    base_clips_per_class: int = 20
    # >0: centre every clip in a container this long, padded with very low-level noise.
    container_ms: int = 0
    container_noise_dbfs: float = -70.0  # far below any clip, yet not digital silence
    peak_dbfs: float = -1.0  # peak normalisation target: loud but never clipping
    splits: SplitConfig = field(default_factory=SplitConfig)
    # The build fails if a cell has fewer clips than this in any split (50 x 20 % = 10).
    min_per_cell_split: int = 10
    hygiene: HygieneConfig = field(default_factory=HygieneConfig)
    export_hf: bool = False  # also save a datasets.DatasetDict with an Audio column


def changes_of(cls: type) -> type:
    """A dataclass with ``cls``'s fields, each optional and unset (None): a set of changes to a
    ``cls``, so an experiment can say "like ``data``, but ..." and every key is still checked
    against the schema. Nested sections become changes of their own; dict and list values
    replace the base's whole (a training set naming its sources gets exactly those)."""
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        kind = changes_of(kind) if dataclasses.is_dataclass(kind) else kind
        fields.append((f.name, Optional[kind], dataclasses.field(default=None)))
    changes = dataclasses.make_dataclass(f"{cls.__name__.removesuffix('Config')}Changes", fields)
    changes.__module__ = __name__
    return changes


def apply_changes(base: object, changes: object) -> object:
    """``base`` with every set (non-None) field of ``changes`` applied, nested sections field by field."""
    updates = {}
    for f in dataclasses.fields(changes):
        value = getattr(changes, f.name)
        if value is None:
            continue
        updates[f.name] = apply_changes(getattr(base, f.name), value) if dataclasses.is_dataclass(value) else value
    return dataclasses.replace(base, **updates)


# What a training set changes relative to the evaluation set (Config.train_data).
DataChanges = changes_of(DataConfig)


# --------------------------------------------------------------------------------------------
# scoring: python -m qwen_vad.evaluate


@dataclass
class ModelConfig:
    # A hub id or a local folder (e.g. one made by `python -m qwen_vad.models.tiny`).
    name_or_path: str = "Qwen/Qwen2-Audio-7B-Instruct"
    dtype: str = "bf16"  # bf16 | fp16 | fp32; bf16 halves memory at no measurable cost on GPUs
    device: str = "auto"  # CUDA when available, else CPU
    attn_implementation: str = "sdpa"
    adapter: Optional[str] = None  # a peft LoRA folder (a finetune run's adapter/)
    # b4: take the adapter from the latest finished `finetune` run of this experiment with this
    # run's seed (its adapter/ folder), so a seed sweep of b4 builds on b3's same-seed adapter.
    # Every stage resolves it the same way (evaluate, opro). null: use model.adapter as given.
    adapter_from_finetune: Optional[str] = None
    load_in_4bit: bool = False  # NF4 QLoRA-style loading; CUDA only
    # Run the audio encoder on the frames the clips need instead of a fixed 30 s (same logits).
    # Qwen2-Audio only: the Omni encoders keep only a clip's own frames anyway.
    fast_encoder: bool = True
    # qwen2_audio | qwen2_5_omni | qwen3_omni (qwen_vad.models.families). null: read from the
    # checkpoint's config.json model_type; set it for a checkpoint whose type the table lacks.
    family: Optional[str] = None
    # Offline rehearsals (the smoke overlay): a folder of tiny random stand-ins, one per family;
    # a hub id then loads <stand_in_dir>/<its family> instead, a local folder is used as it is
    # (qwen_vad.models.stand_ins). null: load name_or_path itself.
    stand_in_dir: Optional[str] = None
    # Where the model runs (qwen_vad.scoring.backends): local (loaded in this process) | server
    # (an OpenAI-compatible chat-completions server holds it: vLLM, or qwen_vad.models.serve;
    # docs/serving.md). With server, this process loads only the tokenizer of name_or_path (for
    # the option letters' token ids), and dtype, device, 4-bit and fast_encoder are the server's.
    backend: str = "local"
    # backend=server: the server's /v1 address, e.g. http://127.0.0.1:8000/v1 (vLLM's default port).
    server_url: str = ""
    # The model name the server serves (vLLM: the model argument, or --served-model-name; a LoRA
    # adapter served with --lora-modules NAME=PATH: NAME). Empty: the only model GET /models lists.
    server_model: str = ""
    # Requests in flight at once: vLLM batches concurrent requests itself, so this is its batch.
    server_concurrency: int = 16
    # A 7B forward of one short clip takes well under a second; a hung server must not stall the run.
    server_timeout_s: float = 120.0
    # Transient failures (refused connection, timeout, HTTP 408/429/5xx, unreadable reply) are
    # retried, waiting backoff_s, then twice as long each time: 2+4+8+16 s rides out a restart.
    server_max_retries: int = 4
    server_backoff_s: float = 2.0
    # The environment variable holding the server's API key (vLLM --api-key), so the key never
    # lands in config.yaml. Unset or empty: no Authorization header.
    server_api_key_env: str = "QWEN_VAD_SERVER_API_KEY"


@dataclass
class DecodingConfig:
    mode: str = "ab"  # ab: constrained A/B scoring; generate: free text + answer normaliser
    prompt: str = "baseline"  # a template in prompts/ (or a path)
    system_prompt: Optional[str] = None  # None: the chat template's default system turn
    temperature: float = 1.0  # applied to the two option logits
    # Also score with the options in swapped order and average, to cancel letter bias.
    swap_options: bool = False
    batch_size: int = 8
    max_new_tokens: int = 16  # generate mode: a short answer is all we parse
    # generate mode decodes greedily with no repetition penalty and no top-k/top-p, whatever the
    # checkpoint's generation_config holds (Qwen2-Audio-7B-Instruct ships sampling settings and
    # repetition_penalty 1.1, which would penalise the option tokens the prompt itself contains).


@dataclass
class BaselinesConfig:
    webrtc_mode: int = 3  # research plan: the most aggressive mode
    webrtc_frame_ms: int = 30
    silero_aggregation: str = "max"  # max | mean | share (of windows above 0.5)
    energy_frame_ms: int = 20
    # A frame is "active" when it is this far above the clip's quietest decile.
    energy_margin_db: float = 6.0
    ten_vad_hop: int = 256  # 16 ms frames, TEN VAD's default


@dataclass
class EvaluateConfig:
    # A name in the systems registry (qwen_vad.scoring.systems.SYSTEMS): qwen (the audio LLM of
    # the model section) | webrtc | silero | energy | ten_vad.
    system: str = "qwen"
    # Decision threshold on p_speech: null learns it on dev (max balanced accuracy); a number fixes it.
    threshold: Optional[float] = None
    # >0: score at most this many clips per split (a seeded, label-stratified subset) for quick checks.
    max_clips: int = 0
    # Batches scored once before timing starts, so latency excludes one-off start-up costs.
    warmup_batches: int = 1
    # Background workers (torch DataLoader) reading audio and building the audio LLM's inputs
    # ahead of its forward pass; 0 does it inline. null (automatic): 4 per process on a GPU,
    # which then never waits for its next batch of short clips, and 0 on a CPU, where workers
    # would take the cores the model itself runs on. VADs always read inline.
    num_workers: Optional[int] = None


# --------------------------------------------------------------------------------------------
# fine-tuning: python -m qwen_vad.finetune  (section added by the fine-tuning work)


@dataclass
class LoraConfig:
    """Low-rank adapters (peft) on the language model; see docs/finetuning.md."""

    r: int = 16  # research plan; ranks 8/16/32/64 are one of its open questions
    alpha: int = 32  # research plan: alpha = 2r, the usual scale for the adapter's update
    dropout: float = 0.05  # research plan: light regularisation for 1-3k training clips
    # The language model's linear projections, attention and MLP (all seven, as QLoRA found best).
    # Only language-model modules are matched: the audio encoder's layers reuse some names.
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class SpecAugmentConfig:
    """Masks on the log-mel features of training clips only (research plan: light, for short clips)."""

    probability: float = 0.5  # research plan: half of the training examples are augmented
    freq_mask_bins: int = 10  # research plan: F = 10 of the 128 mel bins at most
    # Research plan: 5 % of the clip; of its valid frames, so padding never counts (a 200-ms clip
    # has 20 frames: a mask of at most 1 frame).
    time_mask_fraction: float = 0.05


@dataclass
class FinetuneConfig:
    lora: LoraConfig = field(default_factory=LoraConfig)
    # Modules trained in full beside the adapters and saved with them (peft modules_to_save), e.g.
    # multi_modal_projector, lm_head (not yet audio_tower: docs/finetuning.md). Empty: encoder,
    # projector and lm_head stay frozen, so the audio features are the pretrained ones.
    train_in_full: list[str] = field(default_factory=list)
    # Prompt augmentation: each training example gets a prompt drawn from these templates (the
    # answer letter follows each one's mapping), so prompts found later by OPRO transfer.
    # Empty: decoding.prompt only, the prompt the dev and test scores use.
    prompts: list[str] = field(default_factory=list)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    epochs: float = 5.0  # research plan
    # >0: stop after this many optimizer steps instead (short smoke and benchmark runs).
    max_steps: int = 0
    # Research plan: batch 8 x accumulation 2 = 16 clips per step; 8 short clips fit a 24-GB GPU
    # with QLoRA and gradient checkpointing (docs/finetuning.md).
    batch_size: int = 8
    gradient_accumulation: int = 2
    lr: float = 2e-4  # research plan; the common LoRA learning rate for 7B models
    lr_scheduler: str = "cosine"  # research plan (any transformers scheduler name)
    warmup_steps: int = 100  # research plan
    # Research plan: constrained A/B scoring of the dev split every 50 steps; the adapter with the
    # best dev balanced accuracy is the one kept.
    eval_steps: int = 50
    # Stop after this many dev evaluations without a better balanced accuracy (0: never early):
    # 3 x 50 steps is two epochs of b3's 1,200 training clips without progress.
    early_stopping_patience: int = 3
    logging_steps: int = 10  # training loss and learning rate to the log and TensorBoard
    # Checkpoints kept (the best is always kept too): the latest is what resume=true continues from.
    save_total_limit: int = 2
    # Recompute activations in the backward pass: ~30 % slower, but what lets a 7B model train on
    # a 24-GB GPU. Off for the tiny CPU model, where memory is no concern.
    gradient_checkpointing: bool = True


@dataclass
class LossConfig:
    # Which tokens the loss is computed on (b1 vs b2 is this one line):
    #   answer      the answer letter only (research plan: the better gradient signal; b2-b4)
    #   answer_eos  the answer letter and the <|im_end|> after it
    #   full        every text token of the prompt and the answer (b1)
    #   ab          cross-entropy over the two option letters' logits at the answer position
    mode: str = "answer"


# --------------------------------------------------------------------------------------------
# prompt search: python -m qwen_vad.opro  (section added by the OPRO work)


@dataclass
class OpenAIOptimizerConfig:
    """Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, hosted APIs)."""

    # vLLM's default address (`vllm serve MODEL`); docs/opro.md lists Ollama's and llama.cpp's.
    base_url: str = "http://localhost:8000/v1"
    # The name the server knows the model by; Qwen2.5-7B-Instruct fits next to the scorer on one GPU.
    model: str = "Qwen/Qwen2.5-7B-Instruct"
    # The environment variable holding the API key, so the key never lands in config.yaml.
    # Unset or empty: no Authorization header (local servers need none).
    api_key_env: str = "OPENAI_API_KEY"
    # Eight short prompts take seconds on a 7B server; a hung server must not stall the run.
    timeout_s: float = 120.0
    # Transient failures (refused connection, timeout, HTTP 408/429/5xx, unreadable reply) are retried.
    max_retries: int = 4
    # First wait between attempts, doubled each time: 2+4+8+16 s rides out a server restart.
    backoff_s: float = 2.0


@dataclass
class HFOptimizerConfig:
    """A local transformers causal LM with a chat template, loaded beside the scorer."""

    name_or_path: str = "Qwen/Qwen2.5-7B-Instruct"  # instruction-tuned, follows the <PROMPT> format
    dtype: str = "bf16"  # bf16 | fp16 | fp32; bf16 halves memory on GPUs
    device: str = "auto"  # CUDA when available, else CPU


@dataclass
class OproConfig:
    """OPRO (Yang et al. 2023, "Large Language Models as Optimizers"); see docs/opro.md."""

    # openai | hf | self (the scorer's own language model, text only) | scripted (the offline
    # test double: a local HTTP server proposing deterministic rewrites, for smoke runs).
    optimizer: str = "openai"
    openai: OpenAIOptimizerConfig = field(default_factory=OpenAIOptimizerConfig)
    hf: HFOptimizerConfig = field(default_factory=HFOptimizerConfig)
    # history: OPRO's meta-prompt with the best prompts so far; random: one-shot APE-style
    # proposals without history, the ablation that measures what the history buys.
    mode: str = "history"
    # Paper defaults: 8 candidates per step sampled at temperature 1.0 (diverse proposals).
    candidates_per_step: int = 8
    temperature: float = 1.0
    # A proposal is one short prompt; this bounds a rambling optimizer's cost.
    max_new_tokens: int = 512
    # Paper: the 20 best (prompt, score) pairs in the meta-prompt, ascending, scores as integers
    # 0-100 (100 buckets), and 3 exemplars.
    history_size: int = 20
    score_buckets: int = 100
    exemplars: int = 3
    # Longer candidates are rejected: the longest hand-written prompt is ~200 characters, and a
    # longer prompt costs scoring time on every clip.
    max_prompt_chars: int = 800
    # The research plan's hand-written prompts (prompts/), scored first (step 0).
    seed_prompts: list[str] = field(
        default_factory=lambda: ["baseline", "explicit", "task_focused", "question", "binary_choice"]
    )
    # Candidates are scored on a seeded, label-balanced subset of train (the paper scores on a
    # small training sample); 256 clips put about 6 in each of the 40 factorial cells. 0: all of train.
    train_subset_size: int = 256
    # The reward: balanced accuracy of the constrained A/B answer on the subset, plus
    # reward_lambda x BA_conditions (mean balanced accuracy over factorial cells). 0: BA_clip only.
    reward_lambda: float = 0.0
    # Each step's best candidates (by reward) are re-scored on dev; the final prompt is the best
    # on dev. Two per step keeps dev scoring below the cost of the step itself.
    dev_rescored_per_step: int = 2
    # >0: a seeded subset of the dev split (quick checks); 0: the full dev split.
    dev_max_clips: int = 0
    # Budgets: the paper runs up to 200 steps; with an audio scorer each step scores 8 prompts on
    # every subset clip, so stop earlier: after max_steps, max_candidates scored proposals, or
    # patience steps in a row without a better dev score.
    max_steps: int = 50
    max_candidates: int = 400
    patience: int = 8
    # The chosen prompt is written here as <exp>.txt (relative to the working directory).
    optimized_dir: str = "prompts/optimized"


# --------------------------------------------------------------------------------------------
# analysis: python -m qwen_vad.analyze


@dataclass
class AnalyzeConfig:
    # Experiments analysed together (their latest scoring runs). Empty: the chosen experiment
    # alone when it is a row of the comparison matrix (declares ``row:``), else every experiment
    # that declares a row (``analyze exp=paper``).
    experiments: list[str] = field(default_factory=list)
    # Paired comparisons "a:b" (a against b) by experiment name, paired by seed; pairs whose
    # runs are missing are listed as not run, pairs scored on different clips as not comparable.
    # "best_llm:best_vad" compares the best of each kind, chosen by balanced accuracy on dev.
    comparisons: list[str] = field(
        default_factory=lambda: ["b2:b1", "b3:b2", "b4:b3", "a2:a1", "best_llm:best_vad"]
    )
    n_bootstrap: int = 1000  # cluster (base-clip) bootstrap resamples for metric CIs
    interval_level: float = 0.95
    calibration_bins: int = 15  # equal-width bins for ECE/MCE (the usual choice)
    sigmoid: str = "logistic"  # logistic | normal: the psychometric F
    threshold_probabilities: list[float] = field(default_factory=lambda: [0.5, 0.75, 0.9])
    psychometric_bootstrap: int = 1000  # parametric bootstrap resamples per curve (>= 1000 for CIs)
    # Correctness curves: guess rate fixed at chance (0.5, balanced classes) or null to fit it.
    correctness_gamma: Optional[float] = 0.5
    cluster_bootstrap: bool = True  # also give psychometric CIs from resampled clusters
    # What that bootstrap redraws: base_clip (all variants of one clean clip fail or succeed
    # together) or group (the leakage group, speaker / recording: coarser; use it when a few
    # speakers or recordings contribute many base clips, whose errors then correlate as well).
    psychometric_cluster: str = "base_clip"
    # The criterion-free threshold beside DT50/DT75: auc (of p_speech between SPEECH and
    # NONSPEECH clips of one level) or dprime (from hit and false-alarm rates: for systems whose
    # p_speech is only a label). Both as a 2AFC proportion correct, floor 0.5.
    sensitivity: str = "auc"


# --------------------------------------------------------------------------------------------
# paper artifacts: python -m qwen_vad.report


@dataclass
class ReportConfig:
    # Error analysis: the most confident wrong answers kept per (label, duration, SNR) cell,
    # with their audio copied next to the report for listening.
    failures_per_cell: int = 2


# --------------------------------------------------------------------------------------------
# the whole chain: python -m qwen_vad.pipeline


@dataclass
class PipelineConfig:
    # Steps in order, "stage:experiment". Each step runs with exp=[experiment, *overlay].
    steps: list[str] = field(
        default_factory=lambda: [
            "data:d1", "data:b1",
            "evaluate:d1", "evaluate:d2", "evaluate:a1", "evaluate:c2",
            "finetune:b1", "finetune:b2", "finetune:b3",
            "opro:a2", "opro:b4", "opro:c1",
            "analyze:paper", "report:paper",
        ]
    )  # fmt: skip
    # Experiments laid over every step; smoke swaps in the tiny model, synthetic data and its
    # own results folder without changing which row of the matrix a step is.
    overlay: list[str] = field(default_factory=list)
    # Build the tiny random stand-ins the steps load (model.stand_in_dir) before running them
    # (offline smoke runs only).
    build_tiny_checkpoint: bool = False


# --------------------------------------------------------------------------------------------
# the comparison matrix: which experiments are its rows


@dataclass
class RowConfig:
    """The experiment's row of the comparison matrix, as the research plan describes it
    (design.md section 5). An experiment that sets any of these is a row: the report lists it
    (as "not run" until a scoring run exists, else with what was actually run, read from that
    run's config.yaml) and ``analyze`` includes it by default. Not part of what a system is:
    runs are grouped, and compared, without it."""

    order: int = 0  # rows are listed by order, then by experiment name
    model: str = ""  # e.g. "Qwen2-Audio base", "WebRTC VAD"
    finetuning: str = ""  # e.g. "none", "LoRA, loss on answer token", "-"
    prompt: str = ""  # e.g. "baseline", "OPRO", "-"
    data: str = ""  # e.g. "test set", "small (~128 clips)"


# --------------------------------------------------------------------------------------------


@dataclass
class PathsConfig:
    data_dir: str = "data"
    results_dir: str = "results"


@dataclass
class Config:
    seed: int = 42
    # Re-run a stage even when a finished run (or built dataset) already exists.
    force: bool = False
    # Continue the latest interrupted run of this stage and experiment instead of starting anew.
    resume: bool = False
    # The split a scoring run reports on; the threshold is always learned on dev.
    split: str = "test"
    # analyze/report: scoring run folders to read instead of the experiments' latest runs,
    # or a single predictions.parquet file.
    runs: list[str] = field(default_factory=list)
    predictions: str = ""
    paths: PathsConfig = field(default_factory=PathsConfig)
    # The evaluation set: every row of the comparison matrix is scored on its test split, with
    # thresholds and temperatures learned on its full dev split.
    data: DataConfig = field(default_factory=DataConfig)
    # The set a system is trained (finetune) or searched (opro) on: only what it changes relative
    # to `data` (e.g. {name: small, per_cell: 4}; unset keys follow `data`); its train split is
    # used, built from groups that are not in the evaluation set's dev or test splits (checked by
    # a cross-dataset leakage audit). Nothing set: the evaluation set's own train split.
    train_data: DataChanges = field(default_factory=lambda: DataChanges())
    model: ModelConfig = field(default_factory=ModelConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    analyze: AnalyzeConfig = field(default_factory=AnalyzeConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    opro: OproConfig = field(default_factory=OproConfig)
    row: RowConfig = field(default_factory=RowConfig)


def config_yaml(cfg: Config) -> str:
    """The resolved configuration as a run folder's config.yaml holds it."""
    from omegaconf import OmegaConf  # here: the schema itself needs no OmegaConf

    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


# --------------------------------------------------------------------------------------------
# Where experiments live. An editable install finds them beside the package; another checkout
# can point QWEN_VAD_EXPERIMENTS at its own folder.

REPO_ROOT = Path(__file__).resolve().parents[1]


def experiments_dir() -> Path:
    return Path(os.environ.get("QWEN_VAD_EXPERIMENTS", REPO_ROOT / "experiments"))


def experiment_names() -> list[str]:
    return sorted(p.stem for p in experiments_dir().glob("*.yaml"))


__all__ = [
    "Config",
    "DataConfig",
    "HFOptimizerConfig",
    "HygieneConfig",
    "OneAxisConfig",
    "OpenAIOptimizerConfig",
    "OproConfig",
    "PathsConfig",
    "RowConfig",
    "SourceConfig",
    "SplitConfig",
    "experiment_names",
    "experiments_dir",
]
