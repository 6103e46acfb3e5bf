"""The REST blueprint under `/api`: grid searches, events replay, experiments, results, checkpoints.

Every id is checked against `[A-Za-z0-9._-]+` (400) before it touches the file system; an unknown id is 404. Event
replay streams the stored lines as they are on disk (no decoding), so memory per request stays bounded.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file, stream_with_context
from mlgym.events.labels import label_problem, normalized
from mlgym.events.schema import is_valid_id

from ml_board.checkpoints import BadPath, OutsideRoot, checkpoint_path, list_checkpoints, save_checkpoint
from ml_board.access import READ_TOKEN_MISSING, bearer_token, token_ok
from ml_board.health import StorageHealth
from ml_board.labels import LabelEdits, matches
from ml_board.openapi import openapi_spec
from ml_board.store import EventStore, GridSearchStore
from ml_board.summaries import Summaries

api = Blueprint("api", __name__)

MAX_PAGE = 100_000
MAX_LABELS_BODY = 256 * 1024  # far above what the limits allow (a 10,000-character note escaped as \uXXXX pairs)


@dataclass
class BoardState:
    """What the REST handlers need, kept in `app.extensions["ml_board"]`."""

    store: EventStore
    summaries: Summaries
    ingest_token: str | None
    read_token: str | None = None
    labels: LabelEdits | None = None
    on_changed: Callable[[str, dict[str, Any]], None] | None = None  # the app broadcasts labels, archive, delete
    health: StorageHealth | None = None
    # (grid search, key, quantiles) -> (the projection's last_seq, the band): a band of 2,000 experiments x 1,000
    # epochs costs ~0.5 s of the server's one thread, so viewers polling an unchanged grid search share one
    bands: dict[tuple[str, str, tuple[float, ...]], tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels is None:
            self.labels = LabelEdits(self.store.root)
        if self.health is None:
            self.health = StorageHealth(self.store.root)


class ApiError(Exception):
    """An error answered as `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@api.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify(error=exc.message), exc.status


def _state() -> BoardState:
    return current_app.extensions["ml_board"]


def _check_id(value: str, what: str) -> str:
    if not is_valid_id(value) or value in (".", ".."):
        raise ApiError(400, f"invalid {what} {value!r}: ids must match [A-Za-z0-9._-]+")
    return value


def _gs_store(grid_search_id: str) -> GridSearchStore:
    _check_id(grid_search_id, "grid_search_id")
    gs_store = _state().store.get(grid_search_id)
    if gs_store is None or gs_store.acked_seq < 0:
        raise ApiError(404, f"unknown grid search {grid_search_id!r}")
    return gs_store


def _projection(grid_search_id: str) -> Any:
    _gs_store(grid_search_id)
    projection = _state().summaries.projection(grid_search_id)
    if projection is None:
        raise ApiError(404, f"unknown grid search {grid_search_id!r}")
    return projection


def _int_arg(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ApiError(400, f"{name} must be between {minimum} and {maximum}" if maximum is not None
                       else f"{name} must be >= {minimum}")
    return value


@api.before_request
def _require_read_token() -> None:
    """With a read token, every route but the upload (which takes the ingest token) needs it; CORS preflights
    carry no credentials."""
    if request.method == "OPTIONS" or request.endpoint == "api.upload_checkpoint":
        return
    if not token_ok(_state().read_token, bearer_token(request.headers)):
        raise ApiError(401, READ_TOKEN_MISSING)


@api.get("/health")
def get_health() -> Response:
    """Whether the board stores what it is sent: the last storage failure (until a write succeeds) and free space."""
    return jsonify(_state().health.report())


@api.get("/openapi.json")
def get_openapi() -> Response:
    return jsonify(openapi_spec(read_protected=bool(_state().read_token)))


def _labels(projection: Any) -> dict[str, Any]:
    return _state().labels.current(projection.grid_search_id, projection.started.get("run_config"))


def _board_fields(projection: Any) -> dict[str, Any]:
    """What the board adds to a grid search's summary: its labels and whether it is archived."""
    return {**_labels(projection), "archived": _state().labels.archived(projection.grid_search_id)}


def _notify(grid_search_id: str, change: dict[str, Any]) -> None:
    on_changed = _state().on_changed
    if on_changed is not None:
        on_changed(grid_search_id, change)


ARCHIVED_CHOICES = ("false", "true", "all")


@api.get("/grid_searches")
def get_grid_searches() -> Response:
    state = _state()
    query = request.args.get("q", "").strip()
    tags = [tag.strip() for tag in request.args.getlist("tag") if tag.strip()]
    archived = request.args.get("archived", "false")
    if archived not in ARCHIVED_CHOICES:
        raise ApiError(400, f"archived must be one of {', '.join(ARCHIVED_CHOICES)}, got {archived!r}")
    rows = []
    for summary, base_labels in state.summaries.rows():
        gs = summary["grid_search_id"]
        row = {**summary, **state.labels.over(gs, base_labels), "archived": state.labels.archived(gs)}
        if archived != "all" and row["archived"] != (archived == "true"):
            continue
        if matches(row, query, tags):
            rows.append(row)
    rows.sort(key=lambda s: (s.get("start_ts") or 0.0, s["grid_search_id"]), reverse=True)
    return jsonify(rows)


@api.get("/grid_searches/<grid_search_id>")
def get_grid_search(grid_search_id: str) -> Response:
    projection = _projection(grid_search_id)
    return jsonify({**projection.info(), **_board_fields(projection)})


def _ingest_token_ok() -> bool:
    """The ingest token as `X-Ingest-Token`, else as `Authorization: Bearer` (which a read token may hold)."""
    given = request.headers.get("X-Ingest-Token")
    if given is None:
        given = bearer_token(request.headers)
    return token_ok(_state().ingest_token, given)


INGEST_TOKEN_MISSING = ("invalid or missing ingest token (send it as 'X-Ingest-Token: <token>', or as "
                        "'Authorization: Bearer <token>' on a board without a read token)")


@api.put("/grid_searches/<grid_search_id>/labels")
def put_labels(grid_search_id: str) -> Response:
    """Edit name, tags and note (each optional; null: back to the run config's); needs the ingest token."""
    if not _ingest_token_ok():
        raise ApiError(401, INGEST_TOKEN_MISSING)
    projection = _projection(grid_search_id)
    body = _json_body("a label edit", "{name?, tags?, note?}")
    problem = label_problem(body, allow_null=True)
    if problem is not None:
        raise ApiError(400, f"labels.{problem[0]}: {problem[1]}" if problem[0] else problem[1])
    state = _state()
    if body:
        state.labels.edit(grid_search_id, normalized(body))
    labels = _labels(projection)
    if body:
        _notify(grid_search_id, {"labels": labels})
    return jsonify(labels)


def _json_body(what: str, shape: str) -> dict[str, Any]:
    data = request.stream.read(MAX_LABELS_BODY + 1)  # bounded, whatever Content-Length says (or does not)
    if len(data) > MAX_LABELS_BODY:
        raise ApiError(413, f"{what} is at most {MAX_LABELS_BODY} bytes")
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, f"the body is a JSON object {shape}")
    return body


@api.put("/grid_searches/<grid_search_id>/archive")
def put_archive(grid_search_id: str) -> Response:
    """Archive a grid search (hidden from the list unless asked for) or bring it back; needs the ingest token."""
    if not _ingest_token_ok():
        raise ApiError(401, INGEST_TOKEN_MISSING)
    _projection(grid_search_id)
    body = _json_body("an archive request", "{archived: true | false}")
    archived = body.get("archived")
    if set(body) != {"archived"} or not isinstance(archived, bool):
        raise ApiError(400, "the body is {\"archived\": true} or {\"archived\": false}")
    state = _state()
    if state.labels.archived(grid_search_id) != archived:
        state.labels.edit(grid_search_id, {"archived": archived})
        _notify(grid_search_id, {"archived": archived})
    return jsonify(archived=archived)


@api.delete("/grid_searches/<grid_search_id>")
def delete_grid_search(grid_search_id: str) -> Response:
    """Delete a grid search from the board: its stored events, labels and checkpoints (the gym's own log is not
    touched); needs the ingest token. A grid search that is still running is refused (409): its sink would send
    it again."""
    if not _ingest_token_ok():
        raise ApiError(401, INGEST_TOKEN_MISSING)
    projection = _projection(grid_search_id)
    if projection.live_status() == "running":
        raise ApiError(409, f"grid search {grid_search_id!r} is still running; stop it (or wait until its heartbeat "
                            "is missed and it shows as stale) before deleting it")
    state = _state()
    state.store.remove(grid_search_id)
    state.summaries.forget(grid_search_id)
    state.labels.forget(grid_search_id)
    for cached in [k for k in state.bands if k[0] == grid_search_id]:
        del state.bands[cached]
    _notify(grid_search_id, {"deleted": True})
    return jsonify(deleted=grid_search_id)


@api.get("/grid_searches/<grid_search_id>/events")
def get_events(grid_search_id: str) -> Response:
    gs_store = _gs_store(grid_search_id)
    from_seq = _int_arg("from_seq", 0, 0)
    form = request.args.get("format")
    if form not in (None, "json", "ndjson"):
        raise ApiError(400, f"format must be json or ndjson, got {form!r}")
    ndjson = form == "ndjson" or (form is None and request.accept_mimetypes.best == "application/x-ndjson")
    if ndjson:
        return Response(stream_with_context(gs_store.iter_chunks(from_seq)), mimetype="application/x-ndjson",
                        headers={"X-Last-Seq": str(gs_store.acked_seq)})
    limit = _int_arg("limit", 10_000, 1, MAX_PAGE)
    start = min(from_seq, gs_store.acked_seq + 1)  # beyond the stored events: "ask again from the next one"
    lines = list(gs_store.iter_lines(start, limit=limit))
    next_seq = start + len(lines)
    body = b'{"events":[' + b",".join(line[:-1] for line in lines) + b'],"next_seq":%d}' % next_seq
    return Response(body, mimetype="application/json")


@api.get("/grid_searches/<grid_search_id>/experiments")
def get_experiments(grid_search_id: str) -> Response:
    return jsonify(_projection(grid_search_id).experiments())


@api.get("/grid_searches/<grid_search_id>/experiments/<experiment_id>")
def get_experiment(grid_search_id: str, experiment_id: str) -> Response:
    _check_id(experiment_id, "experiment_id")
    detail = _projection(grid_search_id).experiment(experiment_id)
    if detail is None:
        raise ApiError(404, f"unknown experiment {experiment_id!r} in grid search {grid_search_id!r}")
    return jsonify(detail)


@api.get("/grid_searches/<grid_search_id>/results")
def get_results(grid_search_id: str) -> Response:
    from mlgym.events.results import results_json  # pandas: imported on first use, not at start

    return jsonify(results_json(_projection(grid_search_id)))


@api.get("/grid_searches/<grid_search_id>/checkpoints")
def get_checkpoints(grid_search_id: str) -> Response:
    gs_store = _gs_store(grid_search_id)
    rows = list_checkpoints(gs_store.folder)
    for row in rows:
        row["url"] = f"/api/grid_searches/{grid_search_id}/{row['path']}"
    return jsonify(rows)


def _checkpoint_file(grid_search_id: str, rel: str) -> Path:
    """The file `rel` of a grid search the board has events of: an upload for any other one is refused (404),
    so a mistyped or foreign id never creates a folder of orphan checkpoints."""
    gs_store = _gs_store(grid_search_id)
    try:
        return checkpoint_path(gs_store.folder, rel)
    except BadPath as exc:
        raise ApiError(400, str(exc)) from None
    except OutsideRoot:
        raise ApiError(404, f"no checkpoint {rel!r}") from None


@api.get("/grid_searches/<grid_search_id>/checkpoints/<path:rel>")
def download_checkpoint(grid_search_id: str, rel: str) -> Response:
    path = _checkpoint_file(grid_search_id, rel)
    if not path.is_file():
        raise ApiError(404, f"no checkpoint {rel!r}")
    return send_file(path, mimetype="application/octet-stream", as_attachment=True, download_name=path.name)


@api.post("/grid_searches/<grid_search_id>/checkpoints/<path:rel>")
def upload_checkpoint(grid_search_id: str, rel: str) -> tuple[Response, int]:
    if not _ingest_token_ok():
        raise ApiError(401, "invalid or missing ingest token (send it as 'Authorization: Bearer <token>')")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and request.headers.get("Transfer-Encoding") is None:
        raise ApiError(411, "send the file as the request body with a Content-Length")
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"checkpoint is larger than the limit of {limit} bytes")
    path = _checkpoint_file(grid_search_id, rel)
    saved = save_checkpoint(path, request.stream)
    gs_folder = _state().store.root / grid_search_id
    return jsonify(path=path.relative_to(gs_folder.resolve()).as_posix(), **saved), 201


from ml_board import large_runs  # noqa: E402,F401  (adds the paged experiments and series routes to `api`)
