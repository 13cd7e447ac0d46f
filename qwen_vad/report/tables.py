"""The paper's tables, built from the analysis JSON and the run folders only.

Every table is a DataFrame of display-ready cells; ``write_table`` saves it as CSV, Markdown
and LaTeX (booktabs). A system that was not run shows "not run", never a number. Seed sweeps
are aggregated per system (the analysis' groups: one configuration, several seeds) as
mean ± sd (n seeds); the configurations of a sweep are rows of their own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.conditions import DURATION_COLUMN, axes
from qwen_vad.markdown_table import to_markdown
from qwen_vad.report.collect import ReportInputs, SystemRun
from qwen_vad.report.detectability import detectable_cell
from qwen_vad.report.threshold_cells import NOT_FITTED, aggregate_threshold_cells

NOT_RUN = "not run"
NOT_COMPARABLE = "not comparable"
OPRO_PROMPT_PREFIX = "opro-"  # the id a search publishes its prompt under (qwen_vad.opro.final)
# How a declared row (metrics.json "rows", from each experiment's ``row:`` section) fills the
# matrix's description columns while the row has not been run.
ROW_COLUMNS = {"model": "model", "fine-tuning": "finetuning", "prompt": "prompt", "dataset": "data"}


def system_groups(inputs: ReportInputs) -> dict[str, dict]:
    """The analysis' systems: {group: {"experiment", "differs", "seeds": {seed: predictions name}}}."""
    return inputs.metrics["groups"]


def groups_by_experiment(inputs: ReportInputs) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, group in system_groups(inputs).items():
        grouped[group["experiment"]].append(name)
    return {exp: sorted(names) for exp, names in grouped.items()}


def members(inputs: ReportInputs, group: str) -> list[str]:
    """The prediction sources (one per seed) of a group."""
    return list(system_groups(inputs)[group]["seeds"].values())


def row_label(inputs: ReportInputs, group: str) -> str:
    """"B3", or "B3 [finetune.lora.r=8]" for one configuration of a sweep."""
    info = system_groups(inputs)[group]
    differs = ", ".join(f"{k}={v}" for k, v in info["differs"].items())
    return info["experiment"].upper() + (f" [{differs}]" if differs else "")


def mean_sd(values: Sequence[float | None], digits: int = 3, scale: float = 1.0) -> str:
    """One run: the value; several seeds: mean ± sd (n), or (k/n seeds) when only k reached a
    value; one reached value shows no sd; nothing measurable: "n/a"."""
    numbers = [v * scale for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not numbers:
        return "n/a"
    if len(values) == 1:
        return f"{numbers[0]:.{digits}f}"
    count = f"n={len(numbers)}" if len(numbers) == len(values) else f"{len(numbers)}/{len(values)} seeds"
    if len(numbers) == 1:  # one measurable seed has no spread to show
        return f"{numbers[0]:.{digits}f} ({count if len(values) > 1 else 'n=1'})"
    return f"{np.mean(numbers):.{digits}f} ± {np.std(numbers, ddof=1):.{digits}f} ({count})"


# --------------------------------------------------------------------------------------------
# Values read from the analysis JSON


def headline_value(inputs: ReportInputs, system: str, key: str) -> float | None:
    return inputs.metrics["systems"][system]["headline"].get(key)


def ece(inputs: ReportInputs, system: str) -> float | None:
    return inputs.metrics["systems"][system]["calibration"]["ece"]


def pooled_threshold(inputs: ReportInputs, system: str, p: float, curve_set: str = "detection_vs_snr_db_pooled") -> dict:
    """The DT_p entry (status, value, interval) of a curve pooled over durations, for
    ``threshold_cells``: the plan's detection curve by default, or the criterion-free
    sensitivity curve; {"status": "not fitted", ...} when there is none."""
    curves = inputs.psychometric.get(system, {}).get(curve_set, [])
    # A curve that could not be fitted (e.g. too few levels) carries a reason, no thresholds.
    for threshold in curves[0].get("thresholds", []) if curves else []:
        if math.isclose(threshold["p"], p):
            return threshold
    return {"p": p, "status": NOT_FITTED, "reason": curves[0].get("skipped") if curves else "no curve"}


def matrix_cell(values: Sequence, digits: int, scale: float) -> str:
    """Numbers aggregate as mean ± sd; threshold entries (dicts) by ``threshold_cells``, which
    never shows a threshold beyond the tested levels as a number."""
    if any(isinstance(v, Mapping) for v in values):
        return aggregate_threshold_cells(values)
    return mean_sd(values, digits, scale)


def median_latency(inputs: ReportInputs, system: str) -> float | None:
    return inputs.metrics["systems"][system]["summary"]["latency"].get("median_ms")


def clips(inputs: ReportInputs, system: str, split: str) -> float | None:
    return inputs.metrics["systems"][system].get("clips", {}).get(split)


def skipped(inputs: ReportInputs, system: str) -> float | None:
    return sum(inputs.metrics["systems"][system].get("skipped_clips", {}).values())


# Threshold columns: the plan's detection thresholds (P(answer SPEECH | SPEECH clip), floor =
# false-alarm rate) and beside them the criterion-free one (AUC of p_speech = 0.75).
DT50_COLUMN, DT75_COLUMN, AUC75_COLUMN = "DT50 detection (dB)", "DT75 detection (dB)", "AUC75 criterion-free (dB)"
MATRIX_COLUMNS: tuple[tuple[str, Callable[[ReportInputs, str], float | dict | None], int, float], ...] = (
    ("accuracy", lambda i, s: headline_value(i, s, "accuracy"), 3, 1.0),
    ("balanced accuracy", lambda i, s: headline_value(i, s, "balanced_accuracy"), 3, 1.0),
    ("SPEECH acc.", lambda i, s: headline_value(i, s, "accuracy_speech"), 3, 1.0),
    ("NONSPEECH acc.", lambda i, s: headline_value(i, s, "accuracy_nonspeech"), 3, 1.0),
    ("ECE", ece, 3, 1.0),
    (DT50_COLUMN, lambda i, s: pooled_threshold(i, s, 0.5), 1, 1.0),
    (DT75_COLUMN, lambda i, s: pooled_threshold(i, s, 0.75), 1, 1.0),
    (AUC75_COLUMN, lambda i, s: pooled_threshold(i, s, 0.75, "sensitivity_vs_snr_db_pooled"), 1, 1.0),
    ("latency p50 (ms)", median_latency, 1, 1.0),
    ("n dev", lambda i, s: clips(i, s, "dev"), 0, 1.0),
    ("n test", lambda i, s: clips(i, s, i.metrics["split"]), 0, 1.0),
    ("skipped", skipped, 0, 1.0),
)


# --------------------------------------------------------------------------------------------
# Tables


def comparison_matrix(inputs: ReportInputs) -> pd.DataFrame:
    """One row per system: the declared rows in their order (a sweep's configurations one row
    each, "not run" where nothing ran), then any other analysed system."""
    grouped = groups_by_experiment(inputs)
    declared = inputs.metrics.get("rows", [])
    planned = {row["experiment"] for row in declared}
    rows = []
    for declared_row in declared:
        exp = declared_row["experiment"]
        plan = {column: declared_row[key] for column, key in ROW_COLUMNS.items()}
        if exp not in grouped:
            rows.append({"row": exp.upper(), **plan, "seeds": "", **{column: NOT_RUN for column, *_ in MATRIX_COLUMNS}})
        rows += [matrix_row(inputs, group, plan) for group in grouped.get(exp, [])]
    for exp in sorted(set(grouped) - planned):
        rows += [matrix_row(inputs, group, {}) for group in grouped[exp]]
    return pd.DataFrame(rows)


def matrix_row(inputs: ReportInputs, group: str, plan: dict[str, str]) -> dict[str, str]:
    systems = members(inputs, group)
    described = describe_run(inputs.runs[systems[0]])
    row = {"row": row_label(inputs, group), **{key: described.get(key, plan.get(key, "")) for key in ("model", "fine-tuning", "prompt", "dataset")}}
    row["seeds"] = str(len(systems))
    for column, value, digits, scale in MATRIX_COLUMNS:
        row[column] = matrix_cell([value(inputs, s) for s in systems], digits, scale)
    return row


def describe_run(run: SystemRun) -> dict[str, str]:
    """What was actually run, read from the run's resolved config.yaml."""
    cfg = run.config
    is_llm = run.is_llm
    model = Path(str(cfg.model.name_or_path).rstrip("/")).name if is_llm else run.label
    finetuning = "-" if not is_llm else "none"
    if run.stage == "finetune":
        finetuning = f"LoRA r={cfg.finetune.lora.r}, loss={cfg.loss.mode}"
    elif run.scores_adapter:
        finetuning = f"LoRA adapter of {cfg.model.adapter_from_finetune}" if cfg.model.get("adapter_from_finetune") else f"LoRA adapter {Path(cfg.model.adapter).name}"
    training_set = (cfg.get("train_data") or {}).get("name")  # a separate training set (B1/B2) has a name
    dataset = str(cfg.data.name) + (f" (trained on {training_set})" if training_set and run.stage == "finetune" else "")
    return {"model": model, "fine-tuning": finetuning, "prompt": run.prompt_id or "-", "dataset": dataset}


def breakdown_table(inputs: ReportInputs, column: str, value_key: str = "balanced_accuracy") -> pd.DataFrame:
    """Rows: levels of ``column``; one column per system (mean ± sd over seeds). A duration at
    which an LLM heard no audio token at all says so in the level's label."""
    values: dict[str, dict[object, list[float]]] = {}
    levels: set = set()
    for group in system_groups(inputs):
        per_level: dict[object, list[float]] = defaultdict(list)
        for system in members(inputs, group):
            for entry in inputs.metrics["systems"][system]["summary"]["by_condition"].get(column, []):
                per_level[entry[column]].append(entry[value_key])
                levels.add(entry[column])
        values[group] = per_level
    if not levels:
        return pd.DataFrame()
    ordered = sorted(levels, key=_level_key)
    silent = no_audio_token_levels(inputs) if column == DURATION_COLUMN else {}
    table = pd.DataFrame({column: [_format_level(level) + (f" (no audio tokens: {', '.join(silent[level])})" if level in silent else "") for level in ordered]})
    for group in sorted(values):
        table[group] = [mean_sd(values[group].get(level, [None]) if level in values[group] else [None]) for level in ordered]
    return table


def breakdown_tables(inputs: ReportInputs) -> dict[str, tuple[pd.DataFrame, str]]:
    """One table per condition axis (qwen_vad.conditions): always the design axes (duration,
    SNR), a degradation axis (reverb, filter, ...) when the scored clips hold several of its levels."""
    tables = {}
    for axis in axes():
        table = breakdown_table(inputs, axis.column)
        if axis.core or len(table) > 1:
            tables[f"by_{axis.name}"] = (table, f"Balanced accuracy per {axis.label}")
    return tables


def no_audio_token_levels(inputs: ReportInputs) -> dict[int, list[str]]:
    """Durations (ms) -> systems whose inputs held no audio token for any clip of that length."""
    silent: dict[int, list[str]] = defaultdict(list)
    for group in system_groups(inputs):
        durations = {d for system in members(inputs, group) for d in inputs.metrics["systems"][system].get("durations_without_audio_tokens", [])}
        for duration in durations:
            silent[duration].append(group)
    return dict(silent)


def category_errors(inputs: ReportInputs) -> pd.DataFrame:
    """Error rate per NONSPEECH (and SPEECH) category: which sounds fool which system."""
    rows = []
    for group in sorted(system_groups(inputs)):
        per_category: dict[str, list[float]] = defaultdict(list)
        counts: dict[str, int] = {}
        for system in members(inputs, group):
            for entry in inputs.metrics["systems"][system]["summary"]["by_condition"].get("category", []):
                per_category[entry["category"]].append(1 - entry["accuracy"])
                counts[entry["category"]] = entry["n"]
        for category in sorted(per_category):
            rows.append({"system": group, "category": category, "n": counts[category], "error rate": mean_sd(per_category[category])})
    return pd.DataFrame(rows)


def input_warnings_table(inputs: ReportInputs) -> pd.DataFrame:
    """What a system may not have heard (no audio tokens, constant scores), per system."""
    rows = [
        {"system": system, "warning": warning["kind"], "clips": warning.get("clips", ""), "detail": warning["message"]}
        for system, block in sorted(inputs.metrics["systems"].items())
        for warning in block.get("input_warnings", [])
    ]
    return pd.DataFrame(rows, columns=["system", "warning", "clips", "detail"])


def dataset_summary(inputs: ReportInputs) -> pd.DataFrame:
    """Cells x splits of each dataset the reported runs were scored on: the design axes, and a
    degradation axis where the dataset varies it."""
    rows = []
    for name, report in sorted(inputs.datasets.items()):
        cells = report["cells"]
        shown = [a.column for a in axes() if a.core or len({str(cell.get(a.column)) for cell in cells}) > 1]
        for cell in cells:
            rows.append({"dataset": name, **{k: cell.get(k) for k in ("label", *shown, "train", "dev", "test")}})
    return pd.DataFrame(rows)


def prompt_summary(inputs: ReportInputs) -> pd.DataFrame:
    """The prompt each LLM system used, with its dev (threshold-learning) and test scores."""
    rows = []
    for system, run in sorted(inputs.runs.items()):
        if not run.is_llm:
            continue
        block = inputs.metrics["systems"][system]
        rows.append(
            {
                "system": system,
                "prompt": run.prompt_id,
                "found by": "OPRO" if run.prompt_id.startswith(OPRO_PROMPT_PREFIX) else "hand-written",
                "dev BA (threshold fit)": _format_number(run.dev_balanced_accuracy),
                "test BA": _format_number(block["headline"]["balanced_accuracy"]),
                "text": run.prompt_text.replace("\n", " / ") if run.prompt_text else "",
            }
        )
    return pd.DataFrame(rows)


def paired_comparisons(inputs: ReportInputs) -> pd.DataFrame:
    """ΔBA = first minus second system, on the same clips (positive: the first is better),
    paired by seed: one row per comparison (mean ± sd over seeds), and one per seed in a sweep."""
    rows = []
    for c in inputs.comparisons.get("comparisons", []):
        seeds = c["seeds"]
        difference = c["difference_a_minus_b"]
        single = len(seeds) == 1
        rows.append(
            {
                "comparison": f"{c['a']} vs {c['b']}",
                "seeds": str(len(seeds)),
                "ΔBA": _format_number(difference["mean"]) if single else f"{difference['mean']:.3f} ± {difference['sd']:.3f}",
                "95% CI": _interval(seeds[0]) if single else "",
                "McNemar p": _format_p(seeds[0]["mcnemar"]["p_value"]) if single else "",
                "Holm p": _format_p(seeds[0]["mcnemar"]["p_value_holm"]) if single else "",
                "significant (Holm)": f"{c['significant_holm_seeds']}/{len(seeds)}",
                "detectable |ΔBA| (80% power)": detectable_cell(seeds[0]) if single else "",
                "clips": str(seeds[0]["mcnemar"]["n_pairs"]),
                "note": "",
            }
        )
        if not single:
            for entry in seeds:
                rows.append(
                    {
                        "comparison": f"  seed {entry['seed']}: {entry['a']} vs {entry['b']}",
                        "seeds": "",
                        "ΔBA": _format_number(-entry["balanced_accuracy_difference"]["difference_b_minus_a"]),
                        "95% CI": _interval(entry),
                        "McNemar p": _format_p(entry["mcnemar"]["p_value"]),
                        "Holm p": _format_p(entry["mcnemar"]["p_value_holm"]),
                        "significant (Holm)": "yes" if entry["mcnemar"]["significant_holm"] else "no",
                        "detectable |ΔBA| (80% power)": detectable_cell(entry),
                        "clips": str(entry["mcnemar"]["n_pairs"]),
                        "note": "",
                    }
                )
    empty = {"seeds": "", "95% CI": "", "McNemar p": "", "Holm p": "", "significant (Holm)": "", "detectable |ΔBA| (80% power)": "", "clips": ""}
    for entry in inputs.comparisons.get("not_comparable", []):
        rows.append({"comparison": f"{entry['a']} vs {entry['b']}", **empty, "ΔBA": NOT_COMPARABLE, "note": entry["reason"]})
    for spec in inputs.comparisons.get("not_run", []):
        rows.append({"comparison": spec.replace(":", " vs "), **empty, "ΔBA": NOT_RUN, "note": ""})
    return pd.DataFrame(rows)


def _interval(entry: dict) -> str:
    interval = entry["balanced_accuracy_difference"]["interval"]
    return f"[{_format_number(-interval['high'])}, {_format_number(-interval['low'])}]"


# --------------------------------------------------------------------------------------------
# Writers


def write_table(table: pd.DataFrame, out_dir: Path, name: str, caption: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.csv", out_dir / f"{name}.md", out_dir / f"{name}.tex"]
    table.to_csv(paths[0], index=False)
    paths[1].write_text(to_markdown(table) + "\n")
    paths[2].write_text(to_latex(table, caption, f"tab:{name}"))
    return paths


def to_latex(table: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (\\toprule/\\midrule/\\bottomrule), cells escaped for LaTeX."""
    columns = "l" * len(table.columns)
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{_latex_escape(caption)}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{columns}}}",
        "\\toprule",
        " & ".join(_latex_escape(str(c)) for c in table.columns) + " \\\\",
        "\\midrule",
    ]
    lines += [" & ".join(_latex_escape(str(v)) for v in row) + " \\\\" for row in table.itertuples(index=False)]
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(lines)


def _latex_escape(text: str) -> str:
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                    "±": r"$\pm$", "Δ": r"$\Delta$", "<": r"$<$", ">": r"$>$", "|": r"$|$"}  # fmt: skip
    return "".join(replacements.get(ch, ch) for ch in text)


def _format_number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    # A difference that rounds to zero prints as 0.000, never -0.000.
    return f"{0.0 if round(value, digits) == 0 else value:.{digits}f}"


def _format_p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _level_key(level: object) -> tuple[int, float | str]:
    if isinstance(level, str):
        try:
            return (0, float(level))
        except ValueError:
            return (1, level)
    return (0, float(level))


def _format_level(level: object) -> str:
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    return str(level)
