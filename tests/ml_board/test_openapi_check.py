"""The spec checker the API tests rely on catches what it must: undeclared statuses, media types, paths, query
parameters and body shapes (checked against the document the board serves, built here in-process)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from ml_board.openapi import openapi_spec
from tests.ml_board.openapi_check import Answer, OpenApiChecker, SpecViolation

EXP = "/api/grid_searches/gs1/experiments/gp0"


@pytest.fixture(scope="module")
def checker() -> OpenApiChecker:
    return OpenApiChecker(openapi_spec())


def detail(**changes: Any) -> dict[str, Any]:
    row = {"experiment_id": "gp0", "grid_point_id": "gp0", "role": "train", "fold": None, "hyperparameters": {},
           "status": "done", "epoch": 1, "num_epochs": 1, "latest": {"val/acc": 0.5}, "best": {"val/acc": 0.5},
           "best_epoch": 1, "scores_at_best": {"val/acc": 0.5}, "error": None, "directions": {"acc": "max"}, "config": {},
           "status_history": [{"seq": 3, "ts": 1.0, "status": "running", "event_type": "job_status"}],
           "traceback": None, "train_status": "done",
           "checkpoints": [{"action": "deleted", "epoch": 1, "path": "checkpoints/gp0/epoch_1.pt", "step": None, "bytes": None,
                            "sha256": None, "reason": "last", "error": None, "seq": 9}],
           "progress": 1.0, "num_alerts": 1, "trial": None, "search_decision": None, "search_status": "done",
           "selected_score": None,
           "step_progress": {"epoch": 1, "step": 6, "num_steps": 6, "global_step": 6, "loss": 0.7, "lr": 0.01,
                             "samples_per_s": 900.0, "skipped_steps": 0, "max_memory_allocated": None},
           "alerts": [{"epoch": 1, "when": "val/acc < 0.6", "action": "warn", "key": "val/acc", "value": 0.5,
                       "message": "alert 'val/acc < 0.6' (warn): val/acc = 0.5 at epoch 1", "seq": 8}]}
    return {**row, **changes}


def json_answer(body: Any, status: int = 200) -> Answer:
    return Answer(status, "application/json", json.dumps(body).encode())


def test_a_conforming_detail_with_nulls_passes(checker: OpenApiChecker) -> None:
    assert checker.check("get", EXP, json_answer(detail())).template.endswith("{experiment_id}")


@pytest.mark.parametrize(("body", "message"), [
    (detail(epoch="1"), "'1' is not of type 'integer'"),
    (detail(status="exploded"), "'exploded' is not one of"),
    (detail(surprise=1), "('surprise' was unexpected)"),
    ({k: v for k, v in detail().items() if k != "scores_at_best"}, "'scores_at_best' is a required property"),
    (detail(checkpoints=[{**detail()["checkpoints"][0], "bytes": "10"}]), "'10' is not of type 'integer'"),
    (detail(latest={"val/acc": "high"}), "'high' is not of type 'number'"),
    (detail(progress=1.5), "1.5 is greater than the maximum of 1"),
    (detail(alerts=[{**detail()["alerts"][0], "action": "panic"}]), "'panic' is not one of"),
], ids=["type", "enum", "extra-key", "missing-key", "nested-type", "score-type", "progress-range", "alert-action"])
def test_a_drifted_body_is_refused(checker: OpenApiChecker, body: dict, message: str) -> None:
    with pytest.raises(SpecViolation, match=message.replace("(", r"\(").replace(")", r"\)")):
        checker.check("get", EXP, json_answer(body))


def test_undeclared_status_media_type_path_method_and_query_are_refused(checker: OpenApiChecker) -> None:
    with pytest.raises(SpecViolation, match="status 500 is not declared"):
        checker.check("get", EXP, json_answer({"error": "x"}, 500))
    with pytest.raises(SpecViolation, match="media type 'text/html' is not declared"):
        checker.check("get", EXP, Answer(404, "text/html", b"<p>Not found</p>"))
    with pytest.raises(SpecViolation, match="no path of the OpenAPI document matches"):
        checker.check("get", "/api/nothing", json_answer({}))
    with pytest.raises(SpecViolation, match="POST /api/grid_searches/{grid_search_id} is not in"):
        checker.check("post", "/api/grid_searches/gs1", json_answer({}))
    with pytest.raises(SpecViolation, match=r"declares no query parameter \['page'\]"):
        checker.check_query("get", "/api/grid_searches/gs1/events?page=2", ["page"])


def test_every_ndjson_line_and_the_seq_header_are_checked(checker: OpenApiChecker) -> None:
    event = {"seq": 0, "event_type": "job_status", "creation_ts": 1.0, "grid_search_id": "gs1",
             "experiment_id": "gp0", "payload": {}}
    lines = (json.dumps(event) + "\n" + json.dumps({**event, "seq": -1}) + "\n").encode()
    path = "/api/grid_searches/gs1/events?format=ndjson"
    checker.check("get", path, Answer(200, "application/x-ndjson", lines[:lines.index(b"\n") + 1]))
    with pytest.raises(SpecViolation, match="line 2: -1 is less than the minimum of 0"):
        checker.check("get", path, Answer(200, "application/x-ndjson", lines))
    with pytest.raises(SpecViolation, match="header X-Last-Seq='many' is not an integer"):
        checker.check("get", path, Answer(200, "application/x-ndjson", b"", {"X-Last-Seq": "many"}))


def test_a_checkpoint_path_parameter_may_span_segments(checker: OpenApiChecker) -> None:
    operation = checker.operation("get", "/api/grid_searches/gs1/checkpoints/checkpoints/gp0/epoch_1.pt")
    assert operation.template == "/api/grid_searches/{grid_search_id}/checkpoints/{rel}"
    with pytest.raises(SpecViolation, match="no path"):
        checker.operation("get", "/api/grid_searches/gs1/experiments/gp0/more")
