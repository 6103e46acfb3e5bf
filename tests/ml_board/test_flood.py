"""A flood of one grid search's status events delays nobody else (issue 17): a real board, one sender pushing
`job_status` events as fast as the board takes them, and a viewer of another grid search whose live events must
keep arriving within a second; list notifications of the busy grid search are coalesced (at most one per 0.5 s) and
carry its counts."""
from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import socketio

from mlgym.events.schema import Envelope
from tests.ml_board.board_process import BoardProcess, wait_until

BUSY = "2026-12-04--10-00-00-busy"
QUIET = "2026-12-04--10-00-00-quiet"
STARTED = {"strategy": "grid_search", "num_experiments": 100, "gs_config": {}, "gs_config_path": "gs.yml",
           "gs_config_sha256": "0" * 64, "run_config": {}, "validation_config": None, "sweep_paths": [],
           "environment": {}, "seed": 0, "num_epochs": 1, "selection": {"split": "val", "metric": None, "mode": None},
           "score_directions": {}}


def envelope(gs: str, seq: int, event_type: str, payload: dict, exp: str | None = None) -> dict:
    return Envelope(seq=seq, event_type=event_type, creation_ts=time.time(), grid_search_id=gs, experiment_id=exp,
                    payload=payload).to_dict()


def job_status(seq: int) -> dict:
    status = "running" if seq % 2 else "retrying"
    return envelope(BUSY, seq, "job_status", {"status": status, "device": "cpu", "worker": 0, "pid": 1,
                                             "attempt": 0}, f"e{seq % 100:03d}")


def test_a_flood_of_status_events_delays_no_other_viewer(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store") as board:
        flooder = socketio.Client(reconnection=False)
        flooder.connect(board.url, transports=["websocket"], wait_timeout=10)
        quiet_sender = socketio.Client(reconnection=False)
        quiet_sender.connect(board.url, transports=["websocket"], wait_timeout=10)
        viewer = socketio.Client(reconnection=False)
        lags: list[float] = []
        notices: list[dict] = []
        viewer.on("events", lambda data: lags.extend(time.time() - e["creation_ts"] for e in data["events"]))
        viewer.on("grid_searches_changed", notices.append)
        viewer.connect(board.url, transports=["websocket"], wait_timeout=10)
        try:
            quiet_sender.call("ingest", {"grid_search_id": QUIET, "token": None,
                                         "events": [envelope(QUIET, 0, "grid_search_started", STARTED)]}, timeout=30)
            assert viewer.call("join", {"grid_search_id": QUIET, "from_seq": 1}, timeout=30)["next_seq"] == 1
            flooder.call("ingest", {"grid_search_id": BUSY, "token": None,
                                    "events": [envelope(BUSY, 0, "grid_search_started", STARTED)]}, timeout=30)
            stop = threading.Event()
            sent = [1]

            def flood() -> None:
                while not stop.is_set():
                    first = sent[0]
                    batch = [job_status(seq) for seq in range(first, first + 2000)]
                    flooder.call("ingest", {"grid_search_id": BUSY, "events": batch, "token": None}, timeout=60)
                    sent[0] = first + len(batch)

            thread = threading.Thread(target=flood)
            start = time.time()
            thread.start()
            seq = 1
            while time.time() - start < 6:  # the quiet grid search: one event every 50 ms
                quiet_sender.emit("ingest", {"grid_search_id": QUIET, "token": None,
                                             "events": [envelope(QUIET, seq, "heartbeat", {"running": 0})]})
                seq += 1
                time.sleep(0.05)
            stop.set()
            thread.join(60)
            elapsed = time.time() - start
            wait_until(lambda: len(lags) == seq - 1, timeout=30, what="every quiet event at the viewer")
            wait_until(lambda: any(n["grid_search_id"] == BUSY and n.get("last_seq") == sent[0] - 1 for n in notices),
                       timeout=10, what="a notice with the busy grid search's final counts")
        finally:
            for client in (flooder, quiet_sender, viewer):
                client.disconnect()
    flooded = sent[0] / elapsed
    p99 = statistics.quantiles(lags, n=100)[98]
    busy = [n for n in notices if n["grid_search_id"] == BUSY]
    assert flooded > 2000, f"the flood was too slow to test anything: {flooded:.0f} events/s"
    assert p99 < 1.0, f"p99 lag {p99:.3f} s of the quiet viewer during a flood of {flooded:.0f} events/s"
    assert len(busy) <= elapsed / 0.5 + 3, f"{len(busy)} notices of the busy grid search in {elapsed:.1f} s"
    assert set(busy[-1]) == {"grid_search_id", "status", "num_experiments", "num_done", "num_running", "num_failed",
                             "last_seq"}
    assert busy[-1]["num_running"] == 100
