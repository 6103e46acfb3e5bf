"""Archiving and deleting grid searches on a real board process: both need the ingest token; an archived grid search
leaves the list (unless asked for) and stays archived across a restart; a deleted one loses its stored events,
labels and checkpoints, and a running one cannot be deleted. The event logs of the others stay byte for byte.

Every call goes through `ApiClient`, so every answer is also checked against the board's own OpenAPI document.
"""
from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess
from tests.ml_board.dashboard_helpers import grid_search_events, write_store

OLD = "2026-12-01--10-00-00-aaaa"
DONE = "2026-12-02--10-00-00-bbbb"
RUNNING = "2026-12-03--10-00-00-cccc"
INGEST = "ingest-s3cret"
TOKEN = {"X-Ingest-Token": INGEST}
TOKEN_MISSING = ("invalid or missing ingest token (send it as 'X-Ingest-Token: <token>', or as 'Authorization: "
                 "Bearer <token>' on a board without a read token)")


class Board:
    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.proc = BoardProcess(storage, "--ingest_token", INGEST).start()
        self.api = ApiClient(self.proc.url)

    def restart(self) -> None:
        self.proc.stop()
        self.proc = BoardProcess(self.storage, "--ingest_token", INGEST).start()
        self.api = ApiClient(self.proc.url)

    def ids(self, **params: Any) -> list[str]:
        response = self.api.get("/api/grid_searches", params=params)
        assert response.status_code == 200, response.text
        return [row["grid_search_id"] for row in response.json()]


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Board]:
    store = tmp_path / "store"
    write_store(store, OLD, grid_search_events(num_epochs=1), start_ts=1_000_000.0)
    write_store(store, DONE, grid_search_events(num_epochs=1), start_ts=2_000_000.0)
    write_store(store, RUNNING, grid_search_events(num_epochs=1, finish=False))  # no heartbeat: never stale
    b = Board(store)
    yield b
    b.proc.stop()


def listen(url: str) -> tuple[socketio.Client, queue.Queue]:
    client = socketio.Client(reconnection=False)
    changed: queue.Queue = queue.Queue()
    client.on("grid_searches_changed", changed.put)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    return client, changed


def test_archived_grid_searches_leave_the_list_and_stay_archived_after_a_restart(board: Board) -> None:
    log = (board.storage / OLD / "event_storage.log").read_bytes()
    client, changed = listen(board.proc.url)
    try:
        put = board.api.request("put", f"/api/grid_searches/{OLD}/archive", json={"archived": True}, headers=TOKEN)
        assert (put.status_code, put.json()) == (200, {"archived": True})
        assert changed.get(timeout=10) == {"grid_search_id": OLD, "archived": True}
    finally:
        client.disconnect()
    assert board.ids() == [RUNNING, DONE]
    assert board.ids(archived="false") == [RUNNING, DONE]
    assert board.ids(archived="true") == [OLD]
    assert board.ids(archived="all") == [RUNNING, DONE, OLD]
    assert board.api.get(f"/api/grid_searches/{OLD}").json()["archived"] is True
    assert (board.storage / OLD / "event_storage.log").read_bytes() == log  # kept in the board's labels.log

    board.restart()
    assert board.ids(archived="true") == [OLD]
    back = board.api.request("put", f"/api/grid_searches/{OLD}/archive", json={"archived": False}, headers=TOKEN)
    assert back.json() == {"archived": False}
    assert board.ids() == [RUNNING, DONE, OLD]
    assert board.ids(q="aaaa", archived="all") == [OLD]


@pytest.mark.parametrize("body, reason", [
    ({"archived": "yes"}, 'the body is {"archived": true} or {"archived": false}'),
    ({"archived": True, "name": "x"}, 'the body is {"archived": true} or {"archived": false}'),
    ([True], "the body is a JSON object {archived: true | false}"),
], ids=["not-bool", "extra-key", "list"])
def test_a_bad_archive_request_is_400(board: Board, body: Any, reason: str) -> None:
    response = board.api.request("put", f"/api/grid_searches/{OLD}/archive", json=body, headers=TOKEN)
    assert (response.status_code, response.json()) == (400, {"error": reason})
    bad_filter = board.api.get("/api/grid_searches", params={"archived": "maybe"})
    assert (bad_filter.status_code, bad_filter.json()) == (
        400, {"error": "archived must be one of false, true, all, got 'maybe'"})


@pytest.mark.parametrize("method, path, body", [
    ("put", f"/api/grid_searches/{DONE}/archive", {"archived": True}),
    ("delete", f"/api/grid_searches/{DONE}", None),
], ids=["archive", "delete"])
def test_archive_and_delete_need_the_ingest_token(board: Board, method: str, path: str, body: Any) -> None:
    response = board.api.request(method, path, json=body, headers={"X-Ingest-Token": "wrong"})
    assert (response.status_code, response.json()) == (401, {"error": TOKEN_MISSING})
    assert board.ids() == [RUNNING, DONE, OLD]
    assert not (board.storage / DONE / "labels.log").exists()


def test_delete_removes_events_labels_and_checkpoints_and_survives_a_restart(board: Board) -> None:
    board.api.request("put", f"/api/grid_searches/{DONE}/labels", json={"name": "to go"}, headers=TOKEN)
    upload = board.api.post(f"/api/grid_searches/{DONE}/checkpoints/exp1/epoch_1.pt", data=b"weights",
                            headers={"Authorization": f"Bearer {INGEST}"})
    assert upload.status_code == 201, upload.text
    others = {gs: (board.storage / gs / "event_storage.log").read_bytes() for gs in (OLD, RUNNING)}
    client, changed = listen(board.proc.url)
    try:
        response = board.api.request("delete", f"/api/grid_searches/{DONE}", headers=TOKEN)
        assert (response.status_code, response.json()) == (200, {"deleted": DONE})
        assert changed.get(timeout=10) == {"grid_search_id": DONE, "deleted": True}
    finally:
        client.disconnect()
    assert not (board.storage / DONE).exists()
    assert board.ids(archived="all") == [RUNNING, OLD]
    gone = board.api.get(f"/api/grid_searches/{DONE}")
    assert (gone.status_code, gone.json()) == (404, {"error": f"unknown grid search {DONE!r}"})
    again = board.api.request("delete", f"/api/grid_searches/{DONE}", headers=TOKEN)
    assert again.status_code == 404
    assert {gs: (board.storage / gs / "event_storage.log").read_bytes() for gs in (OLD, RUNNING)} == others

    board.restart()
    assert board.ids(archived="all") == [RUNNING, OLD]
    assert sorted(p.name for p in board.storage.iterdir() if p.is_dir()) == sorted([OLD, RUNNING])  # trash emptied


def test_a_running_grid_search_cannot_be_deleted(board: Board) -> None:
    response = board.api.request("delete", f"/api/grid_searches/{RUNNING}", headers=TOKEN)
    assert (response.status_code, response.json()) == (409, {"error": (
        f"grid search {RUNNING!r} is still running; stop it (or wait until its heartbeat is missed and it shows as "
        "stale) before deleting it")})
    assert RUNNING in board.ids()


def test_a_deletion_cut_short_by_a_crash_is_finished_on_start(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store(store, DONE, grid_search_events(num_epochs=1))
    half_deleted = store / "~deleted" / f"{OLD}.123"
    half_deleted.mkdir(parents=True)
    (half_deleted / "event_storage.log").write_bytes(b"{}\n")
    b = Board(store)
    try:
        assert b.ids(archived="all") == [DONE]
        assert not (store / "~deleted").exists()
    finally:
        b.proc.stop()
