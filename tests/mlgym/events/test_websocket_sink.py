"""The gym side of replication: WebsocketSink and sync against a real board process."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from mlgym.events.websocket_sink import SyncError, WebsocketSink, _LogTail, sync
from tests.ml_board.board_process import BoardProcess, append_filler, free_port, wait_until, write_sample_run


def test_stop_ships_everything_and_reports_success(tmp_path: Path) -> None:
    log = write_sample_run(tmp_path / "local", "gs1")
    append_filler(log, 12_000)
    with BoardProcess(tmp_path / "store") as board:
        sink = WebsocketSink(log.path, board.url, batch_size=1000).start()
        assert sink.stop(timeout=60) is True
        assert sink.acked_seq == log.next_seq - 1
        assert (tmp_path / "store" / "gs1" / "event_storage.log").read_bytes() == log.path.read_bytes()


def test_lines_are_stored_exactly_as_written_in_the_local_log(tmp_path: Path) -> None:
    """The sink ships raw lines: spacing, key order, NaN and escapes survive, nothing is re-encoded (an event type the board does not know passes through)."""
    path = tmp_path / "local" / "odd" / "event_storage.log"
    path.parent.mkdir(parents=True)
    base = '"event_type": "custom_note", "creation_ts": 1.5, "grid_search_id": "odd"'
    lines = [
        '{"seq": 0, ' + base + ', "experiment_id": null, "payload": {"loss": NaN}}',
        '{"payload":{"note":"caf\\u00e9 \\n tab\\t"},"seq":1,"experiment_id":"e1",' + base.replace(" ", "") + '}',
        '{ "seq" : 2 , ' + base + ', "experiment_id": "e1", "payload": {"big": 1e308, "deep": [[[]]]} }\r',
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode())
    with BoardProcess(tmp_path / "store") as board:
        sink = WebsocketSink(path, board.url).start()
        assert sink.stop(timeout=60) is True
        assert (tmp_path / "store" / "odd" / "event_storage.log").read_bytes() == path.read_bytes()


def test_an_event_logged_just_before_stop_is_shipped(tmp_path: Path) -> None:
    """stop() right after the last append, while the sink polls a caught-up log (a race the sink once lost)."""
    log = write_sample_run(tmp_path / "local", "gs1", finish=False)
    with BoardProcess(tmp_path / "store") as board:
        for _ in range(30):
            sink = WebsocketSink(log.path, board.url)
            sink.poll_interval = 0.0  # re-read the log at once: the sink is almost always between read and check
            sink.start()
            wait_until(lambda: sink.acked_seq == log.next_seq - 1, what="the sink to catch up")
            append_filler(log, 1)
            assert sink.stop(timeout=30) is True
            assert sink.acked_seq == log.next_seq - 1


def test_stop_returns_false_when_the_board_is_unreachable_and_never_blocks_training(tmp_path: Path) -> None:
    log = write_sample_run(tmp_path, "gs1")
    sink = WebsocketSink(log.path, f"http://127.0.0.1:{free_port()}").start()
    started = time.monotonic()
    append_filler(log, 2000)  # the training thread is not held up by a dead board
    assert time.monotonic() - started < 5
    assert sink.stop(timeout=0.5) is False
    assert sink.acked_seq == -1


def test_sync_pushes_an_offline_log_and_is_idempotent(tmp_path: Path) -> None:
    log = write_sample_run(tmp_path / "local", "offline")
    append_filler(log, 3000)
    with BoardProcess(tmp_path / "store") as board:
        assert sync(tmp_path / "local", "offline", board.url) == log.next_seq - 1
        assert sync(tmp_path / "local", "offline", board.url) == log.next_seq - 1
        stored = [e["seq"] for e in read_events(tmp_path / "store" / "offline" / "event_storage.log")]
        assert stored == list(range(log.next_seq))


def test_sync_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SyncError, match="no event log at .*missing/event_storage.log"):
        sync(tmp_path, "missing", "http://127.0.0.1:1")
    write_sample_run(tmp_path, "gs1").close()
    with pytest.raises(SyncError, match=r"acknowledged events up to seq -1 of \d+; is it running"):
        sync(tmp_path, "gs1", f"http://127.0.0.1:{free_port()}", timeout=0.5)


def test_sink_waits_for_a_log_that_does_not_exist_yet(tmp_path: Path) -> None:
    with BoardProcess(tmp_path / "store") as board:
        path = tmp_path / "local" / "late" / "event_storage.log"
        sink = WebsocketSink(path, board.url).start()
        time.sleep(0.3)
        log = write_sample_run(tmp_path / "local", "late")
        wait_until(lambda: sink.acked_seq == log.next_seq - 1, what="the late log to be shipped")
        assert sink.stop(timeout=10) is True


def test_log_tail_reads_complete_lines_only_and_seeks_by_seq(tmp_path: Path) -> None:
    log = write_sample_run(tmp_path, "gs1")
    append_filler(log, 100)
    with open(log.path, "ab") as f:
        f.write(b'{"seq":')  # a torn line being written
    tail = _LogTail(log.path)
    tail.seek(50)
    first, count, lines = tail.read(10)
    assert (first, count) == (50, 10)
    assert [e["seq"] for e in (__import__("json").loads(x) for x in lines.splitlines())] == list(range(50, 60))
    tail.advance(count, len(lines))
    assert tail.end_seq() == log.next_seq - 1
    first, count, _ = tail.read(10_000)
    assert first + count == log.next_seq
    tail.seek(3)
    assert tail.read(1)[0] == 3


@pytest.mark.parametrize("max_bytes", [100, 4096, 1 << 20], ids=["lines-longer-than-max", "small", "large"])
def test_log_tail_batches_cover_the_log_exactly_whatever_the_line_lengths(tmp_path: Path, max_bytes: int) -> None:
    lengths = [0, 5, 3000, 70_000, 10, 10, 200_000, 1] * 6
    lines = [b'{"seq":%d,"x":"%s"}\n' % (seq, b"a" * n) for seq, n in enumerate(lengths)]
    path = tmp_path / "event_storage.log"
    path.write_bytes(b"".join(lines) + b'{"seq":')
    tail, shipped = _LogTail(path), []
    for max_lines in [1, 7, 3, 100] * 100:
        first, count, block = tail.read(max_lines, max_bytes=max_bytes)
        if count == 0:
            break
        assert first == len(shipped) and 1 <= count <= max_lines and block.count(b"\n") == count
        assert len(block) <= max_bytes or count == 1  # only a single line may exceed max_bytes
        shipped.extend(block.splitlines(keepends=True))
        tail.advance(count, len(block))
    assert shipped == lines
