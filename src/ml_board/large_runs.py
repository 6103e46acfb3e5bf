"""The REST routes a dashboard of a large grid search fetches instead of the whole log: every experiment as columns
(ml_board/table.py), a page of experiments (filtered and sorted on the board, ml_board/paging.py), score series
downsampled to what a chart can show, and the quantile band over every experiment (ml_board/series.py). They are added to the `api` blueprint of api.py.
"""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from ml_board.api import ApiError, _check_id, _int_arg, _projection, _state, api
from ml_board.paging import MAX_LIMIT, SHOWN_STATUSES, BadSort, PageRequest, page
from ml_board.series import band, downsample, finite_points
from ml_board.table import table

MAX_QUERY = 1000  # characters of an experiments page's `q`
MAX_SERIES_EXPERIMENTS = 200  # experiments per /series request
MAX_QUANTILES = 20
ORDERS = ("asc", "desc")
MAX_CACHED_BANDS = 32


def _choice_arg(name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = request.args.get(name, default)
    if value is not None and value not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _query_arg() -> str:
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        raise ApiError(400, f"q is at most {MAX_QUERY} characters, got {len(query)}")
    return query


@api.get("/grid_searches/<grid_search_id>/table")
def get_table(grid_search_id: str) -> Response:
    """Every experiment as columns, with the seq they were taken at: what a large grid search's page starts from
    instead of the log (ml_board/table.py)."""
    return jsonify(table(_projection(grid_search_id)))


@api.get("/grid_searches/<grid_search_id>/experiments/page")
def get_experiments_page(grid_search_id: str) -> Response:
    """A page of the experiments, filtered and sorted on the board (ml_board/paging.py)."""
    projection = _projection(grid_search_id)
    sort = request.args.get("sort") or None
    wanted = PageRequest(offset=_int_arg("offset", 0, 0), limit=_int_arg("limit", 100, 1, MAX_LIMIT), sort=sort,
                         descending=_choice_arg("order", ORDERS, "asc") == "desc",
                         query=_query_arg(), status=_choice_arg("status", SHOWN_STATUSES, None))
    try:
        return jsonify(page(projection, wanted))
    except BadSort as exc:
        raise ApiError(400, str(exc)) from None


def _score_key(projection: Any) -> str | None:
    """`key` as asked (`<split>/<name>`), else the grid search's selection key, else the first key scored."""
    key = request.args.get("key")
    if key is not None:
        split, _, name = key.partition("/")
        if not split or not name or len(key) > 200:
            raise ApiError(400, f"key must be <split>/<metric or loss name>, got {key!r}")
        return key
    selection = projection.selection
    if selection["metric"] is not None:
        return f"{selection['split']}/{selection['metric']}"
    return next(iter(projection.score_keys()), None)


@api.get("/grid_searches/<grid_search_id>/series")
def get_series(grid_search_id: str) -> Response:
    """One score key's series of some experiments, each downsampled to at most `points` points (ml_board/series.py)."""
    projection = _projection(grid_search_id)
    key = _score_key(projection)
    points = _int_arg("points", 1000, 4, 100_000)
    from_epoch = _int_arg("from_epoch", 0, 0)
    to_epoch = _int_arg("to_epoch", -1, 0)
    views = projection.views()
    wanted = request.args.get("experiments")
    if wanted is not None:
        ids = list(dict.fromkeys(i for i in wanted.split(",") if i))
        if len(ids) > MAX_SERIES_EXPERIMENTS:
            raise ApiError(400, f"experiments lists at most {MAX_SERIES_EXPERIMENTS} ids, got {len(ids)}")
        for eid in ids:
            _check_id(eid, "experiment_id")
            if eid not in views:
                raise ApiError(404, f"unknown experiment {eid!r} in grid search {grid_search_id!r}")
        offset = limit = None
    else:
        offset = _int_arg("offset", 0, 0)
        limit = _int_arg("limit", 100, 1, MAX_SERIES_EXPERIMENTS)
        ids = list(views)[offset:offset + limit]
    series: dict[str, Any] = {}
    downsampled = False
    for eid in ids:
        ys = views[eid].series.get(key) if key is not None else None
        epochs, values = finite_points(ys, from_epoch, None if to_epoch < 0 else to_epoch)
        if len(epochs) > points:
            downsampled = True
            epochs, values = downsample(epochs, values, points)
        series[eid] = {"epochs": epochs, "values": values}
    return jsonify({"key": key, "points": points, "from_epoch": from_epoch, "to_epoch": None if to_epoch < 0
                    else to_epoch, "total": len(views), "offset": offset, "limit": limit, "series": series,
                    "downsampled": downsampled})


def _quantiles_arg() -> list[float]:
    raw = request.args.get("quantiles", "0.1,0.5,0.9")
    try:
        quantiles = [float(q) for q in raw.split(",")]
    except ValueError:
        quantiles = []
    if not quantiles or len(quantiles) > MAX_QUANTILES or not all(0 <= q <= 1 for q in quantiles):
        raise ApiError(400, f"quantiles must be 1 to {MAX_QUANTILES} comma-separated numbers in [0, 1], "
                            f"got {raw!r}")
    return quantiles


@api.get("/grid_searches/<grid_search_id>/series/band")
def get_series_band(grid_search_id: str) -> Response:
    """Per epoch, quantiles of one score key over every experiment scored there (ml_board/series.py)."""
    projection = _projection(grid_search_id)
    key = _score_key(projection)
    quantiles = _quantiles_arg()
    bands = _state().bands
    cache_key = (grid_search_id, key or "", tuple(quantiles))
    cached = bands.get(cache_key)
    if cached is not None and cached[0] == projection.last_seq:
        return jsonify(cached[1])
    arrays = [] if key is None else [v.series[key] for v in projection.views().values() if key in v.series]
    epochs, counts, values = band(arrays, quantiles)
    answer = {"key": key, "quantiles": quantiles, "epochs": epochs, "counts": counts, "values": values}
    bands.pop(cache_key, None)
    bands[cache_key] = (projection.last_seq, answer)
    while len(bands) > MAX_CACHED_BANDS:
        del bands[next(iter(bands))]  # the oldest entry
    return jsonify(answer)
