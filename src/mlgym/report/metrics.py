"""`mlgym report --format parquet --output FILE`: every logged score as one row of a long table, for pandas,
polars or DuckDB."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from mlgym.errors import UsageError
from mlgym.events.read_rules import scores_of


def metrics_frame(events: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (experiment, epoch, split, score): the latest value when an epoch was logged twice (a resumed
    epoch), with the experiment's grid point, role and hyperparameters (`hp.<key path>` columns)."""
    configs: dict[str, dict[str, Any]] = {}
    rows: dict[tuple, dict[str, Any]] = {}
    for event in events:
        eid, kind, p = event.get("experiment_id"), event["event_type"], event.get("payload") or {}
        if kind == "experiment_config" and eid is not None:
            configs[eid] = p
        elif kind == "evaluation_result" and eid is not None:
            for score in scores_of(p):
                rows[(eid, int(p["epoch"]), score.key)] = {
                    "experiment_id": eid, "epoch": int(p["epoch"]), "split": score.split, "name": score.name,
                    "kind": score.kind, "score": score.value, "seq": event["seq"], "ts": event["creation_ts"]}
    for row in rows.values():
        config = configs.get(row["experiment_id"], {})
        row.update({"grid_point_id": config.get("grid_point_id"), "role": config.get("role")})
        row.update({f"hp.{k}": v for k, v in (config.get("hyperparameters") or {}).items()})
    return pd.DataFrame(list(rows.values()))


def write_metrics(events: Iterable[dict[str, Any]], path: Path) -> Path:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UsageError("--format parquet needs pyarrow: pip install 'mlgym[parquet]'") from None
    frame = metrics_frame(events)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path
