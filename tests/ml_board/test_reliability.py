"""No event lost or stored twice: the board killed -9 mid-run, the run started before the board, a torn store line."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from mlgym.events.event_log import EventLog, encode, read_events
from mlgym.events.websocket_sink import WebsocketSink
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess, append_filler, free_port, wait_until, write_sample_run


def stored_seqs(board: BoardProcess, grid_search_id: str) -> list[int]:
    return [e["seq"] for e in read_events(board.storage / grid_search_id / "event_storage.log")]


def assert_store_equals_local_log(board: BoardProcess, log: EventLog) -> None:
    local = log.path.read_bytes()
    stored = (board.storage / log.grid_search_id / "event_storage.log").read_bytes()
    assert stored.count(b"\n") == local.count(b"\n")
    assert stored == local  # every event once, in order, byte for byte


def training(log: EventLog, stop: threading.Event, per_tick: int = 200) -> threading.Thread:
    """A stand-in for a running grid search: keeps appending events until `stop` is set."""
    def run() -> None:
        while not stop.is_set():
            append_filler(log, per_tick)
            time.sleep(0.01)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_board_killed_mid_run_and_restarted(tmp_path: Path) -> None:
    board = BoardProcess(tmp_path / "store").start()
    log = write_sample_run(tmp_path / "local", "gs-kill", finish=False)
    sink = WebsocketSink(log.path, board.url, batch_size=500).start()
    stop = threading.Event()
    worker = training(log, stop)
    try:
        wait_until(lambda: sink.acked_seq > 2000, what="the sink to ship some events")
        board.kill()
        killed_at = sink.acked_seq
        wait_until(lambda: log.next_seq > killed_at + 3000, what="training to go on while the board is down")
        board = BoardProcess(tmp_path / "store", port=board.port).start()
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
    try:
        log.append("grid_search_finished", {"status": "done", "num_done": 2, "num_failed": 0, "duration_s": 1})
        assert sink.stop(timeout=60) is True
        assert_store_equals_local_log(board, log)
        assert stored_seqs(board, "gs-kill") == list(range(log.next_seq))
    finally:
        board.stop()


def test_run_started_before_the_board_exists(tmp_path: Path) -> None:
    port = free_port()
    log = write_sample_run(tmp_path / "local", "gs-early", finish=False)
    sink = WebsocketSink(log.path, f"http://127.0.0.1:{port}", batch_size=300).start()
    append_filler(log, 1000)
    time.sleep(0.5)
    assert sink.acked_seq == -1 and not sink.connected
    with BoardProcess(tmp_path / "store", port=port) as board:
        append_filler(log, 1000)
        log.append("grid_search_finished", {"status": "done", "num_done": 2, "num_failed": 0, "duration_s": 1})
        assert sink.stop(timeout=60) is True
        assert_store_equals_local_log(board, log)


def test_torn_store_line_is_skipped_and_the_next_append_is_valid(tmp_path: Path) -> None:
    log = write_sample_run(tmp_path / "local", "gs-torn")
    events = list(read_events(log.path))
    with BoardProcess(tmp_path / "store") as board:
        sink = WebsocketSink(log.path, board.url).start()
        assert sink.stop(timeout=30) is True
        board.kill()  # then a crash mid-write leaves half a line behind
    store_file = tmp_path / "store" / "gs-torn" / "event_storage.log"
    extra = log.append("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1,
                                      "attempt": 1}, "gp00000000")
    with open(store_file, "ab") as f:
        f.write(encode(extra)[:25])
    assert [e["seq"] for e in read_events(store_file)] == [e["seq"] for e in events]
    with BoardProcess(tmp_path / "store") as board:
        served = board_events(board, "gs-torn")
        assert [e["seq"] for e in served] == [e["seq"] for e in events]  # the torn line is not served
        sink = WebsocketSink(log.path, board.url).start()
        assert sink.stop(timeout=30) is True
        assert_store_equals_local_log(board, log)


def board_events(board: BoardProcess, grid_search_id: str) -> list[dict]:
    page = ApiClient(board.url, timeout=10).get(f"/api/grid_searches/{grid_search_id}/events").json()
    return page["events"]
