"""Live rooms: a client catching up from any seq while events keep arriving gets each event once, in order."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import socketio

from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import WebsocketSink
from tests.ml_board.board_process import BoardProcess, append_filler, wait_until, write_sample_run


class Watcher:
    """A dashboard-like Socket.IO client that records what it is sent.

    python-socketio's client handles each incoming message in a thread of its own, so the order in which two
    messages reach `_on_events` is not the order they arrived in: `seqs` puts the messages back in the order of
    their first seq (each message's own events keep the order they were sent in).
    """

    def __init__(self, url: str) -> None:
        self.messages: list[list[int]] = []
        self.changed: list[str] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("events", self._on_events)
        self.client.on("grid_searches_changed", lambda data: self.changed.append(data["grid_search_id"]))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)

    def _on_events(self, data: dict) -> None:
        if data["events"]:
            self.messages.append([e["seq"] for e in data["events"]])

    @property
    def seqs(self) -> list[int]:
        return [seq for message in sorted(list(self.messages)) for seq in message]

    def join(self, grid_search_id: str, from_seq: int) -> dict:
        return self.client.call("join", {"grid_search_id": grid_search_id, "from_seq": from_seq}, timeout=30)

    def close(self) -> None:
        threading.Thread(target=self.client.disconnect, daemon=True).start()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    with BoardProcess(tmp_path_factory.mktemp("live") / "store") as proc:
        yield proc


@pytest.mark.parametrize("from_seq", [0, 1234, 7000], ids=["from-start", "from-middle", "from-future"])
def test_join_catches_up_then_follows_without_gap_or_duplicate(board: BoardProcess, tmp_path: Path,
                                                               from_seq: int) -> None:
    gs = f"live-{from_seq}"
    log = write_sample_run(tmp_path, gs, finish=False)
    append_filler(log, 3000)
    sink = WebsocketSink(log.path, board.url, batch_size=250).start()
    wait_until(lambda: sink.acked_seq > 1500, what="some events stored before joining")
    stop = threading.Event()

    def keep_training() -> None:
        while not stop.is_set():
            append_filler(log, 100)
            time.sleep(0.005)

    trainer = threading.Thread(target=keep_training, daemon=True)
    trainer.start()
    watcher = Watcher(board.url)
    try:
        reply = watcher.join(gs, from_seq)
        assert reply["grid_search_id"] == gs
        time.sleep(0.5)
        stop.set()
        trainer.join()
        log.append("grid_search_finished", {"status": "done", "num_done": 2, "num_failed": 0, "duration_s": 1})
        assert sink.stop(timeout=60) is True
        last = log.next_seq - 1
        expected = list(range(from_seq, last + 1))
        # not "until `last` arrives": an earlier message may still be in its handler thread then
        wait_until(lambda: len(watcher.seqs) >= len(expected), what="every event to reach the watcher")
        assert watcher.seqs == expected
    finally:
        watcher.close()


def test_leave_stops_the_stream_and_new_grid_searches_are_announced(board: BoardProcess, tmp_path: Path) -> None:
    watcher = Watcher(board.url)
    try:
        log = write_sample_run(tmp_path, "announced", finish=False)
        assert watcher.join("announced", 0)["next_seq"] == 0  # nothing stored yet: joins an empty room
        sink = WebsocketSink(log.path, board.url).start()
        wait_until(lambda: "announced" in watcher.changed, what="grid_searches_changed")
        wait_until(lambda: len(watcher.seqs) == log.next_seq, what="the events to stream")
        assert watcher.client.call("leave", {"grid_search_id": "announced"}, timeout=10) == {
            "grid_search_id": "announced"}
        seen = len(watcher.seqs)
        append_filler(log, 50)
        assert sink.stop(timeout=30) is True
        time.sleep(0.3)
        assert len(watcher.seqs) == seen
        assert [e["seq"] for e in read_events(log.path)] == list(range(log.next_seq))
    finally:
        watcher.close()


@pytest.mark.parametrize("message", [None, {"grid_search_id": "../x"}, {"grid_search_id": "g", "from_seq": -1},
                                     {"grid_search_id": "g", "from_seq": "0"}],
                         ids=["none", "bad-id", "negative-seq", "string-seq"])
def test_bad_join_messages_get_an_error(board: BoardProcess, message: object) -> None:
    watcher = Watcher(board.url)
    try:
        assert set(watcher.client.call("join", message, timeout=10)) == {"error"}
    finally:
        watcher.close()
