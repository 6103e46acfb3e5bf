"""A page of a grid search's experiments, filtered and sorted on the board (issue 16, point 2).

Works on the read model's `ExperimentView`s and builds the `/experiments` row only for the experiments of the
page, so a page of 100 out of thousands costs a sort of small keys, not thousands of rows. Pure: no Flask.
The filter follows the dashboard's table (src/ml_board/static/experiments_table.js, `matches`) where it is simple;
docs/api.md and docs/design.md say where it differs.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlgym.events.projection import ACTIVE, ExperimentView, GridSearchProjection

SHOWN_STATUSES = ("scheduled", "running", "done", "failed", "paused", "interrupted")
PLAIN_SORTS = ("experiment_id", "status", "epoch", "progress")
SORT_PREFIXES = ("hp:", "best:", "latest:")
# The dashboard table's order of statuses (worst first), with `interrupted` beside `running`.
STATUS_ORDER = {status: rank for rank, status in enumerate(
    ("failed", "running", "interrupted", "scheduled", "paused", "done"))}
MAX_LIMIT = 1000


class BadSort(ValueError):
    """A `sort` field the board does not know."""


@dataclass(frozen=True)
class PageRequest:
    offset: int = 0
    limit: int = 100
    sort: str | None = None  # None: order of appearance
    descending: bool = False
    query: str = ""
    status: str | None = None


def short_path(path: str) -> str:
    """The dashboard's column header of a hyperparameter path: "optimizer.config.lr" -> "optimizer.lr"."""
    return ".".join(part for part in path.split(".") if part != "config")


def _value_texts(value: Any) -> list[str]:
    """How a hyperparameter value may be typed in the filter: as JSON ("0.001", "\"adam\"") and, for a string,
    bare ("adam")."""
    texts = [json.dumps(value, separators=(",", ":"))]
    if isinstance(value, str):
        texts.append(value)
    return texts


def search_text(view: ExperimentView, status: str) -> str:
    """What the filter's terms are looked up in: id, grid point id, shown status, role, trial, and
    `<path>=<value>` of every hyperparameter, with the full and the short path; lower case."""
    parts = [view.experiment_id, view.grid_point_id or "", status, view.role]
    if view.trial is not None:
        parts.append(f"trial {view.trial}")
    for path, value in view.hyperparameters.items():
        for name in dict.fromkeys((path, short_path(path))):
            parts.extend(f"{name}={text}" for text in _value_texts(value))
    return " ".join(parts).lower()


def matches(text: str, terms: list[str]) -> bool:
    return all(term in text for term in terms)


def _sortable(value: Any) -> tuple[int, Any] | None:
    """A key that orders any JSON value: numbers (not NaN), then strings, then the rest by their JSON text;
    None (and NaN): missing."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return None if isinstance(value, float) and math.isnan(value) else (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True))


def sort_key(sort: str) -> Callable[[ExperimentView, str], tuple[int, Any] | None]:
    """(view, shown status) -> its sortable value for `sort`, None when missing; raises BadSort."""
    if sort == "experiment_id":
        return lambda view, status: (1, view.experiment_id)
    if sort == "status":
        return lambda view, status: (0, STATUS_ORDER[status])
    if sort == "epoch":
        return lambda view, status: (0, view.epoch)
    if sort == "progress":
        return lambda view, status: (0, view.progress)
    if sort.startswith("hp:") and len(sort) > 3:
        path = sort[3:]
        return lambda view, status: _sortable(view.hyperparameters.get(path))
    for prefix, attribute in (("best:", "best"), ("latest:", "latest")):
        key = sort[len(prefix):]
        split, _, name = key.partition("/")
        if sort.startswith(prefix) and split and name:
            return lambda view, status: _sortable(getattr(view, attribute).get(key))
    raise BadSort(f"sort must be one of {', '.join(PLAIN_SORTS)}, hp:<hyperparameter path>, best:<split>/<name> "
                  f"or latest:<split>/<name>, got {sort!r}")


def page(projection: GridSearchProjection, request: PageRequest) -> dict[str, Any]:
    """{"total": experiments matching, "offset", "limit", "rows": the `/experiments` rows of the page}.

    Filter: `status` equal to the shown status; every whitespace-separated term of `query` (case-insensitive) a
    substring of `search_text`. Sort: by `request.sort`, experiments without a value last in either order, ties
    (and no sort) in order of appearance."""
    stale = projection.is_stale()
    terms = request.query.lower().split()
    chosen: list[tuple[ExperimentView, str]] = []
    for view in projection.views().values():
        status = "interrupted" if stale and view.status in ACTIVE else view.status
        if request.status is not None and status != request.status:
            continue
        if terms and not matches(search_text(view, status), terms):
            continue
        chosen.append((view, status))
    if request.sort is not None:
        key = sort_key(request.sort)
        keyed = [(key(view, status), view, status) for view, status in chosen]
        present = [item for item in keyed if item[0] is not None]
        present.sort(key=lambda item: item[0], reverse=request.descending)  # stable both ways: ties keep order
        chosen = [(view, status) for _, view, status in present]
        chosen += [(view, status) for value, view, status in keyed if value is None]
    window = chosen[request.offset:request.offset + request.limit]
    return {"total": len(chosen), "offset": request.offset, "limit": request.limit,
            "rows": [_row(projection, view, status) for view, status in window]}


def _row(projection: GridSearchProjection, view: ExperimentView, status: str) -> dict[str, Any]:
    """The experiment's `/experiments` row (GridSearchProjection.experiments: a stale run's active ones shown
    interrupted)."""
    row = view.row(projection.score_directions)
    if status == "interrupted":
        row["status"] = "interrupted"
        if row.get("search_status") in ACTIVE:
            row["search_status"] = "interrupted"
    return row
