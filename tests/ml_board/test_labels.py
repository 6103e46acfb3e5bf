"""Labels for people (a name, tags and a note per grid search) on a real board process: from the run config, edited
with the ingest token, kept in the board's own labels.log (the event log stays byte for byte), filtered on the server.

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
from tests.ml_board.dashboard_helpers import grid_search_events, with_labels, write_store

LABELLED = "2026-12-01--10-00-00-aaaa"
PLAIN = "2026-12-02--10-00-00-bbbb"
INGEST = "ingest-s3cret"
TOKEN = {"X-Ingest-Token": INGEST}
RUN_LABELS = {"name": "LR sweep on iris", "tags": ["baseline", "Iris"], "note": "first try"}


def labelled_events(labels: dict[str, Any] | None) -> Iterator[Any]:
    """A small finished grid search whose grid_search_started.run_config holds `labels` (if any)."""
    return with_labels(grid_search_events(num_epochs=1), labels)


class Board:
    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.proc = BoardProcess(storage, "--ingest_token", INGEST).start()
        self.api = ApiClient(self.proc.url)
        self.written: dict[str, bytes] = {}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    store = tmp_path_factory.mktemp("labels") / "store"
    write_store(store, LABELLED, labelled_events(RUN_LABELS), start_ts=1_000_000.0)
    write_store(store, PLAIN, labelled_events(None), start_ts=2_000_000.0)
    written = {gs: (store / gs / "event_storage.log").read_bytes() for gs in (LABELLED, PLAIN)}  # by the gym
    b = Board(store)
    b.written = written
    yield b
    b.proc.stop()


def labels_of(api: ApiClient, gs: str) -> dict[str, Any]:
    info = api.get(f"/api/grid_searches/{gs}").json()
    return {k: info[k] for k in ("name", "tags", "note")}


def test_labels_come_from_the_run_config(board: Board) -> None:
    rows = {r["grid_search_id"]: r for r in board.api.get("/api/grid_searches").json()}
    assert {k: rows[LABELLED][k] for k in ("name", "tags", "note")} == RUN_LABELS
    assert {k: rows[PLAIN][k] for k in ("name", "tags", "note")} == {"name": None, "tags": [], "note": None}
    assert labels_of(board.api, LABELLED) == RUN_LABELS


@pytest.mark.parametrize("headers", [{}, {"X-Ingest-Token": "wrong"}, {"Authorization": "Bearer wrong"}],
                         ids=["none", "wrong-header", "wrong-bearer"])
def test_an_edit_without_the_ingest_token_is_refused(board: Board, headers: dict[str, str]) -> None:
    response = board.api.request("put", f"/api/grid_searches/{LABELLED}/labels", json={"name": "x"},
                                 headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": (
        "invalid or missing ingest token (send it as 'X-Ingest-Token: <token>', or as 'Authorization: Bearer "
        "<token>' on a board without a read token)")})
    assert not (board.storage / LABELLED / "labels.log").exists()
    assert labels_of(board.api, LABELLED) == RUN_LABELS


@pytest.mark.parametrize("body, reason", [
    ({"name": "n" * 201}, "labels.name: name is at most 200 characters, got 201"),
    ({"name": 3}, "labels.name: name is a string, got int"),
    ({"tags": "a,b"}, "labels.tags: tags is a list of strings, got str"),
    ({"tags": [f"t{i}" for i in range(21)]}, "labels.tags: at most 20 tags, got 21"),
    ({"tags": ["ok", "t" * 51]}, "labels.tags.1: a tag is at most 50 characters, got 51"),
    ({"tags": ["ok", " "]}, "labels.tags.1: a tag is not empty"),
    ({"note": "x" * 10_001}, "labels.note: note is at most 10,000 characters, got 10,001"),
    ({"title": "x"}, "labels.title: unknown label 'title'; allowed: name, tags, note"),
    (["name"], "the body is a JSON object {name?, tags?, note?}"),
], ids=["long-name", "name-int", "tags-str", "21-tags", "long-tag", "blank-tag", "long-note", "unknown", "list"])
def test_bad_input_is_400_with_a_reason(board: Board, body: Any, reason: str) -> None:
    response = board.api.request("put", f"/api/grid_searches/{LABELLED}/labels", json=body, headers=TOKEN)
    assert (response.status_code, response.json()) == (400, {"error": reason})
    assert labels_of(board.api, LABELLED) == RUN_LABELS


def test_a_body_above_256_kib_is_413(board: Board) -> None:
    response = board.api.request("put", f"/api/grid_searches/{LABELLED}/labels", headers=TOKEN,
                                 json={"note": "x" * (256 * 1024)})
    assert (response.status_code, response.json()) == (413, {"error": "a label edit is at most 262144 bytes"})


def test_unknown_grid_search_is_404_and_creates_nothing(board: Board) -> None:
    response = board.api.request("put", "/api/grid_searches/nope/labels", json={"name": "x"}, headers=TOKEN)
    assert (response.status_code, response.json()) == (404, {"error": "unknown grid search 'nope'"})
    assert not (board.storage / "nope").exists()


def test_edits_override_the_run_config_are_announced_and_filterable(board: Board) -> None:
    listener = socketio.Client(reconnection=False)
    changed: queue.Queue = queue.Queue()
    listener.on("grid_searches_changed", changed.put)
    listener.connect(board.proc.url, transports=["websocket"], wait_timeout=10)
    event_log = board.storage / PLAIN / "event_storage.log"
    before = event_log.read_bytes(), (board.storage / PLAIN / "event_storage.idx").read_bytes()
    try:
        put = board.api.request("put", f"/api/grid_searches/{PLAIN}/labels", headers=TOKEN,
                                json={"name": "Dropout study", "tags": [" ablation ", "Dropout", "dropout"]})
        assert put.status_code == 200
        expected = {"name": "Dropout study", "tags": ["ablation", "Dropout"], "note": None}
        assert put.json() == expected
        assert changed.get(timeout=10) == {"grid_search_id": PLAIN, "labels": expected}
    finally:
        listener.disconnect()
    # a partial edit keeps the other fields; as a Bearer token on a board without a read token it is accepted too
    note = "Dropout 0.1 vs 0.3.\nKeep 0.1."
    put = board.api.request("put", f"/api/grid_searches/{PLAIN}/labels", json={"note": note},
                            headers={"Authorization": f"Bearer {INGEST}"})
    assert put.json() == {**expected, "note": note}
    assert labels_of(board.api, PLAIN) == {**expected, "note": note}
    # null puts a field back to the run config's
    board.api.request("put", f"/api/grid_searches/{LABELLED}/labels", json={"name": "renamed"}, headers=TOKEN)
    assert labels_of(board.api, LABELLED)["name"] == "renamed"
    reverted = board.api.request("put", f"/api/grid_searches/{LABELLED}/labels", json={"name": None},
                                 headers=TOKEN)
    assert reverted.json() == RUN_LABELS
    assert (event_log.read_bytes(), (board.storage / PLAIN / "event_storage.idx").read_bytes()) == before

    def ids(**params: Any) -> list[str]:
        return [r["grid_search_id"] for r in board.api.get("/api/grid_searches", params=params).json()]

    assert ids() == [PLAIN, LABELLED]
    assert ids(q="DROPOUT") == [PLAIN]        # name and tag
    assert ids(q="keep 0.1") == [PLAIN]       # note
    assert ids(q="first TRY") == [LABELLED]   # the run config's note
    assert ids(q="bbbb") == [PLAIN]           # id
    assert ids(q="nothing like it") == []
    assert ids(tag="iris") == [LABELLED]      # a tag, case-insensitively, exactly
    assert ids(tag="ablat") == []
    assert ids(tag=["ablation", "dropout"]) == [PLAIN]
    assert ids(tag=["ablation", "iris"]) == []
    assert ids(q="sweep", tag="baseline") == [LABELLED]


def test_edits_survive_a_restart_and_the_event_log_stays_as_it_was(board: Board) -> None:
    board.api.request("put", f"/api/grid_searches/{PLAIN}/labels", json={"tags": ["kept"]}, headers=TOKEN)
    wanted = labels_of(board.api, PLAIN)
    board.proc.stop()
    board.proc = BoardProcess(board.storage, "--ingest_token", INGEST, port=board.proc.port).start()
    assert labels_of(board.api, PLAIN) == wanted and wanted["tags"] == ["kept"]
    assert labels_of(board.api, LABELLED) == RUN_LABELS
    assert {gs: (board.storage / gs / "event_storage.log").read_bytes() for gs in board.written} == board.written
    assert len((board.storage / PLAIN / "labels.log").read_text().splitlines()) == 3


def test_a_torn_last_edit_is_cut_and_the_next_edit_starts_a_line_of_its_own(tmp_path: Path) -> None:
    from ml_board.labels import LabelEdits
    folder = tmp_path / "gs"
    folder.mkdir()
    (folder / "labels.log").write_bytes(b'{"ts":1,"set":{"name":"kept"}}\n{"ts":2,"set":{"note":"to')  # crash
    edits = LabelEdits(tmp_path)
    assert edits.current("gs", {"labels": {"note": "from the run config"}}) == {
        "name": "kept", "tags": [], "note": "from the run config"}
    edits.edit("gs", {"tags": ["t"]})
    assert LabelEdits(tmp_path).current("gs", {}) == {"name": "kept", "tags": ["t"], "note": None}
    assert (folder / "labels.log").read_text().count("\n") == 2
