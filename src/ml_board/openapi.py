"""The OpenAPI 3 description of MLboard's REST API, served at `/api/openapi.json` (prose in docs/api.md)."""
from __future__ import annotations

from typing import Any

from mlgym.events.schema import EVENT_TYPES

_ID = {"type": "string", "pattern": "^[A-Za-z0-9._-]+$", "maxLength": 128}  # mlgym.events.schema.ID_PATTERN


def _param(name: str, where: str = "path", schema: dict[str, Any] | None = None, doc: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema or _ID, "description": doc}


def _json(schema: dict[str, Any], doc: str) -> dict[str, Any]:
    return {"description": doc, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _strict(properties: dict[str, Any], optional: tuple[str, ...] = (), doc: str = "") -> dict[str, Any]:
    """An object whose keys are exactly `properties`: all required but `optional`, no others allowed.

    OAS 3.0 `additionalProperties: false` does not see through `allOf`, so an object that extends another is built
    from the merged property dicts (`{**_EXPERIMENT_ROW, ...}`), never with `allOf`.
    """
    required = [k for k in properties if k not in optional]
    schema = {"type": "object", **({"required": required} if required else {}),  # OAS 3.0: never an empty list
              "properties": properties, "additionalProperties": False}
    return {**schema, "description": doc} if doc else schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _error(doc: str) -> dict[str, Any]:
    return _json(_ref("Error"), doc)


_ERRORS = {
    "400": _error("an id is not [A-Za-z0-9._-]+, or a parameter is malformed"),
    "404": _error("unknown grid search, experiment or file"),
}

_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number"}
_STRING = {"type": "string"}
_OBJECT = {"type": "object"}
_SCORES = {"type": "object", "additionalProperties": _NUMBER, "description": "keys are <split>/<metric or loss name>"}
_LATEST = {"type": "object", "additionalProperties": _nullable(_NUMBER),
           "description": "keys are <split>/<metric or loss name>; null where the score was not a finite number"}
_DIRECTION = {"type": "string", "enum": ["max", "min"]}
_DIRECTIONS = {"type": "object", "additionalProperties": _DIRECTION,
               "description": "score name -> max (higher is better) or min, as the producer declared it"}

# The key lists of the objects the board builds: one dict per object, extended by merging (see `_strict`).
_SUMMARY = {
    "grid_search_id": _ID, "start_ts": _nullable(_NUMBER),
    "strategy": _nullable({**_STRING, "description": "grid_search, cross_validation or nested_cv"}),
    "status": {"type": "string", "enum": ["running", "done", "failed", "interrupted", "stale"],
               "description": "stale: running without grid_search_finished and no event for 3 heartbeats (its "
                              "process is gone; warm start resumes it)"},
    "num_experiments": _COUNT, "num_done": _COUNT, "num_running": _COUNT, "num_failed": _COUNT,
    "last_seq": {"type": "integer", "minimum": -1},
    "last_event_ts": _nullable({**_NUMBER, "description": "the newest event's creation_ts (the last sign of life)"}),
    "name": _nullable({**_STRING, "maxLength": 200,
                       "description": "labels: the run config's labels.name, or the latest edit; null: none"}),
    "tags": {"type": "array", "maxItems": 20, "items": {**_STRING, "minLength": 1, "maxLength": 50},
             "description": "labels: the run config's labels.tags, or the latest edit"},
    "note": _nullable({**_STRING, "maxLength": 10000,
                       "description": "labels: the run config's labels.note, or the latest edit; null: none"}),
    "archived": {"type": "boolean", "description": "archived on the board: left out of the list unless asked for"}}
_LABEL_EDIT = {
    "name": _nullable({**_STRING, "maxLength": 200}),
    "tags": _nullable({"type": "array", "maxItems": 20, "items": {**_STRING, "maxLength": 50},
                       "description": "each stripped, not empty; duplicates (case-insensitive) dropped"}),
    "note": _nullable({**_STRING, "maxLength": 10000})}
_INFO = {
    **_SUMMARY, "gs_config": _nullable(_OBJECT), "run_config": _nullable(_OBJECT),
    "validation_config": _nullable(_OBJECT), "environment": _nullable(_OBJECT),
    "sweep_paths": {"type": "array", "items": _STRING},
    "selection": _strict({"split": _STRING, "metric": _nullable(_STRING), "mode": _nullable(_DIRECTION)}),
    "score_directions": _DIRECTIONS,
    "finished": _nullable({**_OBJECT, "description": "the grid_search_finished payload; null while running"}),
    "search": _nullable(_strict({
        "searcher": _STRING, "scheduler": _nullable({**_OBJECT, "description": "grid_search_started.search.scheduler"}),
        "trials": {"type": "array", "items": _ID, "description": "the trials' experiment ids, by trial number"},
        "epochs_trained": {**_COUNT, "description": "sum of the trials' highest evaluated epochs"},
        "epochs_full": {**_COUNT, "description": "sum of the trials' num_epochs: every trial trained to the end"},
        "winner": _nullable({**_ID, "description": "the trial with the best selection score"})},
        doc="a search's trials and the compute they took (docs/events.md, 'Search summary'); null for a grid "
            "search"))}
_EXPERIMENT_ROW = {
    "experiment_id": _ID, "grid_point_id": _nullable(_STRING),
    "role": {**_STRING, "description": "train, cv_fold, inner or refit"},
    "fold": _nullable({"type": "object", "additionalProperties": _INT, "description": "outer, inner, k"}),
    "hyperparameters": {**_OBJECT, "description": "swept key path -> value"},
    "status": {"type": "string", "enum": ["scheduled", "running", "done", "failed", "paused", "interrupted"],
               "description": "interrupted: scheduled or running in a stale grid search"},
    "epoch": _COUNT, "num_epochs": _nullable(_INT), "latest": _LATEST, "best": _SCORES,
    "best_epoch": _nullable(_INT),
    "scores_at_best": {**_SCORES, "description": "every score of the best epoch (by the grid search's selection)"},
    "error": _nullable(_STRING),
    "directions": {**_DIRECTIONS, "description": "the direction in effect for each score name of this experiment"},
    "progress": {"type": "number", "minimum": 0, "maximum": 1,
                 "description": "fraction of the planned training done, moving inside an epoch (docs/events.md)"},
    "step_progress": _nullable(_strict({
        "epoch": _nullable(_INT), "step": _nullable(_INT), "num_steps": _nullable(_INT),
        "global_step": _nullable(_INT), "loss": _nullable(_NUMBER), "lr": _nullable(_NUMBER),
        "samples_per_s": _nullable(_NUMBER), "skipped_steps": _nullable(_INT),
        "max_memory_allocated": _nullable({**_INT, "description": "bytes; CUDA only"})},
        doc="the last training_progress event's fields; null before any")),
    "num_alerts": {**_COUNT, "description": "alert events of this experiment"},
    "trial": _nullable({**_COUNT, "description": "an adaptive search's trial number (trial_suggested); else null"}),
    "search_decision": _nullable({
        "type": "object", "required": ["decision", "trial", "rung", "epoch"],
        "description": "the last trial_promoted / trial_stopped payload, with `decision`; null before any",
        "properties": {"decision": {"type": "string", "enum": ["promoted", "stopped"]}, "trial": _COUNT,
                       "rung": _COUNT, "epoch": _COUNT, "score": _nullable(_NUMBER), "cut": _nullable(_NUMBER)}}),
    "search_status": {**_STRING, "description": "the status, or where the search left the trial: 'stopped at rung "
                                                "k (epoch e)', 'promoted from rung k[, status]' (docs/events.md)"},
    "selected_score": _nullable({**_NUMBER, "description": "the best score of the selection key"})}
_ALERT = {
    "epoch": _nullable(_INT), "when": _nullable(_STRING), "action": _nullable({"type": "string", "enum": ["warn", "stop"]}),
    "key": _nullable(_STRING), "value": _nullable(_NUMBER), "message": _nullable(_STRING),
    "seq": {**_COUNT, "description": "seq of the alert event"}}
_STATUS_CHANGE = {
    "seq": _COUNT, "ts": _NUMBER,
    "status": {"type": "string",
               "enum": ["scheduled", "running", "retrying", "done", "failed", "early_stopped", "paused"]},
    "event_type": {"type": "string", "enum": ["job_scheduled", "job_status", "experiment_status"]}}
_CHECKPOINT_EVENT = {
    "action": {"type": "string", "enum": ["saved", "deleted", "corrupt", "restored"]},
    "epoch": _nullable(_INT), "path": _nullable({**_STRING, "description": "relative to the grid search folder"}),
    "step": _nullable({**_COUNT, "description": "mid-epoch checkpoints: optimizer steps into `epoch` (else null)"}),
    "bytes": _nullable({**_COUNT, "description": "saved only"}),
    "sha256": _nullable({**_STRING, "description": "saved only"}),
    "reason": _nullable({**_STRING, "description": "the strategy: last, every, last_k, best, every_n_steps, every_n_minutes (saved, deleted)"}),
    "error": _nullable({**_STRING, "description": "corrupt only"}),
    "seq": {**_COUNT, "description": "seq of the checkpoint event"},
    "checkpoint_seq": _nullable({**_INT, "description": "restored: seq of the restored checkpoint's saved event"})}
_TABLE_COLUMNS = {
    "experiment_id": _ID, "grid_point_id": _nullable(_STRING), "role": _STRING,
    "fold": _EXPERIMENT_ROW["fold"], "hyperparameters": _EXPERIMENT_ROW["hyperparameters"],
    "score_directions": _nullable({**_DIRECTIONS, "description": "the experiment's own; null when it declared none"}),
    "status": {"type": "string", "enum": ["scheduled", "running", "done", "failed", "paused"],
               "description": "as logged (a stale run's active ones are shown interrupted by the reader)"},
    "phase": _nullable({**_STRING, "description": "the last experiment_status (training, done, early_stopped, paused)"}),
    "epoch": _COUNT, "num_epochs": _nullable(_INT), "error": _nullable(_STRING), "trial": _EXPERIMENT_ROW["trial"],
    "search_decision": _EXPERIMENT_ROW["search_decision"], "num_alerts": _COUNT,
    "last_alert": _nullable(_strict(_ALERT, doc="its newest alert event; null before any")),
    "step_progress": _nullable({**_OBJECT, "description": "the last training_progress fields; null when done"}),
    "kinds": _nullable({"type": "object", "additionalProperties": {"type": "string", "enum": ["metric", "loss"]},
                        "description": "score name -> kind, when it differs from the grid search's"}),
    "first_metric": _nullable({"type": "object", "additionalProperties": _STRING,
                               "description": "split -> first metric scored, when it differs from the grid search's"}),
    "selected_score": _nullable(_NUMBER), "selection_epoch": _nullable(_COUNT)}
_TABLE_PER_KEY = {"latest": _nullable(_NUMBER), "latest_epoch": _nullable(_COUNT), "best": _nullable(_NUMBER),
                  "best_epoch": _nullable(_COUNT)}


def _column(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _per_key(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": _column(item),
            "description": "score key -> one entry per experiment (null: never scored finitely)"}


_EXPERIMENT_DETAIL = {
    **_EXPERIMENT_ROW,
    "config": _nullable({**_OBJECT, "description": "the resolved config, whole (event schema 2 logs it as overrides "
                         "of a config_base; the board rebuilds it); null before its experiment_config"}),
    "status_history": {"type": "array", "items": _ref("StatusChange")}, "traceback": _nullable(_STRING),
    "checkpoints": {"type": "array", "items": _ref("CheckpointEvent")},
    "train_status": _nullable({"type": "string", "enum": ["training", "done", "early_stopped", "paused"]}),
    "alerts": {"type": "array", "items": _ref("Alert"), "description": "the last 100 alert events"}}

_SCHEMAS: dict[str, Any] = {
    "Error": _strict({"error": _STRING}),
    "Envelope": {
        "type": "object", "required": ["seq", "event_type", "creation_ts", "grid_search_id", "experiment_id",
                                       "payload"],
        "description": "one stored event as the gym wrote it (see docs/events.md)",
        "properties": {"seq": _COUNT, "event_type": {"type": "string", "enum": sorted(EVENT_TYPES)},
                       "creation_ts": _NUMBER, "grid_search_id": _ID, "experiment_id": _nullable(_ID),
                       "payload": _OBJECT, "schema_version": _INT}},
    "EventsPage": _strict({"events": {"type": "array", "items": _ref("Envelope")},
                           "next_seq": {**_COUNT, "description": "ask again with from_seq=next_seq"}}),
    "GridSearchSummary": _strict(_SUMMARY),
    "Labels": _strict({k: _SUMMARY[k] for k in ("name", "tags", "note")}),
    "Archive": _strict({"archived": {"type": "boolean"}}),
    "Health": _strict({
        "status": {"type": "string", "enum": ["ok", "storage_failing"]},
        "storage": _strict({
            "path": _STRING, "free_bytes": _nullable(_COUNT), "total_bytes": _nullable(_COUNT),
            "error": _nullable({**_STRING, "description": "the last failed write's cause (e.g. no space left on "
                                                          "device at <path>) until a write succeeds again"}),
            "error_ts": _nullable(_NUMBER), "failed_writes": _COUNT})}),
    "Deleted": _strict({"deleted": _ID}),
    "LabelEdit": _strict(_LABEL_EDIT, optional=("name", "tags", "note"),
                         doc="the fields to change; a field left out stays, null puts it back to the run config's"),
    "GridSearchInfo": _strict(_INFO),
    "Experiment": _strict(_EXPERIMENT_ROW),
    "ExperimentDetail": _strict(_EXPERIMENT_DETAIL),
    "ExperimentsPage": _strict({
        "total": {**_COUNT, "description": "experiments matching q and status (all pages)"},
        "offset": _COUNT, "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "rows": {"type": "array", "items": _ref("Experiment"), "description": "at most `limit` rows"}}),
    "Series": _strict({
        "key": _nullable({**_STRING, "description": "the score key served; null: the grid search has no score yet"}),
        "points": {**_INT, "description": "the most points of one experiment's series"},
        "from_epoch": _COUNT, "to_epoch": _nullable(_COUNT),
        "total": {**_COUNT, "description": "experiments of the grid search"},
        "offset": _nullable({**_COUNT, "description": "null when `experiments` named them"}),
        "limit": _nullable({**_INT, "description": "null when `experiments` named them"}),
        "series": {"type": "object", "description": "experiment id -> its finite scores of `key`, by epoch",
                   "additionalProperties": _strict({"epochs": {"type": "array", "items": _COUNT},
                                                    "values": {"type": "array", "items": _NUMBER}})},
        "downsampled": {"type": "boolean", "description": "whether any series was cut to `points` points"}}),
    "SeriesBand": _strict({
        "key": _nullable({**_STRING, "description": "the score key served; null: the grid search has no score yet"}),
        "quantiles": {"type": "array", "items": {**_NUMBER, "minimum": 0, "maximum": 1}},
        "epochs": {"type": "array", "items": _COUNT, "description": "every epoch some experiment scored `key` at"},
        "counts": {"type": "array", "items": {**_COUNT, "minimum": 1},
                   "description": "per epoch: experiments with a finite score there"},
        "values": {"type": "array", "items": {"type": "array", "items": _NUMBER},
                   "description": "values[j][i]: quantiles[j] of the scores at epochs[i]"}}),
    "Table": _strict({
        "last_seq": {**_INT, "description": "the seq the table was taken at: follow the live room from last_seq + 1"},
        "last_ts": _nullable({**_NUMBER, "description": "creation_ts of the newest event (staleness)"}),
        "started": _nullable({**_OBJECT, "description": "the grid_search_started payload (null before one)"}),
        "finished": _nullable({**_OBJECT, "description": "the grid_search_finished payload (null while running)"}),
        "keys": {"type": "array", "description": "every score key scored so far, in order of appearance",
                 "items": _strict({"key": _STRING, "kind": {"type": "string", "enum": ["metric", "loss"]}})},
        "experiments": _strict({
            **{name: _column(schema) for name, schema in _TABLE_COLUMNS.items()},
            **{name: _per_key(schema) for name, schema in _TABLE_PER_KEY.items()}},
            doc="one list per field, each with an entry per experiment in order of appearance")}),
    "StatusChange": _strict(_STATUS_CHANGE),
    "Alert": _strict(_ALERT, doc="an alert event of the experiment (docs/events.md)"),
    "CheckpointEvent": _strict(_CHECKPOINT_EVENT, optional=("checkpoint_seq",),
                               doc="a checkpoint event of the experiment; fields an action does not have are null"),
    "Results": _strict({"strategy": _nullable(_STRING),
                        "status": {"type": "string", "enum": ["running", "done", "failed", "interrupted", "stale"]},
                        "last_event_ts": _nullable(_NUMBER), "columns": {"type": "array", "items": _STRING},
                        "rows": {"type": "array", "items": {**_OBJECT, "description": "column -> value (NaN: null)"}}}),
    "StoredCheckpoint": _strict({
        "path": {**_STRING, "description": "relative to the grid search folder: checkpoints/..."},
        "bytes": _COUNT, "mtime": _NUMBER, "url": {**_STRING, "description": "where to download it"}}),
    "UploadedCheckpoint": _strict({"path": _STRING, "bytes": _COUNT, "sha256": _STRING}),
    "OpenApi": {"type": "object", "required": ["openapi", "info", "paths"]},
}

_GS = _param("grid_search_id")
_REL = {**_param("rel", schema={"type": "string"},
                doc="path inside the grid search's checkpoints folder (a leading 'checkpoints/' is accepted); "
                    "each segment must match [A-Za-z0-9._-]+"),
        "x-multi-segment": True}  # unlike OAS 3.0 path parameters, it may hold '/' (Flask's <path:rel>)


_SHOWN_STATUSES = ("scheduled", "running", "done", "failed", "paused", "interrupted")  # ml_board.paging
_SORT_PATTERN = "^(experiment_id|status|epoch|progress|hp:.+|(best|latest):[^/]+/.+)$"
_KEY = _param("key", "query", {"type": "string", "pattern": "^[^/]+/.+$", "maxLength": 200},
              "score key <split>/<metric or loss name>; none: the grid search's selection key (else the first "
              "key scored)")


def _array(item: str, doc: str) -> dict[str, Any]:
    return _json({"type": "array", "items": _ref(item)}, doc)


def _paths() -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "/api/grid_searches": {"get": {
            "summary": "All grid searches with status, counts and labels, newest first; optionally filtered",
            "parameters": [
                _param("q", "query", _STRING, "only those whose id, name, note or a tag contains this text "
                                              "(case-insensitive)"),
                {**_param("tag", "query", {"type": "array", "items": _STRING},
                          "only those carrying this tag (case-insensitive); repeat it to ask for several"),
                 "style": "form", "explode": True},
                _param("archived", "query", {"type": "string", "enum": ["false", "true", "all"], "default": "false"},
                       "false: leave archived ones out; true: only archived ones; all: both")],
            "responses": {"200": _array("GridSearchSummary", "summaries"), "400": _ERRORS["400"]}}},
        "/api/grid_searches/{grid_search_id}/archive": {"put": {
            "summary": "Archive a grid search (the list leaves it out unless asked for) or bring it back (kept in the "
                       "board's labels.log); needs the ingest token if one is set",
            "parameters": [_GS], "security": [{"ingestToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Archive")}}},
            "responses": {
                "200": _json(_ref("Archive"), "whether it is archived now"),
                "400": _error("an id is not [A-Za-z0-9._-]+, or the body is not {archived: true|false}"),
                "401": _error("missing or wrong ingest token (or read token)"),
                "404": _ERRORS["404"],
                "413": _error("a body above 256 KiB")}}},
        "/api/grid_searches/{grid_search_id}/labels": {"put": {
            "summary": "Edit the name, tags and note of a grid search (kept in the board's labels.log; the event "
                       "log is not touched); needs the ingest token if one is set",
            "parameters": [_GS], "security": [{"ingestToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("LabelEdit")}}},
            "responses": {
                "200": _json(_ref("Labels"), "the labels now in effect"),
                "400": _error("an id is not [A-Za-z0-9._-]+, or the body is not a valid LabelEdit (the reason "
                              "names the field)"),
                "401": _error("missing or wrong ingest token (or read token)"),
                "404": _ERRORS["404"],
                "413": _error("a body above 256 KiB")}}},
        "/api/grid_searches/{grid_search_id}": {
            "get": {
                "summary": "One grid search: summary, configs, environment, sweep paths, selection, how it finished",
                "parameters": [_GS], "responses": {"200": _json(_ref("GridSearchInfo"), "the grid search"),
                                                   **_ERRORS}},
            "delete": {
                "summary": "Delete a grid search from the board: stored events, labels and checkpoints (the gym's own "
                           "log is not touched); needs the ingest token if one is set",
                "parameters": [_GS], "security": [{"ingestToken": []}],
                "responses": {
                    "200": _json(_ref("Deleted"), "deleted"), **_ERRORS,
                    "401": _error("missing or wrong ingest token (or read token)"),
                    "409": _error("the grid search is still running (not finished, not stale)")}}},
        "/api/grid_searches/{grid_search_id}/events": {"get": {
            "summary": "Stored events from a seq: a JSON page, or all of them streamed as NDJSON",
            "parameters": [_GS,
                           _param("from_seq", "query", {"type": "integer", "minimum": 0, "default": 0}),
                           _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100000,
                                                     "default": 10000}, "page size (JSON only)"),
                           _param("format", "query", {"type": "string", "enum": ["json", "ndjson"]},
                                  "ndjson streams every event from from_seq; so does Accept: application/x-ndjson")],
            "responses": {"200": {"description": "events; as NDJSON, one Envelope per line", "content": {
                "application/json": {"schema": _ref("EventsPage")},
                "application/x-ndjson": {"schema": _ref("Envelope")}},
                "headers": {"X-Last-Seq": {"description": "NDJSON only: the last seq stored when the stream started",
                                           "schema": {"type": "integer"}}}}, **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/experiments": {"get": {
            "summary": "Experiments with status, last epoch, latest and best scores",
            "parameters": [_GS], "responses": {"200": _array("Experiment", "experiments"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/table": {"get": {
            "summary": "Every experiment as columns (status, hyperparameters, latest and best of every key with "
                       "their epochs) and the seq they were taken at: what a large grid search's page starts from",
            "parameters": [_GS], "responses": {"200": _json(_ref("Table"), "the table"), **_ERRORS}}},
        # before .../{experiment_id}: a request's path is matched to the first template that fits (as Flask prefers
        # the literal segment)
        "/api/grid_searches/{grid_search_id}/experiments/page": {"get": {
            "summary": "A page of the experiments, filtered and sorted on the board (rows as /experiments has them)",
            "parameters": [
                _GS,
                _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0},
                       "rows to skip (of those matching, in the order asked for)"),
                _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                       "rows at most"),
                _param("sort", "query", {"type": "string", "pattern": _SORT_PATTERN},
                       "experiment_id, status (failed, running, interrupted, scheduled, paused, done), epoch, "
                       "progress, hp:<hyperparameter path>, best:<split>/<name> or latest:<split>/<name>; missing "
                       "values last in either order, ties in order of appearance; none: order of appearance"),
                _param("order", "query", {"type": "string", "enum": ["asc", "desc"], "default": "asc"}),
                _param("q", "query", {"type": "string", "maxLength": 1000},
                       "every whitespace-separated term (case-insensitive) must occur in the experiment id, grid "
                       "point id, status, role, 'trial <n>' or '<path>=<value>' of a hyperparameter (full or "
                       "short path, value as JSON or a bare string)"),
                _param("status", "query", {"type": "string", "enum": list(_SHOWN_STATUSES)},
                       "only experiments shown with this status")],
            "responses": {"200": _json(_ref("ExperimentsPage"), "the page"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/series": {"get": {
            "summary": "One score key's series of up to 200 experiments, each downsampled to at most `points` "
                       "points keeping every extreme (first, last, each bucket's min and max)",
            "parameters": [
                _GS, _KEY,
                _param("experiments", "query", {"type": "string", "maxLength": 30000},
                       "comma-separated experiment ids (at most 200); without it: `limit` experiments from "
                       "`offset` in order of appearance"),
                _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0},
                       "without `experiments`: experiments to skip"),
                _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 100},
                       "without `experiments`: experiments at most"),
                _param("points", "query", {"type": "integer", "minimum": 4, "maximum": 100000, "default": 1000},
                       "points per experiment at most; a series with more is downsampled"),
                _param("from_epoch", "query", {"type": "integer", "minimum": 0, "default": 0},
                       "only epochs >= this (a zoom window)"),
                _param("to_epoch", "query", {"type": "integer", "minimum": 0},
                       "only epochs <= this (a zoom window); none: to the last")],
            "responses": {"200": _json(_ref("Series"), "the series"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/series/band": {"get": {
            "summary": "Per epoch, quantiles of one score key over every experiment with a finite score there",
            "parameters": [
                _GS, _KEY,
                _param("quantiles", "query", {"type": "string", "default": "0.1,0.5,0.9", "maxLength": 1000},
                       "1 to 20 comma-separated numbers in [0, 1]; linear interpolation (numpy's default)")],
            "responses": {"200": _json(_ref("SeriesBand"), "the band"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/experiments/{experiment_id}": {"get": {
            "summary": "One experiment with config, status history, traceback and checkpoints",
            "parameters": [_GS, _param("experiment_id")],
            "responses": {"200": _json(_ref("ExperimentDetail"), "the experiment"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/results": {"get": {
            "summary": "The results table of the grid search's validation strategy",
            "parameters": [_GS], "responses": {"200": _json(_ref("Results"), "results"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/checkpoints": {"get": {
            "summary": "Checkpoint files stored on the board",
            "parameters": [_GS], "responses": {"200": _array("StoredCheckpoint", "files"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/checkpoints/{rel}": {
            "get": {"summary": "Download a checkpoint", "parameters": [_GS, _REL],
                    "responses": {"200": {"description": "the file",
                                          "content": {"application/octet-stream": binary}}, **_ERRORS}},
            "post": {"summary": "Upload a checkpoint of a grid search the board has events of (body = the file's "
                                "bytes); needs the ingest token if one is set",
                     "parameters": [_GS, _REL], "security": [{"ingestToken": []}],
                     "requestBody": {"required": True, "content": {"application/octet-stream": binary}},
                     "responses": {
                         "201": _json(_ref("UploadedCheckpoint"), "stored"),
                         "400": _ERRORS["400"],
                         "401": _error("missing or wrong ingest token"),
                         "404": _error("unknown grid search (none of its events is stored), or a path that "
                                       "escapes its checkpoints folder"),
                         "411": _error("no Content-Length and not chunked"),
                         "413": _error("larger than the board's upload limit")}}},
        "/api/health": {"get": {"summary": "Whether the board stores what it is sent: storage path, free space, the "
                                          "last failed write",
                                "responses": {"200": _json(_ref("Health"), "the board's state")}}},
        "/api/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": _json(_ref("OpenApi"), "OpenAPI 3.0 document")}}},
    }


_INGEST_TOKEN = {"type": "http", "scheme": "bearer",
                 "description": "the board's --ingest_token (also accepted as X-Ingest-Token, which a board with a "
                                "read token needs: its Authorization header holds the read token)"}
_READ_TOKEN = {"type": "http", "scheme": "bearer",
               "description": "the board's --read_token: every operation but the upload needs it when one is set"}


_UPLOAD = ("/api/grid_searches/{grid_search_id}/checkpoints/{rel}", "post")


def _read_protected(paths: dict[str, Any]) -> dict[str, Any]:
    """`paths` with the read token required by (and its 401 declared on) every operation but the upload (which
    keeps the ingest token); an operation that also needs the ingest token needs both."""
    protected: dict[str, Any] = {}
    for path, item in paths.items():
        protected[path] = {}
        for method, op in item.items():
            if (path, method) == _UPLOAD:
                protected[path][method] = op
                continue
            security = [{**need, "readToken": []} for need in op.get("security", [{}])]
            unauthorized = op["responses"].get("401", _error("missing or wrong read token"))
            protected[path][method] = {**op, "security": security,
                                       "responses": {**op["responses"], "401": unauthorized}}
    return protected


def openapi_spec(read_protected: bool = False) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the REST API; `read_protected`: the board was started with a read token."""
    schemes = {"ingestToken": _INGEST_TOKEN, **({"readToken": _READ_TOKEN} if read_protected else {})}
    return {
        "openapi": "3.0.3",
        "info": {"title": "MLboard", "version": "1", "description":
                 "REST API of MLboard. Live updates and ingest use Socket.IO; see docs/api.md."},
        "paths": _read_protected(_paths()) if read_protected else _paths(),
        "components": {"schemas": _SCHEMAS, "securitySchemes": schemes},
    }
