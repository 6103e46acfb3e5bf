"""The REST API of a real board process, filled by the real websocket sink (`sync`)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import sync
from tests.ml_board.board_process import BoardProcess, append_filler, write_sample_run

GS = "2026-11-23--14-05-09-3fa2"


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoardProcess, Path]]:
    root = tmp_path_factory.mktemp("api")
    write_sample_run(root / "local", "older", num_experiments=1, finish=False).close()
    log = write_sample_run(root / "local", GS)
    append_filler(log, 2500)
    log.close()
    with BoardProcess(root / "store") as proc:
        assert sync(root / "local", "older", proc.url) >= 0
        assert sync(root / "local", GS, proc.url) == len(list(read_events(log.path))) - 1
        yield proc, log.path


def get(board: tuple[BoardProcess, Path], path: str, **kwargs) -> requests.Response:
    return requests.get(board[0].url + path, timeout=30, **kwargs)


def test_list_grid_searches_newest_first_with_status_and_counts(board) -> None:
    rows = get(board, "/api/grid_searches").json()
    assert [r["grid_search_id"] for r in rows] == [GS, "older"]
    assert {k: rows[0][k] for k in ("strategy", "status", "num_experiments", "num_done", "num_running",
                                    "num_failed")} == {"strategy": "grid_search", "status": "done",
                                                       "num_experiments": 2, "num_done": 2, "num_running": 0,
                                                       "num_failed": 0}
    assert rows[1]["status"] == "running"
    assert rows[0]["last_seq"] == len(list(read_events(board[1]))) - 1


def test_one_grid_search_has_configs_and_environment(board) -> None:
    info = get(board, f"/api/grid_searches/{GS}").json()
    assert info["sweep_paths"] == ["optimizer.config.lr"]
    assert info["environment"]["hostname"] == "test"
    assert info["selection"]["split"] == "val"
    assert "gs_config" in info and "run_config" in info and "validation_config" in info


def test_events_are_paged_from_any_seq(board) -> None:
    local = list(read_events(board[1]))
    page = get(board, f"/api/grid_searches/{GS}/events", params={"from_seq": 1500, "limit": 700}).json()
    assert page["events"] == local[1500:2200]
    assert page["next_seq"] == 2200
    end = get(board, f"/api/grid_searches/{GS}/events", params={"from_seq": len(local)}).json()
    assert end == {"events": [], "next_seq": len(local)}


@pytest.mark.parametrize("how", [{"params": {"format": "ndjson"}},
                                 {"headers": {"Accept": "application/x-ndjson"}}], ids=["query", "accept"])
def test_events_stream_as_ndjson_exactly_as_stored(board, how) -> None:
    response = get(board, f"/api/grid_searches/{GS}/events?from_seq=3", stream=True, **how)
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    assert response.content == b"".join(board[1].read_bytes().splitlines(keepends=True)[3:])


def test_experiments_have_status_epochs_latest_and_best(board) -> None:
    rows = {r["experiment_id"]: r for r in get(board, f"/api/grid_searches/{GS}/experiments").json()}
    assert set(rows) == {"gp00000000", "gp00000001"}
    row = rows["gp00000001"]
    assert (row["status"], row["epoch"], row["num_epochs"]) == ("done", 3, 3)
    assert row["hyperparameters"] == {"optimizer.config.lr": 0.01}
    assert row["latest"] == {"val/accuracy": pytest.approx(0.81), "val/cross_entropy": pytest.approx(1 / 3)}
    assert row["best"]["val/accuracy"] == pytest.approx(0.81)
    assert row["best_epoch"] == 3


def test_one_experiment_has_config_history_and_checkpoints(board) -> None:
    detail = get(board, f"/api/grid_searches/{GS}/experiments/gp00000000").json()
    assert detail["config"] == {"optimizer": {"config": {"lr": 0.1}}}
    assert [h["status"] for h in detail["status_history"]][:2] == ["scheduled", "running"]
    assert [c["epoch"] for c in detail["checkpoints"]] == [1, 2, 3]
    missing = get(board, f"/api/grid_searches/{GS}/experiments/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": f"unknown experiment 'nope' in grid search "
                                                                    f"'{GS}'"})


def test_results_table(board) -> None:
    results = get(board, f"/api/grid_searches/{GS}/results").json()
    assert results["strategy"] == "grid_search"
    assert len(results["rows"]) == 2 and results["columns"]
    assert all(set(row) == set(results["columns"]) for row in results["rows"])


def test_checkpoints_upload_list_download(board) -> None:
    body = bytes(range(256)) * 1000
    url = f"{board[0].url}/api/grid_searches/{GS}/checkpoints/checkpoints/gp00000000/epoch_3.pt"
    stored = requests.post(url, data=body, timeout=30)
    assert stored.status_code == 201
    assert stored.json() == {"path": "checkpoints/gp00000000/epoch_3.pt", "bytes": len(body),
                             "sha256": hashlib.sha256(body).hexdigest()}
    listed = get(board, f"/api/grid_searches/{GS}/checkpoints").json()
    assert [(c["path"], c["bytes"]) for c in listed] == [("checkpoints/gp00000000/epoch_3.pt", len(body))]
    assert get(board, f"/api/grid_searches/{GS}/checkpoints/gp00000000/epoch_3.pt").content == body
    assert requests.get(board[0].url + listed[0]["url"], timeout=30).content == body


def test_unknown_grid_search_is_404_everywhere(board) -> None:
    for suffix in ("", "/events", "/experiments", "/results", "/checkpoints"):
        response = get(board, f"/api/grid_searches/nope{suffix}")
        assert (response.status_code, response.json()) == (404, {"error": "unknown grid search 'nope'"})


def test_openapi_spec_documents_every_route(board) -> None:
    spec = get(board, "/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= {
        "/api/grid_searches", "/api/grid_searches/{grid_search_id}", "/api/grid_searches/{grid_search_id}/events",
        "/api/grid_searches/{grid_search_id}/experiments",
        "/api/grid_searches/{grid_search_id}/experiments/{experiment_id}",
        "/api/grid_searches/{grid_search_id}/results", "/api/grid_searches/{grid_search_id}/checkpoints",
        "/api/grid_searches/{grid_search_id}/checkpoints/{rel}", "/api/openapi.json"}
    json.dumps(spec)
