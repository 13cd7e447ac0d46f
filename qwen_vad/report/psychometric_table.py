"""The psychometric thresholds table: every pooled-over-durations curve of every system, each
measure labelled with what it measures, with how far its fits can be trusted (goodness of
fit, parameters on a bound, the share of bootstrap refits that did not converge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from qwen_vad.report.threshold_cells import NOT_FITTED, aggregate_threshold_cells, bound_note, tested_range_text

# Curve set -> what its y axis measures, in the table's words (the plan's two, then the
# criterion-free one).
POOLED_CURVES = {
    "detection_vs_snr_db_pooled": "detection: P(answer SPEECH | SPEECH clip)",
    "correctness_vs_snr_db_pooled": "accuracy: P(correct)",
    "sensitivity_vs_snr_db_pooled": "criterion-free: AUC of p_speech (2AFC)",
}
PROBABILITIES = (0.5, 0.75, 0.9)


def threshold_entry(curve: Mapping[str, Any] | None, p: float) -> dict | None:
    if curve is None or "thresholds" not in curve:
        return None
    return next((t for t in curve["thresholds"] if abs(t["p"] - p) < 1e-9), None)


def refit_share(curves: Sequence[Mapping[str, Any] | None], method: str) -> str:
    """Largest share of unconverged bootstrap refits over seeds ("" when none ran)."""
    shares = [c["share_refits_not_converged"][method] for c in curves if c and method in c.get("share_refits_not_converged", {})]
    return f"{max(shares):.1%}" if shares else ""


def psychometric_table(psychometric: Mapping[str, Mapping[str, Any]], groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Rows: experiment x measure; ``groups``: experiment -> its systems (one per seed)."""
    rows = []
    for exp in sorted(groups):
        for curve_set, measure in POOLED_CURVES.items():
            curves = [next(iter(psychometric.get(s, {}).get(curve_set, [])), None) for s in groups[exp]]
            if not any(curves):
                continue
            fitted = [c for c in curves if c and "thresholds" in c]
            row = {"system": exp, "measure": measure, "tested": tested_range_text(threshold_entry(fitted[0], 0.5)) if fitted else ""}
            for p in PROBABILITIES:
                entries = [threshold_entry(c, p) if c and "thresholds" in c else None for c in curves]
                row[f"{round(p * 100)} %"] = aggregate_threshold_cells(entries)
            p_values = [c["goodness_of_fit"]["p_value"] for c in fitted]
            row["GOF p"] = f"{np.median(p_values):.3f}" if p_values else ""
            row["on a bound"] = "; ".join(sorted({bound_note(threshold_entry(c, 0.5) or {}).strip(" ()") for c in fitted} - {""}))
            row["refits not converged (param. / cluster)"] = f"{refit_share(fitted, 'parametric')} / {refit_share(fitted, 'cluster')}".strip(" /")
            skipped = sorted({c["skipped"] for c in curves if c and "skipped" in c})
            row["note"] = "; ".join([f"{NOT_FITTED}: {reason}" for reason in skipped] + sorted({c["warning"] for c in fitted if "warning" in c}))
            rows.append(row)
    return pd.DataFrame(rows)
