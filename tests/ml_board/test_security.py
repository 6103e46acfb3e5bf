"""Safe by default: loopback bind, ingest token, id and path checks, size limits, CORS, malformed events."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import SyncError, sync
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess, write_sample_run

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardProcess]:
    root = tmp_path_factory.mktemp("guarded")
    with BoardProcess(root / "store", "--max_upload_mb", "0.01", "--max_message_mb", "1", "--cors_origins", "http://allowed.example",
                      env={"MLBOARD_INGEST_TOKEN": TOKEN}) as proc:
        write_sample_run(root / "local", "gs1").close()
        assert sync(root / "local", "gs1", proc.url, token=TOKEN) >= 0
        proc.local = root / "local"
        yield proc


@pytest.fixture(scope="module")
def api(guarded: BoardProcess) -> ApiClient:
    return ApiClient(guarded.url, timeout=10)


@pytest.fixture(scope="module")
def client(guarded: BoardProcess) -> Iterator[socketio.Client]:
    sio = socketio.Client(reconnection=False)
    sio.connect(guarded.url, transports=["websocket"], wait_timeout=10)
    yield sio
    sio.disconnect()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.org"])
def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path: Path, host: str) -> None:
    done = subprocess.run([sys.executable, "-m", "ml_board.cli", "--host", host, "--port", "1",
                           "--event_storage_path", str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert f"refusing to bind {host} without an ingest token" in done.stderr


def test_ingest_without_the_token_is_refused_and_nothing_written(guarded: BoardProcess, tmp_path: Path) -> None:
    log = write_sample_run(tmp_path, "intruder")
    log.close()
    last = len(list(read_events(log.path))) - 1
    with pytest.raises(SyncError) as refused:
        sync(tmp_path, "intruder", guarded.url, token="wrong", timeout=2)
    assert str(refused.value) == (f"the board at {guarded.url} stored events up to seq -1 of {last}: invalid or "
                                  "missing ingest token")
    assert not (guarded.storage / "intruder").exists()


def test_ingest_with_a_bad_token_gets_an_error_reply(client: socketio.Client) -> None:
    reply = client.call("ingest", {"grid_search_id": "gs9", "events": [], "token": "nope"}, timeout=10)
    assert reply == {"error": "invalid or missing ingest token"}


def test_malformed_events_are_rejected_with_a_reason(api: ApiClient, client: socketio.Client, tmp_path: Path) -> None:
    events = list(read_events(write_sample_run(tmp_path, "gs2").path))[:4]
    events[2]["payload"] = "not an object"
    reply = client.call("ingest", {"grid_search_id": "gs2", "events": events, "token": TOKEN}, timeout=10)
    assert reply == {"acked_seq": 1, "error": "event 2 (seq 2) rejected: payload must be a JSON object"}
    stored = api.get("/api/grid_searches/gs2/events").json()
    assert [e["seq"] for e in stored["events"]] == [0, 1]


def test_malformed_lines_are_rejected_with_a_reason(api: ApiClient, client: socketio.Client, tmp_path: Path) -> None:
    lines = write_sample_run(tmp_path, "gs3").path.read_bytes().splitlines(keepends=True)[:4]
    lines[2] = lines[2][:40] + b"\n"  # cut mid-object
    reply = client.call("ingest", {"grid_search_id": "gs3", "lines": b"".join(lines), "token": TOKEN}, timeout=10)
    assert reply["acked_seq"] == 1
    assert reply["error"].startswith("event 2 (seq None) rejected: not a JSON line: ")
    stored = api.get("/api/grid_searches/gs3/events?format=ndjson").content
    assert stored == b"".join(lines[:2])


def test_a_line_nested_100000_deep_gets_a_reply_with_the_reason(api: ApiClient, client: socketio.Client,
                                                                 tmp_path: Path) -> None:
    lines = write_sample_run(tmp_path, "gs4").path.read_bytes().splitlines(keepends=True)[:3]
    lines[2] = lines[2][:-2] + b',"deep":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    reply = client.call("ingest", {"grid_search_id": "gs4", "lines": b"".join(lines), "token": TOKEN}, timeout=30)
    assert reply == {"acked_seq": 1, "error": "event 2 (seq None) rejected: nested more deeply than the board parses "
                                              "(arrays and objects at most about 900 levels deep)"}
    assert api.get("/api/grid_searches/gs4/events?format=ndjson").content == b"".join(lines[:2])


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_a_non_finite_creation_ts_is_rejected(client: socketio.Client, tmp_path: Path, ts: float) -> None:
    gs = f"gs-ts-{abs(hash(str(ts))) % 1000}"
    events = list(read_events(write_sample_run(tmp_path, gs).path))[:3]
    events[1]["creation_ts"] = ts
    reply = client.call("ingest", {"grid_search_id": gs, "events": events, "token": TOKEN}, timeout=10)
    assert reply == {"acked_seq": 0, "error": f"event 1 (seq 1) rejected: creation_ts must be a finite number "
                                              f"(seconds since the epoch), got {ts}"}
    lines = write_sample_run(tmp_path / "lines", gs + "l").path.read_bytes().splitlines(keepends=True)[:3]
    lines[1] = lines[1].replace(b'"creation_ts":', b'"creation_ts":NaN,"x":', 1)
    reply = client.call("ingest", {"grid_search_id": gs + "l", "lines": b"".join(lines), "token": TOKEN}, timeout=10)
    assert reply == {"acked_seq": 0, "error": "event 1 (seq 1) rejected: creation_ts must be a finite number "
                                              "(seconds since the epoch), got nan"}


def test_events_from_beyond_the_last_seq_answer_the_next_one_to_ask(api: ApiClient) -> None:
    last = api.get("/api/grid_searches/gs1").json()["last_seq"]
    page = api.get("/api/grid_searches/gs1/events", params={"from_seq": 10**18}).json()
    assert page == {"events": [], "next_seq": last + 1}


@pytest.mark.parametrize("message", [None, "text", {"grid_search_id": "../etc", "events": [], "token": TOKEN},
                                     {"grid_search_id": "gs1", "events": {"seq": 0}, "token": TOKEN},
                                     {"grid_search_id": "gs1", "lines": "{}\n", "token": TOKEN},
                                     {"grid_search_id": "gs1", "lines": b'{"seq": 0}', "token": TOKEN},
                                     {"grid_search_id": "gs1", "lines": b"", "events": [], "token": TOKEN}],
                         ids=["none", "string", "bad-id", "events-not-a-list", "lines-not-binary",
                              "lines-without-final-newline", "events-and-lines"])
def test_malformed_ingest_messages_get_an_error(client: socketio.Client, message: object) -> None:
    reply = client.call("ingest", message, timeout=10)
    assert set(reply) == {"error"}


@pytest.mark.parametrize(("path", "status"), [
    ("/api/grid_searches/bad%20id", 400),
    ("/api/grid_searches/bad%20id/events", 400),
    ("/api/grid_searches/gs1/experiments/x%3By", 400),
    ("/api/grid_searches/gs1/checkpoints/a%20b/c.pt", 400),
    ("/api/grid_searches/gs1/checkpoints/..%2F..%2Fgs1%2Fevent_storage.log", 404),
    ("/api/grid_searches/gs1/checkpoints/x/..%2F..%2F..%2Fgs1%2Fevent_storage.log", 404),
    ("/api/grid_searches/gs1/checkpoints/%2E%2E/event_storage.log", 404),
    ("/api/grid_searches/..", 404),
], ids=["space-in-gs", "space-in-gs-events", "semicolon-in-experiment", "space-in-checkpoint",
        "dotdot-escape", "nested-dotdot-escape", "encoded-dotdot", "dotdot-gs"])
def test_bad_ids_and_escaping_paths(api: ApiClient, path: str, status: int) -> None:
    response = api.get(path)
    assert response.status_code == status
    assert "event_storage.log" not in response.text or "error" in response.json()


def test_upload_needs_the_token(api: ApiClient) -> None:
    url = "/api/grid_searches/gs1/checkpoints/gp0/epoch_1.pt"
    assert api.post(url, data=b"x").status_code == 401
    assert api.post(url, data=b"x", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.post(url, data=b"x", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 201
    assert api.post(url, data=b"y", headers={"X-Ingest-Token": TOKEN}).status_code == 201


def test_upload_for_an_unknown_grid_search_needs_the_token_first(guarded: BoardProcess, api: ApiClient) -> None:
    url = "/api/grid_searches/gs-unknown/checkpoints/gp0/epoch_1.pt"
    assert api.post(url, data=b"x").status_code == 401  # no probing which grid searches exist without the token
    assert api.post(url, data=b"x", headers={"X-Ingest-Token": TOKEN}).status_code == 404
    assert not (guarded.storage / "gs-unknown").exists()


def test_upload_escaping_the_folder_is_refused(guarded: BoardProcess, api: ApiClient) -> None:
    url = "/api/grid_searches/gs1/checkpoints/..%2F..%2Fevil.txt"
    response = api.post(url, data=b"x", headers={"X-Ingest-Token": TOKEN})
    assert response.status_code == 404
    assert not list(guarded.storage.parent.rglob("evil.txt"))


def test_oversized_upload_is_413(guarded: BoardProcess, api: ApiClient) -> None:
    url = "/api/grid_searches/gs1/checkpoints/gp0/big.pt"
    response = api.post(url, data=b"x" * 20_000, headers={"X-Ingest-Token": TOKEN})
    assert response.status_code == 413
    assert "error" in response.json()
    assert not (guarded.storage / "gs1" / "checkpoints" / "gp0" / "big.pt").exists()


def test_oversized_socketio_message_is_dropped(guarded: BoardProcess, tmp_path: Path) -> None:
    # the board's message limit follows --max_message_mb (1 MB here); a larger message closes the connection
    sio = socketio.Client(reconnection=False)
    sio.connect(guarded.url, transports=["websocket"], wait_timeout=10)
    try:
        with pytest.raises(socketio.exceptions.TimeoutError):
            sio.call("ingest", {"grid_search_id": "huge", "events": ["x" * (2 * 1024 * 1024)],
                                "token": TOKEN}, timeout=5)
    finally:
        sio.disconnect()
    assert not (guarded.storage / "huge").exists()


def test_cors_allows_only_configured_origins(api: ApiClient) -> None:
    allowed = api.get("/api/grid_searches", headers={"Origin": "http://allowed.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://allowed.example"
    other = api.get("/api/grid_searches", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_cors_default_is_same_origin(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store") as proc:
        response = ApiClient(proc.url).get("/api/grid_searches", headers={"Origin": "http://evil.example"})
        assert "Access-Control-Allow-Origin" not in response.headers
        sio = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(proc.url, transports=["websocket"], headers={"Origin": "http://evil.example"},
                        wait_timeout=5)
