"""The production server: one process, clean stop on SIGTERM / SIGINT with clients connected, clear bind errors."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests
import socketio

from mlgym.events.websocket_sink import WebsocketSink
from tests.ml_board.board_process import BoardProcess, append_filler, wait_until, write_sample_run


def test_the_board_is_one_process(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store") as board:
        assert board.proc is not None
        process = psutil.Process(board.proc.pid)
        assert process.children(recursive=True) == []
        assert process.num_threads() <= 3  # greenlets, not a thread per connection


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_board_cleanly_with_clients_connected(tmp_path: Path, signum: int) -> None:
    board = BoardProcess(tmp_path / "store").start()
    log = write_sample_run(tmp_path / "local", "gs1", finish=False)
    sink = WebsocketSink(log.path, board.url, batch_size=100).start()
    viewer = socketio.Client(reconnection=False)
    disconnected = threading.Event()
    viewer.on("disconnect", lambda *args: disconnected.set())
    try:
        viewer.connect(board.url, transports=["websocket"], wait_timeout=10)
        wait_until(lambda: sink.acked_seq == log.next_seq - 1, what="the sink to ship the run")
        assert viewer.call("join", {"grid_search_id": "gs1", "from_seq": 0}, timeout=10)["next_seq"] == log.next_seq
        append_filler(log, 300)  # the sink keeps shipping while the board stops
        assert board.proc is not None
        started = time.monotonic()
        os.kill(board.proc.pid, signum)
        assert board.proc.wait(15) == 0
        assert time.monotonic() - started < 11  # at most 5 s to close the connections, 5 s for running requests
        assert disconnected.wait(5), "the viewer was not told the board went away"
        assert board.log.read_text().rstrip().endswith("ml_board: stopped")
        assert "Traceback" not in board.log.read_text()
        assert "Invalid HTTP method" not in board.log.read_text()  # no websocket frame read as a request
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{board.url}/api/grid_searches", timeout=2)
        stored = (board.storage / "gs1" / "event_storage.log").read_bytes()
        assert log.path.read_bytes().startswith(stored)  # what was stored is whole: no torn or foreign line
    finally:
        sink.stop(timeout=0.5)
        board.stop()
        log.close()


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store") as board:
        done = subprocess.run([sys.executable, "-m", "ml_board.cli", "--port", str(board.port),
                               "--event_storage_path", str(tmp_path / "other")],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"ml_board: cannot listen on 127.0.0.1:{board.port}: ")
    assert "Traceback" not in done.stderr and "serving" not in done.stdout
