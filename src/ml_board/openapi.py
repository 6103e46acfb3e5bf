"""The OpenAPI 3 description of MLboard's REST API, served at `/api/openapi.json` (prose in docs/api.md)."""
from __future__ import annotations

from typing import Any

_ID = {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"}


def _param(name: str, where: str = "path", schema: dict[str, Any] | None = None, doc: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema or _ID, "description": doc}


def _json(schema: dict[str, Any], doc: str) -> dict[str, Any]:
    return {"description": doc, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERRORS = {
    "400": _json(_ref("Error"), "an id is not [A-Za-z0-9._-]+, or a parameter is malformed"),
    "404": _json(_ref("Error"), "unknown grid search, experiment or file"),
}

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Envelope": {
        "type": "object", "required": ["seq", "event_type", "creation_ts", "grid_search_id", "experiment_id",
                                       "payload"],
        "properties": {"seq": {"type": "integer", "minimum": 0}, "event_type": {"type": "string"},
                       "creation_ts": {"type": "number"}, "grid_search_id": _ID,
                       "experiment_id": {"type": "string", "nullable": True}, "payload": {"type": "object"},
                       "schema_version": {"type": "integer"}}},
    "GridSearchSummary": {
        "type": "object",
        "properties": {"grid_search_id": _ID, "start_ts": {"type": "number", "nullable": True},
                       "strategy": {"type": "string", "nullable": True},
                       "status": {"type": "string", "enum": ["running", "done", "failed", "interrupted"]},
                       "num_experiments": {"type": "integer"}, "num_done": {"type": "integer"},
                       "num_running": {"type": "integer"}, "num_failed": {"type": "integer"},
                       "last_seq": {"type": "integer"}}},
    "GridSearchInfo": {"allOf": [_ref("GridSearchSummary"), {
        "type": "object",
        "properties": {"gs_config": {"type": "object"}, "run_config": {"type": "object"},
                       "validation_config": {"type": "object", "nullable": True}, "environment": {"type": "object"},
                       "sweep_paths": {"type": "array", "items": {"type": "string"}},
                       "selection": {"type": "object", "properties": {
                           "split": {"type": "string"}, "metric": {"type": "string", "nullable": True},
                           "mode": {"type": "string", "enum": ["max", "min"]}}}}}]},
    "Experiment": {
        "type": "object",
        "properties": {"experiment_id": _ID, "grid_point_id": {"type": "string"}, "role": {"type": "string"},
                       "fold": {"type": "object", "nullable": True}, "hyperparameters": {"type": "object"},
                       "status": {"type": "string", "enum": ["scheduled", "running", "done", "failed"]},
                       "epoch": {"type": "integer"}, "num_epochs": {"type": "integer", "nullable": True},
                       "latest": {"type": "object", "additionalProperties": {"type": "number"},
                                  "description": "keys are <split>/<metric or loss name>"},
                       "best": {"type": "object", "additionalProperties": {"type": "number"}},
                       "best_epoch": {"type": "integer", "nullable": True},
                       "error": {"type": "string", "nullable": True}}},
    "ExperimentDetail": {"allOf": [_ref("Experiment"), {
        "type": "object",
        "properties": {"config": {"type": "object"}, "traceback": {"type": "string", "nullable": True},
                       "status_history": {"type": "array", "items": {"type": "object", "properties": {
                           "seq": {"type": "integer"}, "ts": {"type": "number"}, "status": {"type": "string"},
                           "event_type": {"type": "string"}}}},
                       "checkpoints": {"type": "array", "items": {"type": "object", "properties": {
                           "epoch": {"type": "integer"}, "path": {"type": "string"}, "bytes": {"type": "integer"},
                           "sha256": {"type": "string"}, "action": {"type": "string"}}}}}}]},
    "Results": {"type": "object", "properties": {
        "strategy": {"type": "string"}, "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object"}}}},
    "StoredCheckpoint": {"type": "object", "properties": {
        "path": {"type": "string", "description": "relative to the grid search folder: checkpoints/..."},
        "bytes": {"type": "integer"}, "mtime": {"type": "number"}, "url": {"type": "string"}}},
}

_GS = _param("grid_search_id")
_REL = _param("rel", schema={"type": "string"},
              doc="path inside the grid search's checkpoints folder (a leading 'checkpoints/' is accepted); "
                  "each segment must match [A-Za-z0-9._-]+")


def _paths() -> dict[str, Any]:
    return {
        "/api/grid_searches": {"get": {
            "summary": "All grid searches with status and counts, newest first",
            "responses": {"200": _json({"type": "array", "items": _ref("GridSearchSummary")}, "summaries")}}},
        "/api/grid_searches/{grid_search_id}": {"get": {
            "summary": "One grid search: summary, configs, environment, sweep paths, selection",
            "parameters": [_GS], "responses": {"200": _json(_ref("GridSearchInfo"), "the grid search"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/events": {"get": {
            "summary": "Stored events from a seq: a JSON page, or all of them streamed as NDJSON",
            "parameters": [_GS,
                           _param("from_seq", "query", {"type": "integer", "minimum": 0, "default": 0}),
                           _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100000,
                                                     "default": 10000}, "page size (JSON only)"),
                           _param("format", "query", {"type": "string", "enum": ["json", "ndjson"]},
                                  "ndjson streams every event from from_seq; so does Accept: application/x-ndjson")],
            "responses": {"200": {"description": "events", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "events": {"type": "array", "items": _ref("Envelope")}, "next_seq": {"type": "integer"}}}},
                "application/x-ndjson": {"schema": _ref("Envelope")}}}, **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/experiments": {"get": {
            "summary": "Experiments with status, last epoch, latest and best scores",
            "parameters": [_GS],
            "responses": {"200": _json({"type": "array", "items": _ref("Experiment")}, "experiments"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/experiments/{experiment_id}": {"get": {
            "summary": "One experiment with config, status history, traceback and checkpoints",
            "parameters": [_GS, _param("experiment_id")],
            "responses": {"200": _json(_ref("ExperimentDetail"), "the experiment"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/results": {"get": {
            "summary": "The results table of the grid search's validation strategy",
            "parameters": [_GS], "responses": {"200": _json(_ref("Results"), "results"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/checkpoints": {"get": {
            "summary": "Checkpoint files stored on the board",
            "parameters": [_GS],
            "responses": {"200": _json({"type": "array", "items": _ref("StoredCheckpoint")}, "files"), **_ERRORS}}},
        "/api/grid_searches/{grid_search_id}/checkpoints/{rel}": {
            "get": {"summary": "Download a checkpoint", "parameters": [_GS, _REL],
                    "responses": {"200": {"description": "the file", "content": {
                        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                        **_ERRORS}},
            "post": {"summary": "Upload a checkpoint (body = the file's bytes); needs the ingest token if one is set",
                     "parameters": [_GS, _REL], "security": [{"ingestToken": []}],
                     "requestBody": {"required": True, "content": {
                         "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                     "responses": {"201": _json({"type": "object", "properties": {
                         "path": {"type": "string"}, "bytes": {"type": "integer"}, "sha256": {"type": "string"}}},
                         "stored"), **_ERRORS,
                         "401": _json(_ref("Error"), "missing or wrong ingest token"),
                         "413": _json(_ref("Error"), "larger than the board's upload limit")}}},
        "/api/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3 document"}}}},
    }


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI 3.0 document of the REST API."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "MLboard", "version": "1", "description":
                 "REST API of MLboard. Live updates and ingest use Socket.IO; see docs/api.md."},
        "paths": _paths(),
        "components": {"schemas": _SCHEMAS, "securitySchemes": {
            "ingestToken": {"type": "http", "scheme": "bearer",
                            "description": "the board's --ingest_token (also accepted as X-Ingest-Token)"}}},
    }
