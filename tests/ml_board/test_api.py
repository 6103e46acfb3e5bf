"""The REST API of a real board process, filled by the real websocket sink (`sync`).

Every call goes through `ApiClient`, so every answer is also checked against the board's own OpenAPI document.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest

from ml_board.server import create_app
from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import sync
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess, append_filler, append_troubles, write_sample_run

GS = "2026-11-23--14-05-09-3fa2"
OLDER = "older"  # one experiment, still running, whose checkpoints were deleted, corrupt and restored


class SampleBoard(NamedTuple):
    proc: BoardProcess
    log_path: Path
    api: ApiClient


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleBoard]:
    root = tmp_path_factory.mktemp("api")
    older = write_sample_run(root / "local", OLDER, num_experiments=1, finish=False)
    append_troubles(older)
    older.close()
    log = write_sample_run(root / "local", GS)
    append_filler(log, 2500)
    log.close()
    with BoardProcess(root / "store") as proc:
        assert sync(root / "local", OLDER, proc.url) >= 0
        assert sync(root / "local", GS, proc.url) == len(list(read_events(log.path))) - 1
        yield SampleBoard(proc, log.path, ApiClient(proc.url))


def test_list_grid_searches_newest_first_with_status_and_counts(board: SampleBoard) -> None:
    rows = board.api.get("/api/grid_searches").json()
    assert [r["grid_search_id"] for r in rows] == [GS, OLDER]
    assert {k: rows[0][k] for k in ("strategy", "status", "num_experiments", "num_done", "num_running",
                                    "num_failed")} == {"strategy": "grid_search", "status": "done",
                                                       "num_experiments": 2, "num_done": 2, "num_running": 0,
                                                       "num_failed": 0}
    assert rows[1]["status"] == "running"
    assert rows[0]["last_seq"] == len(list(read_events(board.log_path))) - 1


def test_one_grid_search_has_configs_environment_and_how_it_finished(board: SampleBoard) -> None:
    info = board.api.get(f"/api/grid_searches/{GS}").json()
    assert info["sweep_paths"] == ["optimizer.config.lr"]
    assert info["environment"]["hostname"] == "test"
    assert info["selection"] == {"split": "val", "metric": "accuracy", "mode": "max"}
    assert info["validation_config"] is None and info["run_config"] == {"num_epochs": 3}
    assert info["finished"] == {"status": "done", "num_done": 2, "num_failed": 0, "duration_s": 1.0}
    assert board.api.get(f"/api/grid_searches/{OLDER}").json()["finished"] is None


def test_events_are_paged_from_any_seq(board: SampleBoard) -> None:
    local = list(read_events(board.log_path))
    page = board.api.get(f"/api/grid_searches/{GS}/events", params={"from_seq": 1500, "limit": 700}).json()
    assert page["events"] == local[1500:2200]
    assert page["next_seq"] == 2200
    end = board.api.get(f"/api/grid_searches/{GS}/events", params={"from_seq": len(local)}).json()
    assert end == {"events": [], "next_seq": len(local)}


@pytest.mark.parametrize("how", [{"params": {"format": "ndjson"}},
                                 {"headers": {"Accept": "application/x-ndjson"}}], ids=["query", "accept"])
def test_events_stream_as_ndjson_exactly_as_stored(board: SampleBoard, how: dict) -> None:
    response = board.api.get(f"/api/grid_searches/{GS}/events?from_seq=3", stream=True, **how)
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    assert response.headers["X-Last-Seq"] == str(len(list(read_events(board.log_path))) - 1)
    assert response.content == b"".join(board.log_path.read_bytes().splitlines(keepends=True)[3:])


def test_events_refuse_an_unknown_format(board: SampleBoard) -> None:
    response = board.api.get(f"/api/grid_searches/{GS}/events", params={"format": "xml"})
    assert (response.status_code, response.json()) == (400, {"error": "format must be json or ndjson, got 'xml'"})


def test_experiments_have_status_epochs_latest_and_best(board: SampleBoard) -> None:
    rows = {r["experiment_id"]: r for r in board.api.get(f"/api/grid_searches/{GS}/experiments").json()}
    assert set(rows) == {"gp00000000", "gp00000001"}
    row = rows["gp00000001"]
    assert (row["status"], row["epoch"], row["num_epochs"]) == ("done", 3, 3)
    assert row["hyperparameters"] == {"optimizer.config.lr": 0.01}
    assert row["latest"] == {"val/accuracy": pytest.approx(0.81), "val/cross_entropy": pytest.approx(1 / 3)}
    assert row["best"]["val/accuracy"] == pytest.approx(0.81)
    assert row["best_epoch"] == 3
    assert row["scores_at_best"] == row["latest"]


def test_one_experiment_has_config_history_and_checkpoints(board: SampleBoard) -> None:
    detail = board.api.get(f"/api/grid_searches/{GS}/experiments/gp00000000").json()
    assert detail["config"] == {"optimizer": {"config": {"lr": 0.1}}}
    # the log holds the config once (config_base) and gp00000001's as an override: the answer is the whole config
    second = board.api.get(f"/api/grid_searches/{GS}/experiments/gp00000001").json()
    assert second["config"] == {"optimizer": {"config": {"lr": 0.01}}}
    logged = [e["payload"] for e in read_events(board.log_path) if e["event_type"] == "experiment_config"]
    assert logged[1]["config_overrides"] == {"optimizer.config.lr": 0.01} and "config" not in logged[1]
    assert [h["status"] for h in detail["status_history"]][:2] == ["scheduled", "running"]
    assert [c["epoch"] for c in detail["checkpoints"]] == [1, 2, 3]
    assert detail["traceback"] is None and detail["train_status"] == "done"
    assert detail["step_progress"]["step"] == detail["step_progress"]["num_steps"] == 2500  # the filler comes last
    assert detail["progress"] == 1.0 and detail["alerts"] == [] and detail["num_alerts"] == 0
    missing = board.api.get(f"/api/grid_searches/{GS}/experiments/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": f"unknown experiment 'nope' in grid search "
                                                                    f"'{GS}'"})


def test_failed_experiment_has_null_fields_where_its_checkpoints_have_none(board: SampleBoard) -> None:
    detail = board.api.get(f"/api/grid_searches/{OLDER}/experiments/gp00000000").json()
    assert (detail["status"], detail["error"]) == ("failed", "ValueError: boom")
    assert detail["traceback"].startswith("Traceback")
    assert [h["status"] for h in detail["status_history"]][-2:] == ["retrying", "failed"]
    deleted, corrupt, restored = detail["checkpoints"][-3:]
    assert (deleted["action"], deleted["bytes"], deleted["sha256"], deleted["reason"]) == ("deleted", None, None,
                                                                                          "last")
    assert (corrupt["action"], corrupt["error"], corrupt["bytes"]) == ("corrupt", "sha256 mismatch", None)
    assert (restored["action"], restored["epoch"], restored["reason"], restored["checkpoint_seq"]) == (
        "restored", 2, None, 12)


def test_results_table(board: SampleBoard) -> None:
    results = board.api.get(f"/api/grid_searches/{GS}/results").json()
    assert results["strategy"] == "grid_search"
    assert len(results["rows"]) == 2 and results["columns"]
    assert all(set(row) == set(results["columns"]) for row in results["rows"])


def test_checkpoints_upload_list_download(board: SampleBoard) -> None:
    body = bytes(range(256)) * 1000
    stored = board.api.post(f"/api/grid_searches/{GS}/checkpoints/checkpoints/gp00000000/epoch_3.pt", data=body)
    assert stored.status_code == 201
    assert stored.json() == {"path": "checkpoints/gp00000000/epoch_3.pt", "bytes": len(body),
                             "sha256": hashlib.sha256(body).hexdigest()}
    listed = board.api.get(f"/api/grid_searches/{GS}/checkpoints").json()
    assert [(c["path"], c["bytes"]) for c in listed] == [("checkpoints/gp00000000/epoch_3.pt", len(body))]
    assert board.api.get(f"/api/grid_searches/{GS}/checkpoints/gp00000000/epoch_3.pt").content == body
    assert board.api.get(listed[0]["url"]).content == body


def test_upload_for_a_grid_search_the_board_has_not_seen_is_404_and_stores_nothing(board: SampleBoard) -> None:
    response = board.api.post("/api/grid_searches/never-seen/checkpoints/gp0/epoch_1.pt", data=b"orphan")
    assert (response.status_code, response.json()) == (404, {"error": "unknown grid search 'never-seen'"})
    assert not (board.proc.storage / "never-seen").exists()
    assert "never-seen" not in [r["grid_search_id"] for r in board.api.get("/api/grid_searches").json()]


def test_unknown_grid_search_is_404_everywhere(board: SampleBoard) -> None:
    for suffix in ("", "/events", "/experiments", "/results", "/checkpoints", "/checkpoints/gp0/epoch_1.pt"):
        response = board.api.get(f"/api/grid_searches/nope{suffix}")
        assert (response.status_code, response.json()) == (404, {"error": "unknown grid search 'nope'"})


def test_openapi_spec_documents_every_route(board: SampleBoard, tmp_path: Path) -> None:
    spec = board.api.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.0")
    app, _ = create_app(tmp_path)
    routes = {(rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert routes == documented
    json.dumps(spec)


# -- walking the served spec -----------------------------------------------------------------------------------
# Per path parameter: a valid value from the fixture run, an unknown one (404) and a malformed one (400).
WALK_VALUES = {
    "grid_search_id": {"valid": OLDER, "unknown": "never-seen", "bad": "bad id"},
    "experiment_id": {"valid": "gp00000000", "unknown": "nope", "bad": "x;y"},
    "rel": {"valid": "checkpoints/gp00000000/epoch_2.pt", "unknown": "gp00000000/never.pt", "bad": "a b/c.pt"},
}
EXPECTED = {"valid": "2", "unknown": "404", "bad": "400"}
# A body that changes nothing, per PUT; the fixture's OLDER still runs, so deleting it is refused (409) and the
# walk leaves it in place (a deletion that succeeds is walked in test_archive_delete.py).
PUT_BODIES = {"/api/grid_searches/{grid_search_id}/archive": {"archived": False}}
VALID_STATUS = {("delete", "/api/grid_searches/{grid_search_id}"): "409"}


def _bad_query_values(schema: dict[str, Any]) -> list[Any]:
    """Values the parameter's declared schema refuses, so the board must answer 400."""
    if "enum" in schema:
        return ["not-" + "-".join(schema["enum"])]
    values: list[Any] = []
    if schema.get("type") == "integer":
        values.append("1.5")
        if "minimum" in schema:
            values.append(schema["minimum"] - 1)
        if "maximum" in schema:
            values.append(schema["maximum"] + 1)
    return values


def _url(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", quote(value, safe="/" if name == "rel" else ""))
    return template


def test_every_operation_of_the_spec_answers_as_declared(board: SampleBoard) -> None:
    """Each path of the served spec with valid, unknown and malformed ids and query values: every answer is
    checked against the spec by the client (an undeclared status or shape fails), and its status is the one
    the case calls for. Every 200/201/400/404 an operation declares must have been seen: no dead declarations."""
    spec = board.api.checker.spec
    operations = sorted(((path, method, op) for path, item in spec["paths"].items() for method, op in item.items()),
                        key=lambda o: (o[1] != "post", o[0]))  # uploads first, so the valid download exists
    seen: dict[tuple[str, str], set[str]] = {}

    def call(method: str, path: str, case: str, **kwargs: Any) -> None:
        kwargs = {"data": b"walked"} | kwargs if method == "post" else kwargs
        kwargs = {"json": PUT_BODIES.get(template, {})} | kwargs if method == "put" else kwargs
        status = board.api.request(method, path, **kwargs).status_code
        seen.setdefault((method, template), set()).add(str(status))
        expected = VALID_STATUS.get((method, template), EXPECTED[case]) if case == "valid" else EXPECTED[case]
        assert str(status).startswith(expected), f"{method.upper()} {path} ({case}) answered {status}"

    for template, method, operation in operations:
        path_names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        unknown_names = set(path_names) - set(WALK_VALUES)
        assert not unknown_names, f"teach this walk values for the path parameters {unknown_names}"
        valid = {name: WALK_VALUES[name]["valid"] for name in path_names}
        call(method, _url(template, valid), "valid")
        for name in path_names:
            for case in ("unknown", "bad"):
                if case == "unknown" and (method, name) == ("post", "rel"):
                    continue  # an upload to a new path creates the file
                call(method, _url(template, {**valid, name: WALK_VALUES[name][case]}), case)
        for parameter in (p for p in operation.get("parameters", []) if p["in"] == "query"):
            schema = parameter["schema"]
            good = schema.get("default", (schema.get("enum") or [None])[0])
            call(method, _url(template, valid), "valid", params={parameter["name"]: good})
            for value in _bad_query_values(schema):
                call(method, _url(template, valid), "bad", params={parameter["name"]: value})
    declared = {(method, template): set(operation["responses"]) & {"200", "201", "400", "404", "409"}
                - ({"200"} if (method, template) in VALID_STATUS else set())
                for template, method, operation in operations}
    assert len(declared) >= 10
    assert {key: codes & seen.get(key, set()) for key, codes in declared.items()} == declared


def test_a_search_serves_its_trials_decisions_and_what_they_cost(tmp_path: Path, asha_search_log: Path) -> None:
    """A real random search with ASHA: every row has its trial number, last decision and search status, and the
    grid search its search summary, equal to what the projection concludes from the log (and valid by the spec)."""
    from mlgym.events.results import project
    gs = asha_search_log.parent.name
    projection = project(read_events(asha_search_log), gs)
    with BoardProcess(tmp_path / "store") as proc:
        assert sync(asha_search_log.parent.parent, gs, proc.url) == projection.last_seq
        api = ApiClient(proc.url)
        info = api.get(f"/api/grid_searches/{gs}").json()
        rows = {r["experiment_id"]: r for r in api.get(f"/api/grid_searches/{gs}/experiments").json()}
        stopped = next(eid for eid, v in projection.views().items() if (v.search_decision or {}).get("decision")
                       == "stopped")
        detail = api.get(f"/api/grid_searches/{gs}/experiments/{stopped}").json()
    summary = projection.search_summary()
    assert info["search"] == summary and summary["epochs_full"] == 81
    assert summary["epochs_trained"] == sum(r["epoch"] for r in rows.values()) < 81
    assert sorted(r["trial"] for r in rows.values()) == list(range(9))
    for eid, view in projection.views().items():
        assert (rows[eid]["trial"], rows[eid]["search_decision"], rows[eid]["search_status"]) == (
            view.trial, view.search_decision, view.search_status)
        assert rows[eid]["selected_score"] == view.selected_score == view.scores_at_best["val/accuracy"]
    assert detail["search_status"].startswith("stopped at rung") and detail["status"] == "paused"
    assert rows[summary["winner"]]["selected_score"] == max(r["selected_score"] for r in rows.values())
