"""The event store on real files: contiguity, duplicates, gaps, bad events, the index, torn lines."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_board.store import INDEX_STRIDE, EventStore, GridSearchStore
from mlgym.events.event_log import encode, read_events
from tests.ml_board.board_process import append_filler, write_sample_run


def events_of(tmp_path: Path, gs: str = "gs1", filler: int = 0) -> list[dict]:
    log = write_sample_run(tmp_path / "local", gs)
    append_filler(log, filler)
    log.close()
    return list(read_events(log.path))


def test_append_stores_the_local_log_byte_for_byte(tmp_path: Path) -> None:
    events = events_of(tmp_path)
    store = GridSearchStore(tmp_path / "store" / "gs1", "gs1")
    result = store.append(events)
    assert result.acked_seq == len(events) - 1
    assert store.log_path.read_bytes() == (tmp_path / "local" / "gs1" / "event_storage.log").read_bytes()


def test_raw_text_is_stored_as_sent(tmp_path: Path) -> None:
    events = events_of(tmp_path)[:3]
    raw = [json.dumps(e) for e in events]  # spaces after separators: not the canonical encoding
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    store.append(events, raw)
    assert store.log_path.read_text().splitlines() == raw


def test_duplicates_are_ignored_and_a_gap_stops_the_batch(tmp_path: Path) -> None:
    events = events_of(tmp_path)
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    assert store.append(events[:5]).acked_seq == 4
    assert store.append(events[2:8]).acked_seq == 7  # 2..4 again, 5..7 new
    result = store.append(events[10:12])  # a gap: 8 and 9 missing
    assert (result.acked_seq, result.lines) == (7, [])
    assert [e["seq"] for e in read_events(store.log_path)] == list(range(8))


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda e: e.pop("payload"), "event 2 (seq 2) rejected: missing keys: payload"),
    (lambda e: e.update(event_type="nope"), "event 2 (seq 2) rejected: unknown event_type 'nope'"),
    (lambda e: e.update(experiment_id="../x"), "event 2 (seq 2) rejected: experiment_id must be null or match"),
    (lambda e: e.update(grid_search_id="other"), "event 2 (seq 2) rejected: grid_search_id 'other' is not 'gs1'"),
    (lambda e: e.update(seq=-1), "event 2 (seq -1) rejected: seq must be a non-negative integer"),
], ids=["missing-payload", "unknown-type", "bad-experiment-id", "other-grid-search", "negative-seq"])
def test_a_malformed_event_is_rejected_with_a_reason_and_never_written(tmp_path: Path, mutate, reason) -> None:
    events = events_of(tmp_path)[:5]
    mutate(events[2])
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    result = store.append(events)
    assert result.error is not None and result.error.startswith(reason)
    assert result.acked_seq == 1  # the valid prefix is stored, nothing from the bad event on
    assert [e["seq"] for e in read_events(store.log_path)] == [0, 1]


def test_reading_from_any_seq_uses_the_index(tmp_path: Path) -> None:
    events = events_of(tmp_path, filler=3 * INDEX_STRIDE)
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    for start in range(0, len(events), 777):  # batches that straddle index entries
        store.append(events[start:start + 777])
    assert len(store.index_path.read_bytes()) == 8 * (-(-len(events) // INDEX_STRIDE))
    for seq in (0, 1, INDEX_STRIDE - 1, INDEX_STRIDE, 2 * INDEX_STRIDE + 5, len(events) - 1):
        lines = list(store.iter_lines(seq, limit=3))
        assert [json.loads(line)["seq"] for line in lines] == list(range(seq, min(seq + 3, len(events))))
    assert b"".join(store.iter_chunks(INDEX_STRIDE + 3, chunk_size=1000)) == b"".join(
        encode(e) for e in events[INDEX_STRIDE + 3:])
    assert list(store.iter_lines(len(events))) == []


def test_a_torn_last_line_is_cut_on_open_and_the_next_append_is_valid(tmp_path: Path) -> None:
    events = events_of(tmp_path, filler=INDEX_STRIDE)
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    store.append(events[:-10])
    store.close()
    with open(store.log_path, "ab") as f:
        f.write(encode(events[-10])[:-20])  # a crash mid-write
    assert [e["seq"] for e in read_events(store.log_path)][-1] == len(events) - 11  # readers skip it
    reopened = GridSearchStore(tmp_path / "gs1", "gs1")
    assert reopened.acked_seq == len(events) - 11
    assert reopened.append(events[-12:]).acked_seq == len(events) - 1
    assert [e["seq"] for e in read_events(reopened.log_path)] == list(range(len(events)))


def test_a_missing_or_wrong_index_is_rebuilt(tmp_path: Path) -> None:
    events = events_of(tmp_path, filler=2 * INDEX_STRIDE)
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    store.append(events)
    store.close()
    good_index = store.index_path.read_bytes()
    store.index_path.write_bytes(b"\x07" * len(good_index))
    assert GridSearchStore(tmp_path / "gs1", "gs1").index_path.read_bytes() == good_index
    store.index_path.unlink()
    reopened = GridSearchStore(tmp_path / "gs1", "gs1")
    assert reopened.index_path.read_bytes() == good_index
    assert json.loads(next(reopened.iter_lines(2 * INDEX_STRIDE + 1)))["seq"] == 2 * INDEX_STRIDE + 1


@pytest.mark.parametrize("bad_id", ["..", "a/b", "", "x" * 200, "a b"])
def test_event_store_refuses_ids_that_could_leave_the_root(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(ValueError, match=r"must match \[A-Za-z0-9._-\]\+"):
        EventStore(tmp_path).get(bad_id, create=True)


def test_event_store_lists_only_grid_searches_with_events(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.get("empty", create=True)
    store.get("full", create=True).append(events_of(tmp_path, gs="full")[:1])
    assert store.grid_search_ids() == ["full"]
