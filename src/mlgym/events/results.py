"""Results tables (pandas) of a grid search, one shape per validation strategy.

Every number comes from the read model (`GridSearchProjection`): this module only lays it out.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlgym.events.experiment_view import ExperimentView
from mlgym.events.projection import GridSearchProjection

if TYPE_CHECKING:  # pandas (~0.25 s) is imported by the functions that build tables
    import pandas as pd


def project(events: Iterable[dict[str, Any]], grid_search_id: str) -> GridSearchProjection:
    projection = GridSearchProjection(grid_search_id)
    for event in events:
        projection.apply(event)
    return projection


def _hyper_columns(views: Iterable[ExperimentView]) -> dict[str, str]:
    """Swept key path -> short column name (the last path part when unambiguous)."""
    paths = sorted({p for v in views for p in v.hyperparameters})
    short = {p: ".".join(p.split(".")[-1:]) for p in paths}
    if len(set(short.values())) < len(paths):
        short = {p: p for p in paths}
    return short


def _grid_search_table(projection: GridSearchProjection) -> pd.DataFrame:
    import pandas as pd
    views = list(projection.views().values())
    columns = _hyper_columns(views)
    rows = []
    searched = any(v.trial is not None for v in views)
    for v in views:
        row: dict[str, Any] = {"experiment_id": v.experiment_id, "status": projection.shown_status(v)}
        if searched:
            row.update({"trial": v.trial, "search": v.search_status})
        row.update({columns[p]: val for p, val in v.hyperparameters.items()})
        row["best_epoch"] = v.best_epoch
        row.update({k: s for k, s in v.scores_at_best.items() if not k.startswith("train/")})
        rows.append(row)
    return pd.DataFrame(rows)


def _cross_validation_table(projection: GridSearchProjection) -> pd.DataFrame:
    import pandas as pd
    folds = [v for v in projection.views().values() if v.role == "cv_fold"]
    columns = _hyper_columns(folds)
    trial_of = {v.grid_point_id: v for v in reversed(folds) if v.trial is not None}  # a searched CV: fold 0's
    rows: dict[str, dict[str, Any]] = {}
    for group in projection.cv_stats(""):
        row = rows[group["grid_point_id"]] = {"grid_point_id": group["grid_point_id"]}
        if trial_of:
            view = trial_of.get(group["grid_point_id"])
            row.update({"trial": view.trial if view else None, "search": view.search_status if view else None})
        row.update({columns[p]: val for p, val in group["hyperparameters"].items()})
        row["folds_done"] = f"{group['done']}/{group['folds']}"
    for key in projection.score_keys():
        for group in projection.cv_stats(key):
            rows[group["grid_point_id"]].update({f"{key}_mean": group["mean"], f"{key}_std": group["std"]})
    return pd.DataFrame(list(rows.values()))


def _nested_cv_table(projection: GridSearchProjection) -> pd.DataFrame:
    import pandas as pd
    columns = _hyper_columns(projection.views().values())
    rows = []
    for v in projection.refits():
        row: dict[str, Any] = {"outer_fold": str((v.fold or {}).get("outer")), "status": projection.shown_status(v),
                               "chosen_grid_point": v.grid_point_id}
        row.update({columns[p]: val for p, val in v.hyperparameters.items()})
        row.update({k: s for k, s in v.latest.items() if k.startswith("test/")})
        rows.append(row)
    table = pd.DataFrame(rows)
    scores = [c for c in table.columns if c.startswith("test/")]
    if len(table) and scores:
        stats = {key: projection.refit_stats(key) for key in scores}
        summary = [{"outer_fold": "mean", **{k: s["mean"] for k, s in stats.items()}},
                   {"outer_fold": "std", **{k: s["std"] for k, s in stats.items()}}]
        hyper = [c for c in table.columns if c in set(columns.values())]
        table = table.astype({c: object for c in hyper})  # the mean/std rows leave them empty: no 64 -> 64.0
        table = pd.concat([table, pd.DataFrame(summary)], ignore_index=True)
    return table


def results_table(projection: GridSearchProjection) -> pd.DataFrame:
    """The results table for the strategy the grid search ran with: grid search and cross-validation rows sorted
    by the selection score (best first; no score last) with a `best` column marking the winner (a finished
    experiment, or a grid point whose folds all finished); nested CV's rows are its outer folds."""
    selection = projection.selection
    key = f"{selection['split']}/{selection['metric']}" if selection["metric"] else None
    if projection.strategy == "cross_validation":
        table = _cross_validation_table(projection)
        return _ranked(table, f"{key}_mean" if key else None, selection["mode"],
                       table["folds_done"].map(_all_folds_done) if "folds_done" in table else None)
    if projection.strategy == "nested_cv":
        return _nested_cv_table(projection)
    table = _grid_search_table(projection)
    return _ranked(table, key, selection["mode"], table["status"] == "done" if "status" in table else None)


def _all_folds_done(text: Any) -> bool:
    done, _, total = str(text).partition("/")
    return done == total


def _ranked(table: pd.DataFrame, key: str | None, mode: str | None, eligible: pd.Series | None) -> pd.DataFrame:
    """`table` sorted by `key` (max or min first, missing last, ties in their order) with `best` on the first
    eligible row that has a score."""
    import pandas as pd
    if table.empty:
        return table
    table = table.copy()
    table["best"] = False
    if key is None or key not in table.columns:
        return table
    scores = pd.to_numeric(table[key], errors="coerce")
    order = scores.sort_values(ascending=mode == "min", na_position="last", kind="stable").index
    candidates = scores.notna() & (eligible if eligible is not None else True)
    winners = [i for i in order if candidates[i]]
    if winners:
        table.loc[winners[0], "best"] = True
    return table.loc[order].reset_index(drop=True)


def loss_columns(projection: GridSearchProjection, table: pd.DataFrame) -> list[str]:
    """The columns of `table` that hold a loss (a score key, or `<key>_mean` / `<key>_std`)."""
    losses = {key for key, kind in projection.score_keys().items() if kind == "loss"}
    return [str(c) for c in table.columns
            if str(c) in losses or str(c).rsplit("_", 1)[0] in losses]


def results_json(projection: GridSearchProjection) -> dict[str, Any]:
    """{"strategy", "columns", "rows"} with NaN as null, for REST and `--format json`."""
    import pandas as pd
    table = results_table(projection)
    table = table.astype(object).where(pd.notna(table), None)
    return {"strategy": projection.strategy, "status": projection.live_status(),
            "last_event_ts": projection.last_ts, "columns": list(table.columns),
            "rows": table.to_dict(orient="records")}
