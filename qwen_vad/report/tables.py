"""The paper's tables, built from the analysis JSON and the run folders only.

Every table is a DataFrame of display-ready cells; ``write_table`` saves it as CSV, Markdown
and LaTeX (booktabs). A system that was not run shows "not run", never a number. Seed sweeps
(systems named ``exp[seed=N]``) are aggregated per experiment as mean ± sd (n seeds).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from qwen_vad.markdown_table import to_markdown
from qwen_vad.report.collect import ReportInputs, SystemRun
from qwen_vad.report.threshold_cells import NOT_FITTED, aggregate_threshold_cells

NOT_RUN = "not run"
# The comparison matrix of the research plan: id, model, fine-tuning, prompt, data (design.md §5).
PLAN_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    ("a1", "Qwen2-Audio base", "none", "baseline", "test set"),
    ("a2", "Qwen2-Audio base", "none", "OPRO", "test set"),
    ("b1", "Qwen2-Audio", "LoRA, loss on whole sequence", "baseline", "small (~128 clips)"),
    ("b2", "Qwen2-Audio", "LoRA, loss on answer token", "baseline", "small (~128 clips)"),
    ("b3", "Qwen2-Audio", "LoRA, loss on answer token", "baseline", "factorial 1-3k"),
    ("b4", "Qwen2-Audio", "LoRA, loss on answer token", "OPRO", "factorial 1-3k"),
    ("c1", "Qwen3-Omni", "none", "OPRO", "test set"),
    ("d1", "WebRTC VAD", "-", "-", "test set"),
    ("d2", "Silero VAD", "-", "-", "test set"),
)
SEED = re.compile(r"^(?P<exp>.+)\[seed=(?P<seed>-?\d+)\]$")


def experiment_of(system: str) -> str:
    match = SEED.match(system)
    return match["exp"] if match else system


def by_experiment(names: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[experiment_of(name)].append(name)
    return dict(groups)


def mean_sd(values: Sequence[float | None], digits: int = 3, scale: float = 1.0) -> str:
    """One run: the value; several seeds: mean ± sd (n); nothing measurable: "n/a"."""
    numbers = [v * scale for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not numbers:
        return "n/a"
    if len(values) == 1:
        return f"{numbers[0]:.{digits}f}"
    if len(numbers) == 1:  # one measurable seed has no spread to show
        return f"{numbers[0]:.{digits}f} (n=1)"
    return f"{np.mean(numbers):.{digits}f} ± {np.std(numbers, ddof=1):.{digits}f} (n={len(numbers)})"


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
)


# --------------------------------------------------------------------------------------------
# Tables


def comparison_matrix(inputs: ReportInputs) -> pd.DataFrame:
    groups = by_experiment(list(inputs.metrics["systems"]))
    rows = []
    for exp, model, finetuning, prompt, data in PLAN_ROWS:
        systems = groups.get(exp, [])
        described = describe_run(inputs.runs[systems[0]]) if systems else {}
        row = {
            "row": exp.upper(),
            "model": described.get("model", model),
            "fine-tuning": described.get("fine-tuning", finetuning),
            "prompt": described.get("prompt", prompt),
            "dataset": described.get("dataset", data),
        }
        for column, value, digits, scale in MATRIX_COLUMNS:
            row[column] = matrix_cell([value(inputs, s) for s in systems], digits, scale) if systems else NOT_RUN
        rows.append(row)
    return pd.DataFrame(rows)


def describe_run(run: SystemRun) -> dict[str, str]:
    """What was actually run, read from the run's resolved config.yaml."""
    cfg = run.config
    model = Path(str(cfg.model.name_or_path).rstrip("/")).name if cfg.evaluate.system == "qwen" or run.stage != "evaluate" else run.system
    finetuning = "none"
    if run.stage == "finetune":
        finetuning = f"LoRA r={cfg.finetune.lora.r}, loss={cfg.loss.mode}"
    elif cfg.model.adapter:
        finetuning = f"LoRA adapter {Path(cfg.model.adapter).name}"
    if run.stage == "evaluate" and cfg.evaluate.system != "qwen":
        finetuning = "-"
    return {
        "model": model,
        "fine-tuning": finetuning,
        "prompt": run.prompt_id or "-",
        "dataset": f"{cfg.data.name} (n={run.n_reported})",
    }


def breakdown_table(inputs: ReportInputs, column: str, value_key: str = "balanced_accuracy") -> pd.DataFrame:
    """Rows: levels of ``column``; one column per experiment (mean ± sd over seeds)."""
    groups = by_experiment(list(inputs.metrics["systems"]))
    values: dict[str, dict[object, list[float]]] = {}
    levels: set = set()
    for exp, systems in groups.items():
        per_level: dict[object, list[float]] = defaultdict(list)
        for system in systems:
            for entry in inputs.metrics["systems"][system]["summary"]["by_condition"].get(column, []):
                per_level[entry[column]].append(entry[value_key])
                levels.add(entry[column])
        values[exp] = per_level
    if not levels:
        return pd.DataFrame()
    ordered = sorted(levels, key=_level_key)
    table = pd.DataFrame({column: [_format_level(level) for level in ordered]})
    for exp in sorted(values):
        table[exp] = [mean_sd(values[exp].get(level, [None]) if level in values[exp] else [None]) for level in ordered]
    return table


def category_errors(inputs: ReportInputs) -> pd.DataFrame:
    """Error rate per NONSPEECH (and SPEECH) category: which sounds fool which system."""
    groups = by_experiment(list(inputs.metrics["systems"]))
    rows = []
    for exp in sorted(groups):
        per_category: dict[str, list[float]] = defaultdict(list)
        counts: dict[str, int] = {}
        for system in groups[exp]:
            for entry in inputs.metrics["systems"][system]["summary"]["by_condition"].get("category", []):
                per_category[entry["category"]].append(1 - entry["accuracy"])
                counts[entry["category"]] = entry["n"]
        for category in sorted(per_category):
            rows.append({"system": exp, "category": category, "n": counts[category], "error rate": mean_sd(per_category[category])})
    return pd.DataFrame(rows)


def dataset_summary(inputs: ReportInputs) -> pd.DataFrame:
    """Cells x splits of each dataset the reported runs were scored on."""
    rows = []
    for name, report in sorted(inputs.datasets.items()):
        for cell in report["cells"]:
            rows.append({"dataset": name, **{k: cell[k] for k in ("label", "duration_ms", "snr_db", "train", "dev", "test")}})
    return pd.DataFrame(rows)


def prompt_summary(inputs: ReportInputs) -> pd.DataFrame:
    """The prompt each LLM system used, with its dev (threshold-learning) and test scores."""
    rows = []
    for system, run in sorted(inputs.runs.items()):
        if not run.prompt_id:
            continue
        block = inputs.metrics["systems"][system]
        rows.append(
            {
                "system": system,
                "prompt": run.prompt_id,
                "found by": "OPRO" if run.stage == "opro" else "hand-written",
                "dev BA (threshold fit)": _format_number(run.dev_balanced_accuracy),
                "test BA": _format_number(block["headline"]["balanced_accuracy"]),
                "text": run.prompt_text.replace("\n", " / ") if run.prompt_text else "",
            }
        )
    return pd.DataFrame(rows)


def paired_comparisons(inputs: ReportInputs) -> pd.DataFrame:
    """ΔBA = first minus second system, on the same clips (positive: the first is better)."""
    rows = []
    for c in inputs.comparisons.get("comparisons", []):
        diff = c["balanced_accuracy_difference"]
        rows.append(
            {
                "comparison": f"{c['a']} vs {c['b']}",
                "ΔBA": _format_number(-diff["difference_b_minus_a"]),
                "95% CI": f"[{_format_number(-diff['interval']['high'])}, {_format_number(-diff['interval']['low'])}]",
                "McNemar p": _format_p(c["mcnemar"]["p_value"]),
                "Holm p": _format_p(c["mcnemar"]["p_value_holm"]),
                "clips": c["mcnemar"]["n_pairs"],
            }
        )
    for spec in inputs.comparisons.get("not_run", []):
        rows.append({"comparison": spec.replace(":", " vs "), "ΔBA": NOT_RUN, "95% CI": "", "McNemar p": "", "Holm p": "", "clips": ""})
    return pd.DataFrame(rows)


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
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


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
