"""Results tables (pandas) rebuilt from a grid search's events, one shape per validation strategy."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from mlgym.events.projection import ExperimentView, GridSearchProjection


def project(events: Iterable[dict[str, Any]], grid_search_id: str) -> GridSearchProjection:
    projection = GridSearchProjection(grid_search_id, keep_history=True)
    for event in events:
        projection.apply(event)
    return projection


def _hyper_columns(views: Iterable[ExperimentView]) -> dict[str, str]:
    """Swept key path -> short column name (the last two path parts when unambiguous)."""
    paths = sorted({p for v in views for p in v.hyperparameters})
    short = {p: ".".join(p.split(".")[-1:]) for p in paths}
    if len(set(short.values())) < len(paths):
        short = {p: p for p in paths}
    return short


def _grid_search_table(views: list[ExperimentView]) -> pd.DataFrame:
    columns = _hyper_columns(views)
    rows = []
    for v in views:
        row: dict[str, Any] = {"experiment_id": v.experiment_id, "status": v.status}
        row.update({columns[p]: val for p, val in v.hyperparameters.items()})
        row["best_epoch"] = v.best_epoch
        row.update({k: s for k, s in v.best_scores.items() if not k.startswith("train/")})
        rows.append(row)
    return pd.DataFrame(rows)


def _cross_validation_table(views: list[ExperimentView]) -> pd.DataFrame:
    columns = _hyper_columns(views)
    groups: dict[str, list[ExperimentView]] = {}
    for v in views:
        groups.setdefault(v.grid_point_id or v.experiment_id, []).append(v)
    rows = []
    for gp, members in groups.items():
        row: dict[str, Any] = {"grid_point_id": gp}
        row.update({columns[p]: val for p, val in members[0].hyperparameters.items()})
        done = [m for m in members if m.status == "done"]
        row["folds_done"] = f"{len(done)}/{len(members)}"
        frame = pd.DataFrame([m.latest for m in done])
        for key in frame.columns:
            row[f"{key}_mean"] = frame[key].mean()
            row[f"{key}_std"] = frame[key].std(ddof=0)
        rows.append(row)
    return pd.DataFrame(rows)


def _nested_cv_table(views: list[ExperimentView]) -> pd.DataFrame:
    columns = _hyper_columns(views)
    refits = sorted((v for v in views if v.role == "refit"), key=lambda v: (v.fold or {}).get("outer", 0))
    rows = []
    for v in refits:
        row: dict[str, Any] = {"outer_fold": str((v.fold or {}).get("outer")), "status": v.status,
                               "chosen_grid_point": v.grid_point_id}
        row.update({columns[p]: val for p, val in v.hyperparameters.items()})
        row.update({k: s for k, s in v.latest.items() if k.startswith("test/")})
        rows.append(row)
    table = pd.DataFrame(rows)
    scores = [c for c in table.columns if c.startswith("test/")]
    if len(table) and scores:
        done = table[table["status"] == "done"]
        summary = [{"outer_fold": "mean", **done[scores].mean().to_dict()},
                   {"outer_fold": "std", **done[scores].std(ddof=0).to_dict()}]
        table = pd.concat([table, pd.DataFrame(summary)], ignore_index=True)
    return table


def results_table(projection: GridSearchProjection) -> pd.DataFrame:
    """The results table for the strategy the grid search ran with."""
    views = list(projection.views().values())
    if projection.strategy == "cross_validation":
        return _cross_validation_table([v for v in views if v.role == "cv_fold"])
    if projection.strategy == "nested_cv":
        return _nested_cv_table(views)
    return _grid_search_table(views)


def results_json(projection: GridSearchProjection) -> dict[str, Any]:
    """{"strategy", "columns", "rows"} with NaN as null, for REST and `--format json`."""
    table = results_table(projection)
    table = table.astype(object).where(pd.notna(table), None)
    return {"strategy": projection.strategy, "columns": list(table.columns),
            "rows": table.to_dict(orient="records")}
