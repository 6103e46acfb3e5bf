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
    (lambda e: e.update(event_type="Not a type!"),
     "event 2 (seq 2) rejected: event_type 'Not a type!' is not a name like 'job_status'"),
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


def test_append_lines_stores_the_bytes_as_sent_and_skips_resent_ones(tmp_path: Path) -> None:
    events = events_of(tmp_path, filler=3 * INDEX_STRIDE)
    local = (tmp_path / "local" / "gs1" / "event_storage.log").read_bytes()
    lines = local.splitlines(keepends=True)
    store = GridSearchStore(tmp_path / "store" / "gs1", "gs1")
    for start in range(0, len(lines), 700):  # each batch resends the last 50 lines of the one before
        result = store.append_lines(b"".join(lines[max(0, start - 50):start + 700]))
        assert (result.error, result.first_seq, result.count) == (None, start, min(700, len(lines) - start))
    assert result.acked_seq == len(events) - 1
    assert store.log_path.read_bytes() == local
    assert GridSearchStore(tmp_path / "store" / "gs1", "gs1").index_path.read_bytes() == \
        store.index_path.read_bytes()  # the index written while appending is the one rebuilt from the log
    assert [json.loads(line)["seq"] for line in store.iter_lines(2 * INDEX_STRIDE + 3, limit=2)] == \
        [2 * INDEX_STRIDE + 3, 2 * INDEX_STRIDE + 4]


@pytest.mark.parametrize(("line", "reason"), [
    (b'{"seq": 2,', "not a JSON line"),
    (b'\xff{"seq": 2}', "not a JSON line"),
    (b"[]", "event is not a JSON object"),
    (b'{"seq": 2}', "missing keys: event_type, creation_ts, grid_search_id, experiment_id, payload"),
], ids=["torn", "not-utf8", "array", "missing-keys"])
def test_append_lines_rejects_a_bad_line_and_keeps_the_prefix(tmp_path: Path, line: bytes, reason: str) -> None:
    events_of(tmp_path)
    lines = (tmp_path / "local" / "gs1" / "event_storage.log").read_bytes().splitlines(keepends=True)[:5]
    lines[2] = line + b"\n"
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    result = store.append_lines(b"".join(lines))
    assert result.error is not None and result.error.split(" rejected: ")[1].startswith(reason)
    assert store.log_path.read_bytes() == b"".join(lines[:2])


def test_append_lines_keeps_what_only_the_standard_library_parses(tmp_path: Path) -> None:
    """NaN (the gym's log writes it for a diverged loss) is not strict JSON: orjson refuses it, json takes it."""
    events = events_of(tmp_path)
    scored = next(i for i, e in enumerate(events) if e["event_type"] == "evaluation_result")
    events = events[:scored + 1]
    events[-1]["payload"]["loss_scores"][0]["score"] = float("nan")
    data = b"".join(encode(e) for e in events[:-1]) + encode(events[-1]).replace(b'"payload"', b' "payload" ')
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    assert store.append_lines(data).acked_seq == scored
    assert store.log_path.read_bytes() == data


def _variants(event: dict) -> list[object]:
    """An event changed in every way `validate_envelope` cares about (and some it does not)."""
    out: list[object] = [[event], "x", None, 3]
    for key in event:
        out.append({k: v for k, v in event.items() if k != key})
        for value in (None, True, False, 0, -1, 1.5, "", "x", "../x", "gs1", "a" * 200, [], {}, 2 ** 70,
                      "experiment_status", float("nan"), [1], {"a": 1}):
            out.append({**event, key: value})
    out.append({**event, "extra": 1})
    return out


def _payload_variants(event: dict) -> list[dict]:
    """The event with each payload field removed or changed in type."""
    out = []
    for key in event["payload"]:
        out.append({**event, "payload": {k: v for k, v in event["payload"].items() if k != key}})
        for value in (None, True, 0, -1, 1.5, "x", [], {}, [{"x": 1}]):
            out.append({**event, "payload": {**event["payload"], key: value}})
    return out


@pytest.mark.parametrize("which", ["experiment_config", "job_status", "evaluation_result", "checkpoint"])
def test_the_fast_check_agrees_with_the_full_validation(tmp_path: Path, which: str) -> None:
    event = next(e for e in events_of(tmp_path) if e["event_type"] == which)
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    variants = [v for v in _variants(event) + _payload_variants(event) if isinstance(v, dict)]
    verdicts = []
    for v in variants:
        try:
            line = json.dumps(v, allow_nan=True).encode()
        except (TypeError, ValueError):
            continue
        verdicts.append((v, store.surely_valid_line(line), store._why_invalid(json.loads(line)) is None))
    # the fast path may send a valid event to the full validation (NaN), never accept an invalid one
    assert [v for v, fast, full in verdicts if fast and not full] == []
    assert [v for v, fast, full in verdicts if full and not fast and "NaN" not in json.dumps(v)] == []
    assert 10 < sum(fast for _, fast, _ in verdicts) < len(verdicts) - 10  # both verdicts really occur


@pytest.mark.parametrize(("change", "reason"), [
    ({"event_type": "evaluation_result", "payload": {"epoch": "3", "split": "val"}},
     "evaluation_result payload: Expected `int`, got `str` - at `$.epoch`"),
    ({"event_type": "job_status", "payload": {"status": "exploded", "device": None, "worker": None, "pid": None,
                                              "attempt": 0}},
     "job_status payload: Invalid enum value 'exploded' - at `$.status`"),
    ({"event_type": "checkpoint", "payload": {"action": "saved", "epoch": 1}},
     "checkpoint payload: Object missing required field `path`"),
    ({"schema_version": 3},
     "the event was written with event schema 3, newer than the 2 this version reads: upgrade mlgym (and ml_board) "
     "to read it"),
])
def test_a_payload_that_breaks_the_contract_is_refused_with_its_reason(tmp_path: Path, change: dict,
                                                                       reason: str) -> None:
    events = events_of(tmp_path)[:3]
    bad = {**events[2], **change}
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    result = store.append_lines(b"".join(encode(e) for e in (*events[:2], bad)))
    assert result.acked_seq == 1
    assert result.error == f"event 2 (seq 2) rejected: {reason}"


def test_an_event_type_this_board_does_not_know_is_stored_and_passed_on(tmp_path: Path) -> None:
    events = events_of(tmp_path)[:3]
    newer = {**events[2], "event_type": "bracket_opened", "payload": {"bracket": 1}}
    store = GridSearchStore(tmp_path / "gs1", "gs1")
    data = b"".join(encode(e) for e in (*events[:2], newer))
    assert store.append_lines(data).acked_seq == 2
    assert store.log_path.read_bytes() == data


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
