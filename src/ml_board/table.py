"""Every experiment of a grid search as columns: what the dashboard's table and its read model need, without the log.

A large grid search's page (more than the dashboard's `LARGE_ABOVE` experiments, static/run_view.js) seeds its read
model (static/table_seed.js) from this answer instead of replaying the log, then applies the live events after
`last_seq`. So it holds, per experiment, the state the read model's rules carry forward (latest and best score of
every key with their epochs, the selection's best, kinds, statuses) and no series: charts ask for downsampled series
(`/series`, `/series/band`). Columns (one list per field, in order of appearance) keep the answer small: 2,000
experiments x 4 keys is ~0.5 MB. Pure: no Flask.
"""
from __future__ import annotations

import math
from typing import Any

from mlgym.events.experiment_view import ExperimentView
from mlgym.events.projection import GridSearchProjection

# Statuses for which the table shows a step inside an epoch; a done experiment's last training_progress is not sent.
_STEP_SHOWN = ("running", "scheduled", "paused", "failed")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def grid_kinds(keys: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(score name -> kind, split -> first metric name), as the projection records them: the first key of a name
    (in order of appearance) gives its kind, the first metric key of a split its first metric."""
    kinds: dict[str, str] = {}
    first_metric: dict[str, str] = {}
    for key, kind in keys.items():
        split, _, name = key.partition("/")
        kinds.setdefault(name, kind)
        if kind == "metric":
            first_metric.setdefault(split, name)
    return kinds, first_metric


def _latest_epoch(view: ExperimentView, key: str) -> int | None:
    """The epoch of `view.latest[key]`: the highest epoch `key` was scored at (its series is that long)."""
    ys = view.series.get(key)
    return None if ys is None or not len(ys) else len(ys) - 1


def table(projection: GridSearchProjection) -> dict[str, Any]:
    """{"last_seq", "last_ts", "started", "finished", "keys": [{key, kind}], "experiments": {field: [per
    experiment]}}; see docs/api.md (`GET /api/grid_searches/<gs>/table`)."""
    views = list(projection.views().values())
    keys = projection.score_keys()
    kinds, first_metric = grid_kinds(keys)
    columns: dict[str, list[Any]] = {name: [] for name in (
        "experiment_id", "grid_point_id", "role", "fold", "hyperparameters", "score_directions", "status", "phase",
        "epoch", "num_epochs", "error", "trial", "search_decision", "num_alerts", "last_alert", "step_progress",
        "kinds", "first_metric", "selected_score", "selection_epoch")}
    per_key: dict[str, dict[str, list[Any]]] = {
        field: {key: [] for key in keys} for field in ("latest", "latest_epoch", "best", "best_epoch")}
    for view in views:
        row = {
            "experiment_id": view.experiment_id, "grid_point_id": view.grid_point_id, "role": view.role,
            "fold": view.fold, "hyperparameters": view.hyperparameters,
            "score_directions": view.score_directions or None, "status": view.status, "phase": view.train_status,
            "epoch": view.epoch, "num_epochs": view.num_epochs, "error": view.error, "trial": view.trial,
            "search_decision": view.search_decision, "num_alerts": view.num_alerts,
            "last_alert": view.alerts[-1] if view.alerts else None,
            "step_progress": view.step_progress if view.status in _STEP_SHOWN else None,
            # an experiment's own kinds / first metrics only where they differ from the grid search's (rare)
            "kinds": None if all(kinds.get(n) == k for n, k in view.kinds.items()) else view.kinds,
            "first_metric": None if all(first_metric.get(s) == n for s, n in view.first_metric.items())
            else view.first_metric,
            "selected_score": view.selected_score, "selection_epoch": view.best_epoch}
        for name, value in row.items():
            columns[name].append(value)
        for key in keys:
            per_key["latest"][key].append(_finite(view.latest.get(key)))
            per_key["latest_epoch"][key].append(_latest_epoch(view, key))
            per_key["best"][key].append(view.best.get(key))
            per_key["best_epoch"][key].append(view.best_epochs.get(key))
    return {"last_seq": projection.last_seq, "last_ts": projection.last_ts, "started": projection.started or None,
            "finished": projection.finished, "keys": [{"key": key, "kind": kind} for key, kind in keys.items()],
            "experiments": {**columns, **per_key}}
