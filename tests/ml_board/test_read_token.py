"""`--read_token`: every REST read and the Socket.IO `join` need it; ingest and uploads keep the ingest token."""
from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import socketio

from ml_board.openapi import openapi_spec
from mlgym.events.websocket_sink import sync
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess, write_sample_run

READ = "read-s3cret"
INGEST = "ingest-s3cret"
GS = "gs1"
CHECKPOINT = "checkpoints/gp00000000/epoch_1.pt"
# a value per path parameter, all of the fixture's run
VALUES = {"grid_search_id": GS, "experiment_id": "gp00000000", "rel": CHECKPOINT}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoardProcess]:
    root = tmp_path_factory.mktemp("read-token")
    with BoardProcess(root / "store", "--read_token", READ, "--ingest_token", INGEST) as proc:
        write_sample_run(root / "local", GS).close()
        assert sync(root / "local", GS, proc.url, token=INGEST) >= 0  # ingest needs the ingest token only
        uploaded = requests.post(f"{proc.url}/api/grid_searches/{GS}/{CHECKPOINT}", data=b"weights", timeout=10,
                                 headers={"Authorization": f"Bearer {INGEST}"})
        assert uploaded.status_code == 201, uploaded.text
        yield proc


@pytest.fixture(scope="module")
def reader(board: BoardProcess) -> ApiClient:
    return ApiClient(board.url, timeout=10, token=READ)


@pytest.fixture(scope="module")
def anonymous(board: BoardProcess) -> ApiClient:
    return ApiClient(board.url, timeout=10, spec_token=READ)


def read_operations() -> list[str]:
    """Every GET path of the REST API, filled with the fixture's ids."""
    return [re.sub(r"\{(\w+)\}", lambda m: VALUES[m[1]], path)
            for path, item in openapi_spec(read_protected=True)["paths"].items() if "get" in item]


@pytest.mark.parametrize("path", read_operations())
def test_every_read_needs_the_token(anonymous: ApiClient, reader: ApiClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": READ},
                    {"Authorization": f"Bearer {INGEST}"}):
        refused = anonymous.get(path, headers=headers)
        assert (refused.status_code, refused.json()) == (401, {
            "error": "invalid or missing read token (send it as 'Authorization: Bearer <token>')"}), headers
    assert reader.get(path).status_code == 200


def test_reads_give_the_data_with_the_token(reader: ApiClient) -> None:
    assert [s["grid_search_id"] for s in reader.get("/api/grid_searches").json()] == [GS]
    assert reader.get(f"/api/grid_searches/{GS}/{CHECKPOINT}").content == b"weights"
    assert len(reader.get(f"/api/grid_searches/{GS}/experiments").json()) == 2


def test_upload_takes_the_ingest_token_not_the_read_token(anonymous: ApiClient) -> None:
    url = f"/api/grid_searches/{GS}/checkpoints/gp00000001/epoch_1.pt"
    assert anonymous.post(url, data=b"x", headers={"Authorization": f"Bearer {READ}"}).status_code == 401
    assert anonymous.post(url, data=b"x", headers={"X-Ingest-Token": INGEST}).status_code == 201


def test_a_label_edit_needs_both_tokens(anonymous: ApiClient, reader: ApiClient) -> None:
    url = f"/api/grid_searches/{GS}/labels"
    read, ingest = {"Authorization": f"Bearer {READ}"}, {"X-Ingest-Token": INGEST}
    assert anonymous.request("put", url, json={"name": "x"}, headers=ingest).status_code == 401  # no read token
    assert anonymous.request("put", url, json={"name": "x"}, headers=read).status_code == 401  # no ingest token
    assert reader.get(f"/api/grid_searches/{GS}").json()["name"] is None
    edited = anonymous.request("put", url, json={"name": "x"}, headers={**read, **ingest})
    assert (edited.status_code, edited.json()) == (200, {"name": "x", "tags": [], "note": None})


def test_spec_declares_the_read_token(reader: ApiClient) -> None:
    spec = reader.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["readToken"] == {"type": "http", "scheme": "bearer", "description":
        "the board's --read_token: every operation but the upload needs it when one is set"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            both = [{"ingestToken": [], "readToken": []}]
            expected = {"post": [{"ingestToken": []}], "put": both, "delete": both}.get(method, [{"readToken": []}])
            assert operation["security"] == expected, (method, path)
            assert "401" in operation["responses"], (method, path)


def test_without_a_read_token_the_spec_is_unchanged(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store") as plain:
        spec = ApiClient(plain.url).get("/api/openapi.json").json()
    assert spec == openapi_spec()
    assert "readToken" not in str(spec)


def connect(url: str, auth: dict | None) -> tuple[socketio.Client, queue.Queue]:
    """A real python-socketio client; what it receives as `events` and `grid_searches_changed` goes to a queue."""
    client = socketio.Client(reconnection=False)
    received: queue.Queue = queue.Queue()
    client.on("events", lambda msg: received.put(("events", msg)))
    client.on("grid_searches_changed", lambda msg: received.put(("changed", msg)))
    client.connect(url, transports=["websocket"], auth=auth, wait_timeout=10)
    return client, received


@pytest.mark.parametrize("auth", [None, {"token": "wrong"}, {"token": INGEST}, {"other": READ}],
                         ids=["no-auth", "wrong-token", "ingest-token", "no-token-key"])
def test_join_without_the_read_token_is_refused(board: BoardProcess, auth: dict | None) -> None:
    client, received = connect(board.url, auth)
    try:
        reply = client.call("join", {"grid_search_id": GS, "from_seq": 0}, timeout=10)
        assert reply == {"error": 'invalid or missing read token (connect with the Socket.IO auth {"token": <token>})'}
        # ingest still works on that connection, with the ingest token, and announces nothing to it
        assert client.call("ingest", {"grid_search_id": "gs-new", "events": [], "token": INGEST},
                           timeout=10) == {"acked_seq": -1}
        with pytest.raises(queue.Empty):
            received.get(timeout=1)
    finally:
        client.disconnect()


def test_join_with_the_read_token_gets_the_events_and_the_announcements(board: BoardProcess, tmp_path: Path) -> None:
    client, received = connect(board.url, {"token": READ})
    try:
        reply = client.call("join", {"grid_search_id": GS, "from_seq": 0}, timeout=10)
        assert set(reply) == {"grid_search_id", "next_seq"} and reply["next_seq"] > 0
        kind, message = received.get(timeout=10)
        assert kind == "events" and message["events"][0]["seq"] == 0
        write_sample_run(tmp_path, "gs-announced").close()
        sync(tmp_path, "gs-announced", board.url, token=INGEST)
        announcements = [msg for kind, msg in iter_queue(received) if kind == "changed"]
        assert "gs-announced" in [msg["grid_search_id"] for msg in announcements]
    finally:
        client.disconnect()


def iter_queue(received: queue.Queue, timeout: float = 5.0) -> Iterator[tuple[str, dict]]:
    """What arrived until nothing more came for `timeout` seconds."""
    while True:
        try:
            yield received.get(timeout=timeout)
        except queue.Empty:
            return


def test_the_token_can_come_from_the_environment(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store", env={"MLBOARD_READ_TOKEN": READ}) as proc:
        assert requests.get(f"{proc.url}/api/grid_searches", timeout=10).status_code == 401
        assert requests.get(f"{proc.url}/api/grid_searches", timeout=10,
                            headers={"Authorization": f"Bearer {READ}"}).json() == []


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--read_token", ""], {}, "ml_board: --read_token is empty: give a token, or leave --read_token out to run "
                               "without one"),
    (["--read_token", "   "], {}, "ml_board: --read_token is empty"),
    (["--read_token", "two words"], {}, "ml_board: --read_token must not contain whitespace"),
    ([], {"MLBOARD_READ_TOKEN": ""}, "ml_board: MLBOARD_READ_TOKEN is empty: give a token, or leave "
                                     "MLBOARD_READ_TOKEN out to run without one"),
    (["--ingest_token", ""], {}, "ml_board: --ingest_token is empty"),
    (["--port", "70000"], {}, "argument --port: port 70000 is outside 0..65535"),
], ids=["empty", "blank", "whitespace", "empty-env", "empty-ingest-token", "port-out-of-range"])
def test_bad_cli_input_exits_2_with_a_message(tmp_path: Path, args: list[str], env: dict[str, str],
                                              message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "ml_board.cli", "--event_storage_path", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env,
                                                                           **_pythonpath()})
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not list(tmp_path.iterdir())  # nothing started, nothing created


def _pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
