"""A full disk under the board (issue 17): the sender is told why, once; the store stays a clean, indexed prefix of
the log; `/api/health` says so; and once there is room again the resend completes the store byte for byte.

The event storage lives on a real 2 MiB tmpfs (mounting needs root, which these tests have; elsewhere they are
skipped with the reason). A failure between the log write and the index write is injected by pointing the index
at /dev/full, which answers every write with ENOSPC.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import SyncError, sync
from ml_board.store import INDEX_STRIDE, GridSearchStore
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess, append_filler, write_sample_run

GS = "2026-12-04--10-00-00-full"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small_disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_answered_with_its_cause_and_the_resend_completes_after(small_disk: Path,
                                                                               tmp_path: Path) -> None:
    log = write_sample_run(tmp_path / "local", GS, finish=False)
    append_filler(log, 12_000)  # ~3 MB: more than the disk holds
    log.close()
    local = (tmp_path / "local" / GS / "event_storage.log").read_bytes()
    assert len(local) > 2 * 1024 * 1024
    storage = small_disk / "store"
    with BoardProcess(storage) as board:
        api = ApiClient(board.url)
        with pytest.raises(SyncError) as failed:
            sync(tmp_path / "local", GS, board.url, timeout=8)
        cause = f"no space left on device at {storage.resolve()}"
        assert str(failed.value).endswith(f": {cause}")
        health = api.get("/api/health").json()
        assert (health["status"], health["storage"]["error"]) == ("storage_failing", cause)
        # the sender came back after the time it was told, not in a storm of reconnections
        assert 2 <= health["storage"]["failed_writes"] <= 20
        stored = (storage / GS / "event_storage.log").read_bytes()
        acked = api.get(f"/api/grid_searches/{GS}").json()["last_seq"]
        assert local.startswith(stored) and stored.endswith(b"\n")  # a clean prefix: whole lines only
        assert stored.count(b"\n") == acked + 1
        assert (storage / GS / "event_storage.idx").stat().st_size == 8 * (-(-(acked + 1) // INDEX_STRIDE))

        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        assert sync(tmp_path / "local", GS, board.url, timeout=60) == local.count(b"\n") - 1
        assert (storage / GS / "event_storage.log").read_bytes() == local
        assert api.get("/api/health").json()["status"] == "ok"
    board_log = board.log.read_text()
    assert board_log.count(cause) == 1, board_log[-3000:]  # said once, not per batch
    assert "Traceback" not in board_log


def test_a_failed_index_write_leaves_neither_duplicate_nor_unindexed_lines(tmp_path: Path) -> None:
    log = write_sample_run(tmp_path / "local", GS)
    append_filler(log, 3 * INDEX_STRIDE)
    log.close()
    events = list(read_events(tmp_path / "local" / GS / "event_storage.log"))
    store = GridSearchStore(tmp_path / "store" / GS, GS)
    assert store.append(events[:100]).acked_seq == 99
    log_before, index_before = store.log_path.read_bytes(), store.index_path.read_bytes()
    store._open_for_append()
    index_fd = store._index_fd
    store._index_fd = os.open("/dev/full", os.O_WRONLY)  # the log write succeeds, the index write fails
    try:
        with pytest.raises(OSError):
            store.append(events[:2 * INDEX_STRIDE])  # crosses an index stride: writes both files
    finally:
        os.close(store._index_fd)
        store._index_fd = index_fd
    assert store.acked_seq == 99
    assert (store.log_path.read_bytes(), store.index_path.read_bytes()) == (log_before, index_before)
    assert store.append(events).acked_seq == len(events) - 1  # the resend: no duplicate, no gap
    store.close()
    reopened = GridSearchStore(tmp_path / "store" / GS, GS)  # and a restart finds the same store, fully indexed
    assert reopened.acked_seq == len(events) - 1
    assert [line for line in reopened.iter_lines(2 * INDEX_STRIDE + 5, limit=1)] == \
        [(tmp_path / "local" / GS / "event_storage.log").read_bytes().splitlines(keepends=True)[2 * INDEX_STRIDE + 5]]
    reopened.close()
