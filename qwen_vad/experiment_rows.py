"""The rows of the comparison matrix: every experiment file that declares a ``row:`` section.

A row is declared where the experiment is (its YAML), so adding one (a new VAD baseline, a new
model) needs no list elsewhere: the analysis includes it by default and records the declared
rows in its metrics.json, and the report lists each (as "not run" until scored)."""

from __future__ import annotations

import dataclasses

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from qwen_vad.config import RowConfig, experiment_names, experiments_dir
from qwen_vad.errors import ConfigError

ROW_KEY = "row"


def experiment_rows() -> dict[str, RowConfig]:
    """Experiment name -> its declared row, in matrix order (row.order, then name)."""
    rows = {}
    for name in experiment_names():
        path = experiments_dir() / f"{name}.yaml"
        node = OmegaConf.load(path)
        if not isinstance(node, DictConfig) or ROW_KEY not in node:
            continue
        try:
            rows[name] = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RowConfig), node[ROW_KEY]))
        except (ConfigKeyError, ValidationError) as err:
            raise ConfigError(f"{path}: bad row section: {err.msg if hasattr(err, 'msg') else err}") from None
    return dict(sorted(rows.items(), key=lambda item: (item[1].order, item[0])))


def row_records() -> list[dict]:
    """The declared rows as the analysis records them (metrics.json ``rows``)."""
    return [{"experiment": name, **dataclasses.asdict(row)} for name, row in experiment_rows().items()]
