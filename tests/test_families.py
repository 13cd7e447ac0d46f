"""Every model family on its tiny checkpoint (real classes): loading, rendering, A/B scoring,
generate mode, audio tokens, the OPRO audio cache, LoRA fine-tuning and the stages end to end.

Qwen2-Audio's own paths (the short-clip encoder, the learning check, resume) have their own test
files; here each check runs on every family, Qwen2-Audio included unless it is Omni-specific.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from qwen_vad.cli import compose_config, execute_stage
from qwen_vad.config import DecodingConfig, ModelConfig
from qwen_vad.data.__main__ import build
from qwen_vad.data.manifest import read_manifest
from qwen_vad.decoding import LLMScorer, left_padded_position_ids
from qwen_vad.errors import ConfigError
from qwen_vad.evaluate import evaluate
from qwen_vad.finetune import finetune
from qwen_vad.models.families import FAMILIES, family_named, family_of
from qwen_vad.models.loader import ModelLoadError, load_model
from qwen_vad.models.stand_ins import checkpoint_loaded, resolve_stand_in
from qwen_vad.models.tiny import BUILD_STAMP, main as tiny_main
from qwen_vad.opro.__main__ import opro
from qwen_vad.opro.audio_cache import AudioCacheScorer
from qwen_vad.opro.history import HISTORY_FILE, read_events
from qwen_vad.prompts import load_prompt
from qwen_vad.runs import run_status
from qwen_vad.training.examples import load_split

REPO = Path(__file__).resolve().parents[1]
ALL = list(FAMILIES)
OMNI = ["qwen2_5_omni", "qwen3_omni"]
DATA = ["data.name=famset", "data.per_cell=5", "data.durations_ms=[200,1000]", "data.snrs_db=[0.0,20.0]", "data.min_per_cell_split=1"]
SINGLE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}

# How each family's real chat template renders one clip and prompt with no system prompt given.
RENDERED = {
    "qwen2_audio": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nAudio 1: <|audio_bos|><|AUDIO|><|audio_eos|>\nSpeech?<|im_end|>\n<|im_start|>assistant\n",
    "qwen2_5_omni": "<|im_start|>system\nYou are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of "
    "perceiving auditory and visual inputs, as well as generating text and speech.<|im_end|>\n"
    "<|im_start|>user\n<|audio_bos|><|AUDIO|><|audio_eos|>Speech?<|im_end|>\n<|im_start|>assistant\n",
    "qwen3_omni": "<|im_start|>user\n<|audio_start|><|audio_pad|><|audio_end|>Speech?<|im_end|>\n<|im_start|>assistant\n",
}
# Audio tokens for 20, 40, 60, 200 and 1000 ms (each family's own encoder arithmetic).
AUDIO_TOKENS = {"qwen2_audio": [0, 1, 1, 5, 25], "qwen2_5_omni": [0, 1, 1, 5, 25], "qwen3_omni": [1, 1, 1, 3, 13]}
LORA_ATTENTION = {"q_proj", "k_proj", "v_proj", "o_proj"}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def loaded(tiny_family_checkpoint):
    """Each family's tiny model, loaded once (fp32, CPU)."""
    cache: dict[str, tuple] = {}

    def load(family: str):
        if family not in cache:
            cache[family] = load_model(ModelConfig(name_or_path=str(tiny_family_checkpoint(family)), dtype="fp32", device="cpu"))
        return cache[family]

    return load


def clips(*samples: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in samples]


MIXED = (3200, 16000, 4800, 8000, 1600)  # 0.1-1 s, mixed within a batch


# ---------------------------------------------------------------------------------------------
# Tiny checkpoints and loading


@pytest.mark.parametrize("family", ALL)
def test_tiny_checkpoint_uses_the_real_classes_and_loads_with_no_missing_keys(tiny_family_checkpoint, family: str) -> None:
    folder = tiny_family_checkpoint(family)
    adapter = family_named(family)
    model, info = adapter.model_class().from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert model.dtype == torch.bfloat16 and sum(p.numel() for p in model.parameters()) < 1_000_000
    stamp = json.loads((folder / BUILD_STAMP).read_text())
    assert stamp["family"] == family
    processor = adapter.load_processor(str(folder))
    tokenizer = processor.tokenizer
    for token in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", processor.audio_token, processor.audio_bos_token, processor.audio_eos_token):
        assert len(tokenizer(token, add_special_tokens=False).input_ids) == 1, token
    for answer in ("A", "B", " A", " B"):
        assert len(tokenizer(answer, add_special_tokens=False).input_ids) == 1, answer
    # The placeholder id comes from the checkpoint's config and matches the tokenizer's.
    assert tokenizer.convert_tokens_to_ids(processor.audio_token) == model.config.audio_token_id
    assert adapter.render_prompt(processor, "Speech?") == RENDERED[family]
    with_system = adapter.render_prompt(processor, "Speech?", system_prompt="You detect speech.")
    assert with_system.startswith("<|im_start|>system\nYou detect speech.<|im_end|>\n<|im_start|>user\n")


def test_tiny_cli_builds_each_family_and_refuses_unknown_sizes(tmp_path: Path, tiny_family_checkpoint) -> None:
    tiny_main([str(tmp_path / "omni"), "--family", "qwen3_omni"])
    for name in ("model.safetensors", "tokenizer.json", "config.json", "processor_config.json"):
        assert (tmp_path / "omni" / name).read_bytes() == (tiny_family_checkpoint("qwen3_omni") / name).read_bytes(), name
    assert json.loads((tmp_path / "omni" / "processor_config.json").read_text())["processor_class"] == "Qwen3OmniMoeProcessor"
    with pytest.raises(SystemExit):
        tiny_main([str(tmp_path / "mid"), "--family", "qwen2_5_omni", "--size", "mid"])
    assert not (tmp_path / "mid").exists()


@pytest.mark.parametrize("family", ALL)
@pytest.mark.parametrize("fast_encoder", [True, False])
def test_every_family_loads_with_the_fast_encoder_on_or_off(tiny_family_checkpoint, family: str, fast_encoder: bool) -> None:
    model, processor = load_model(
        ModelConfig(name_or_path=str(tiny_family_checkpoint(family)), dtype="fp32", device="cpu", fast_encoder=fast_encoder)
    )
    adapter = family_of(model)
    assert adapter.name == family and isinstance(model, adapter.model_class()) and not model.training
    # Only Qwen2-Audio has a short-clip path to switch; the Omni encoders skip padding anyway.
    assert adapter.uses_short_clip_encoder(model) == (fast_encoder and family == "qwen2_audio")
    result = LLMScorer(model, processor, load_prompt("baseline"), DecodingConfig(), "tiny").score(clips(3200, 16000))
    assert np.all((result.p_speech > 0) & (result.p_speech < 1))


@pytest.mark.parametrize("family", OMNI)
def test_a_full_omni_model_folder_loads_its_thinker(tiny_family_checkpoint, loaded, family: str, tmp_path: Path) -> None:
    """A real Omni folder holds the whole model (config type qwen2_5_omni / qwen3_omni_moe, the
    thinker's weights under "thinker."): the family is detected and only the thinker is loaded."""
    thinker_folder = tiny_family_checkpoint(family)
    full = tmp_path / "full"
    shutil.copytree(thinker_folder, full)
    thinker_config = json.loads((thinker_folder / "config.json").read_text())
    full_type = FAMILIES[family].model_types[0]
    (full / "config.json").write_text(json.dumps({"model_type": full_type, "thinker_config": thinker_config}))
    weights = {f"thinker.{k}": v for k, v in load_file(thinker_folder / "model.safetensors").items()}
    save_file({**weights, "talker.model.embed_tokens.weight": torch.zeros(4, 2)}, full / "model.safetensors", metadata={"format": "pt"})

    model, processor = load_model(ModelConfig(name_or_path=str(full), dtype="fp32", device="cpu"))
    assert family_of(model).name == family
    reference, _ = loaded(family)
    for (name, value), (_, expected) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(value, expected), name


def test_family_override_and_unknown_model_types(tiny_family_checkpoint, tmp_path: Path) -> None:
    folder = tmp_path / "renamed"
    shutil.copytree(tiny_family_checkpoint("qwen2_5_omni"), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "my_omni_finetune"}))
    with pytest.raises(ConfigError, match=r"renamed/config.json: model_type 'my_omni_finetune' is not a known.*model.family"):
        load_model(ModelConfig(name_or_path=str(folder), dtype="fp32", device="cpu"))
    with pytest.raises(ConfigError, match="unknown model family 'qwen4'"):
        load_model(ModelConfig(name_or_path=str(folder), dtype="fp32", device="cpu", family="qwen4"))
    model, _ = load_model(ModelConfig(name_or_path=str(folder), dtype="fp32", device="cpu", family="qwen2_5_omni"))
    assert family_of(model).name == "qwen2_5_omni", "model.family wins over the config's model_type"


@pytest.mark.parametrize(("exp", "family"), [("a1", "qwen2_audio"), ("b3", "qwen2_audio"), ("c1", "qwen3_omni"), ("c2", "qwen2_5_omni")])
def test_the_smoke_overlay_loads_the_stand_in_of_each_rows_model(exp: str, family: str, tmp_path: Path) -> None:
    real, _ = compose_config([f"exp={exp}"])
    assert resolve_stand_in(real.model) is real.model, "the study loads the real checkpoint"
    smoke, _ = compose_config([f"exp=[{exp},smoke]"])
    assert smoke.model.name_or_path == real.model.name_or_path, "the row keeps its own model"
    resolved = resolve_stand_in(smoke.model)
    assert (resolved.name_or_path, resolved.family) == (f"checkpoints/tiny/{family}", family)
    assert checkpoint_loaded(smoke.model) == resolved.name_or_path
    explicit, _ = compose_config([f"exp=[{exp},smoke]", f"model.name_or_path={tmp_path}"])
    assert resolve_stand_in(explicit.model) is explicit.model, "a local folder is used as it is"


def test_a_stand_in_that_is_not_built_says_how_to_build_it(tmp_path: Path) -> None:
    cfg, _ = compose_config(["exp=[c1,smoke]", f"model.stand_in_dir={tmp_path}"])
    with pytest.raises(ModelLoadError, match=rf"stand-in for Qwen/Qwen3-Omni-30B-A3B-Instruct .*qwen_vad.models.tiny {tmp_path}/qwen3_omni --family qwen3_omni"):
        load_model(cfg.model)


def test_a_stand_in_needs_a_known_checkpoint_or_a_family() -> None:
    unknown, _ = compose_config(["exp=smoke", "model.name_or_path=someone/audio-llm"])
    with pytest.raises(ConfigError, match="someone/audio-llm.*set model.family"):
        resolve_stand_in(unknown.model)
    chosen, _ = compose_config(["exp=smoke", "model.name_or_path=someone/audio-llm", "model.family=qwen3_omni"])
    assert resolve_stand_in(chosen.model).name_or_path == "checkpoints/tiny/qwen3_omni"


# ---------------------------------------------------------------------------------------------
# Scoring


@pytest.mark.parametrize("family", ALL)
def test_a_clips_features_do_not_depend_on_its_batch_mates(loaded, family: str) -> None:
    model, processor = loaded(family)
    adapter = family_of(model)
    short_clip = adapter.uses_short_clip_encoder(model)
    text = adapter.render_prompt(processor, "Speech?")
    clip, longer = clips(3200, 16000)
    alone = adapter.model_inputs(processor, [text], [clip], short_clip)
    together = adapter.model_inputs(processor, [text, text], [clip, longer], short_clip)
    valid = int(alone["feature_attention_mask"][0].sum())
    assert valid == int(together["feature_attention_mask"][0].sum()) == 20
    assert torch.equal(alone["input_features"][0, :, :valid], together["input_features"][0, :, :valid])


@pytest.mark.parametrize("family", ALL)
def test_ab_scores_do_not_depend_on_the_batch(loaded, family: str) -> None:
    model, processor = loaded(family)
    scorer = LLMScorer(model, processor, load_prompt("baseline"), DecodingConfig(batch_size=5), "tiny")
    batched = scorer.score(clips(*MIXED)).p_speech
    single = np.array([scorer.score([clip]).p_speech[0] for clip in clips(*MIXED)])
    assert batched.shape == (5,) and np.all((batched > 0) & (batched < 1))
    np.testing.assert_allclose(batched, single, atol=1e-5, rtol=0)
    assert np.ptp(batched) > 1e-4, "the audio reaches the answer"


@pytest.mark.parametrize("family", OMNI)
def test_left_padded_positions_equal_the_models_own_mrope_positions(loaded, family: str) -> None:
    model, processor = loaded(family)
    adapter = family_of(model)
    texts = [adapter.render_prompt(processor, p) for p in ("Speech?", "Is there human speech in this audio?\n\nA) Yes\nB) No")]
    inputs = adapter.model_inputs(processor, texts, clips(3200, 16000))
    assert not inputs["attention_mask"][0].all(), "the first row is left-padded"
    real = inputs["attention_mask"].bool()
    with torch.no_grad():
        own = model(**inputs).logits  # the thinker computes its (3-D) rope positions itself
        ours = model(**inputs, position_ids=left_padded_position_ids(inputs["attention_mask"])).logits
    assert (own - ours)[real].abs().max().item() <= 1e-5


def test_qwen2_5_omni_short_features_give_the_stock_30_s_scores(loaded) -> None:
    model, processor = loaded("qwen2_5_omni")
    adapter = family_of(model)
    texts = [adapter.render_prompt(processor, "Speech?")] * 3
    batch = clips(3200, 16000, 800)
    short = adapter.model_inputs(processor, texts, batch)
    stock = processor(text=texts, audio=batch, text_kwargs={"padding": True, "padding_side": "left"}, return_tensors="pt")
    assert stock["input_features"].shape[-1] == 3000 and short["input_features"].shape[-1] == 102
    assert torch.equal(short["input_ids"], stock["input_ids"])
    with torch.no_grad():
        positions = left_padded_position_ids(short["attention_mask"])
        torch.testing.assert_close(model(**short, position_ids=positions).logits, model(**stock, position_ids=positions).logits)


@pytest.mark.parametrize("family", ALL)
def test_generate_mode_is_greedy_whatever_the_checkpoint_ships(loaded, family: str) -> None:
    model, processor = loaded(family)
    shipped = model.generation_config
    assert shipped.do_sample and shipped.repetition_penalty == 1.1, "the tiny checkpoint ships sampling settings"
    adapter = family_of(model)
    scorer = LLMScorer(model, processor, load_prompt("open_speech_or_nonspeech"), DecodingConfig(mode="generate", max_new_tokens=5), "tiny")
    stops = set(shipped.eos_token_id)
    for clip in clips(3200, 16000):
        answer = scorer.score([clip]).answers[0]
        inputs = adapter.model_inputs(processor, [scorer.texts[0]], [clip])
        tokens: list[int] = []
        with torch.inference_mode():  # greedy by hand: the argmax of a full forward at every step
            for _ in range(5):
                ids = torch.cat([inputs["input_ids"], torch.tensor([tokens], dtype=torch.long)], dim=1)
                logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), input_features=inputs["input_features"],
                               feature_attention_mask=inputs["feature_attention_mask"]).logits  # fmt: skip
                tokens.append(int(logits[0, -1].argmax()))
                if tokens[-1] in stops:
                    break
        assert answer == processor.tokenizer.decode(tokens, skip_special_tokens=True)
    assert model.generation_config is shipped


@pytest.mark.parametrize("family", ALL)
def test_audio_tokens_follow_each_familys_arithmetic(loaded, family: str) -> None:
    model, processor = loaded(family)
    durations_ms = (20, 40, 60, 200, 1000)
    batch = [np.full(ms * 16, 0.05, dtype=np.float32) for ms in durations_ms]
    # Qwen2-Audio cannot score a batch of 20-ms clips only (no audio token in any row): mix them.
    result = LLMScorer(model, processor, load_prompt("baseline"), DecodingConfig(batch_size=5), "tiny").score(batch)
    assert list(result.audio_tokens) == AUDIO_TOKENS[family]
    assert list(result.expected_audio_tokens) == AUDIO_TOKENS[family]


@pytest.mark.parametrize("family", ALL)
def test_the_audio_cache_gives_the_stock_scores(loaded, family: str) -> None:
    model, processor = loaded(family)
    audio = {f"clip{i}": clip for i, clip in enumerate(clips(*MIXED, 3200, seed=1))}
    decoding = DecodingConfig(batch_size=3)
    cached = AudioCacheScorer(model, processor, decoding, audio)
    ids = list(audio)
    for prompt in ("baseline", "question", "swapped_baseline"):
        scorer = LLMScorer(model, processor, load_prompt(prompt), decoding, "tiny")
        expected = np.concatenate([scorer.score([audio[c] for c in ids[i : i + 3]]).p_speech for i in range(0, len(ids), 3)])
        np.testing.assert_array_equal(cached.score(load_prompt(prompt), ids), expected)
    assert set(cached.embeddings) == set(audio), "every clip was encoded once and reused"


def test_a_family_without_the_audio_cache_is_scored_from_the_audio(loaded, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    model, processor = loaded("qwen3_omni")
    monkeypatch.setattr(family_of(model), "audio_cache_unavailable", "its encoder output depends on the prompt")
    audio = {f"clip{i}": clip for i, clip in enumerate(clips(*MIXED))}
    decoding = DecodingConfig(batch_size=2)
    with caplog.at_level("INFO"):
        cached = AudioCacheScorer(model, processor, decoding, audio)
    assert "audio cache off for qwen3_omni (its encoder output depends on the prompt)" in caplog.text
    scorer = LLMScorer(model, processor, load_prompt("question"), decoding, "tiny")
    ids = list(audio)
    expected = np.concatenate([scorer.score([audio[c] for c in ids[i : i + 2]]).p_speech for i in range(0, len(ids), 2)])
    np.testing.assert_array_equal(cached.score(load_prompt("question"), ids), expected)
    assert cached.embeddings == {}


@pytest.mark.parametrize("family", ALL)
def test_four_bit_skips_and_lora_targets_name_real_modules(loaded, family: str) -> None:
    model, _ = loaded(family)
    adapter = family_of(model)
    names = [name for name, _ in model.named_modules()]
    for skipped in adapter.four_bit_skipped_modules:
        assert any(skipped in name.split(".") for name in names), skipped
    targets = adapter.lora_target_modules(model, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    assert targets and all(t.startswith("model.language_model.") for t in targets)
    leaves = {t.rsplit(".", 1)[1] for t in targets}
    assert leaves == (LORA_ATTENTION if family == "qwen3_omni" else LORA_ATTENTION | {"gate_proj", "up_proj", "down_proj"})
    with pytest.raises(ConfigError, match="names no module"):
        adapter.lora_target_modules(model, ["lm_head_typo"])


# ---------------------------------------------------------------------------------------------
# The stages on each family


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("families")
    cfg, exp = compose_config(["exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results"])
    execute_stage("data", build, cfg, exp)
    return root


def stage_args(root: Path, checkpoint: Path, *extra: str) -> list[str]:
    return ["exp=smoke", *DATA, f"paths.data_dir={root}/data", f"paths.results_dir={root}/results",
            f"model.name_or_path={checkpoint}", "evaluate.warmup_batches=0", *extra]  # fmt: skip


class ScoreTrainedModel(TrainerCallback):
    """Dev scores of the trained model in memory, before it is saved and reloaded for scoring."""

    def __init__(self, dev_audio: dict[str, np.ndarray], processor, decoding: DecodingConfig) -> None:
        self.dev_audio, self.processor, self.decoding, self.scores = dev_audio, processor, decoding, None

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, model=None, **_: object) -> None:
        model.eval()
        scorer = LLMScorer(model, self.processor, load_prompt("baseline"), self.decoding, "trained")
        ids = list(self.dev_audio)
        size = self.decoding.batch_size
        p_speech = np.concatenate([scorer.score([self.dev_audio[c] for c in ids[i : i + size]]).p_speech for i in range(0, len(ids), size)])
        self.scores = dict(zip(ids, p_speech, strict=True))


@pytest.mark.parametrize("family", OMNI)
def test_a_short_fine_tune_saves_an_adapter_that_scores_the_same_after_reloading(
    workspace: Path, tiny_family_checkpoint, family: str, single_torch_thread: None
) -> None:
    checkpoint = tiny_family_checkpoint(family)
    budget = ["finetune.max_steps=2", "finetune.eval_steps=2", "finetune.batch_size=4", "finetune.warmup_steps=1", "finetune.logging_steps=1"]
    cfg, exp = compose_config([*stage_args(workspace, checkpoint, *budget), f"paths.results_dir={workspace}/ft-{family}"])
    manifest = read_manifest(workspace / "data" / "famset")
    dev = load_split(manifest, "dev", workspace / "data" / "famset", seed=0).dataset.clips
    processor = family_named(family).load_processor(str(checkpoint))
    capture = ScoreTrainedModel({c.clip_id: c.audio for c in dev}, processor, cfg.decoding)
    run = execute_stage("finetune", lambda c, r: finetune(c, r, [capture]), cfg, exp)
    assert run_status(run.dir) == "done"

    adapter = run.path("adapter")
    trained = json.loads((adapter / "adapter_config.json").read_text())["target_modules"]
    assert trained and all(".language_model." in t for t in trained), "never the audio encoder"
    if family == "qwen3_omni":
        assert {t.rsplit(".", 1)[1] for t in trained} == LORA_ATTENTION, "attention only, not the fused experts"
    # The run scored dev after reloading the saved adapter (load_model, as evaluate does).
    predictions = pd.read_parquet(run.path("predictions.parquet")).set_index("clip_id")
    reloaded = predictions.loc[predictions["split"] == "dev", "p_speech"]
    assert set(reloaded.index) == set(capture.scores)
    np.testing.assert_allclose(reloaded.to_numpy(), [capture.scores[c] for c in reloaded.index], atol=1e-5, rtol=0)
    model, _ = load_model(ModelConfig(name_or_path=str(checkpoint), dtype="fp32", device="cpu", adapter=str(adapter)))
    assert isinstance(model, PeftModel) and family_of(model).name == family


@pytest.mark.parametrize("family", OMNI)
def test_an_opro_step_runs_and_publishes_a_prompt(workspace: Path, tiny_family_checkpoint, family: str) -> None:
    search = ["opro.max_steps=1", "opro.candidates_per_step=2", "opro.seed_prompts=[baseline,question]",
              "opro.train_subset_size=16", "opro.dev_max_clips=8", f"opro.optimized_dir={workspace}/optimized-{family}"]  # fmt: skip
    cfg, exp = compose_config([*stage_args(workspace, tiny_family_checkpoint(family), *search), f"paths.results_dir={workspace}/opro-{family}"])
    run = execute_stage("opro", opro, cfg, exp)  # opro.optimizer=scripted: the local test server
    assert run_status(run.dir) == "done"
    events = read_events(run.path(HISTORY_FILE))
    assert [e["step"] for e in events if e["event"] == "step_done"] == [0, 1]  # the seed prompts, one search step
    assert any(e["event"] == "candidate" and e["status"] == "scored" and e["step"] == 1 for e in events)
    assert (workspace / f"optimized-{family}" / "smoke.txt").is_file()
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    assert set(predictions["split"]) == {"dev", "test"} and set(predictions["system"]) == {family}


def test_evaluate_detects_an_omni_family_from_the_folder(workspace: Path, tiny_family_checkpoint) -> None:
    """The command of the issue: an Omni folder and nothing else about the model."""
    results = workspace / "evaluate-cli"
    command = [sys.executable, "-m", "qwen_vad.evaluate", "exp=[a1,smoke]", f"model.name_or_path={tiny_family_checkpoint('qwen3_omni')}",
               *DATA, f"paths.data_dir={workspace}/data", f"paths.results_dir={results}"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, env=SINGLE_THREAD)
    assert out.returncode == 0, out.stderr[-3000:]
    (run,) = (results / "evaluate" / "a1").iterdir()
    assert "as qwen3_omni" in (run / "log.txt").read_text()
    predictions = pd.read_parquet(run / "predictions.parquet")
    by_duration = predictions.groupby("duration_ms")["audio_tokens"].unique()
    assert [list(tokens) for tokens in by_duration] == [[3], [13]]  # 200 ms, 1000 ms
    assert (predictions["audio_tokens"] == predictions["expected_audio_tokens"]).all()


def test_evaluate_scores_qwen2_5_omni_in_process(workspace: Path, tiny_family_checkpoint) -> None:
    cfg, exp = compose_config([*stage_args(workspace, tiny_family_checkpoint("qwen2_5_omni")), f"paths.results_dir={workspace}/evaluate-q25"])
    run = execute_stage("evaluate", evaluate, cfg, exp)
    predictions = pd.read_parquet(run.path("predictions.parquet"))
    assert set(predictions["system"]) == {"qwen2_5_omni"} and predictions["p_speech"].between(0, 1).all()
    assert json.loads(run.path("metrics.json").read_text())["warnings"] == {"dev": [], "test": []}
