"""Read-model snapshots and the list index: a board that starts from them answers exactly what a replay of every
event from seq 0 answers, and one whose snapshot or index is torn, of another schema or of another log rebuilds
from the log instead of trusting it.

`Summaries` is driven in-process over a real `EventStore` holding real runs' logs; the restart tests start real
board processes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mlgym.events.event_log import LOG_FILE_NAME, read_events
from mlgym.events.projection import GridSearchProjection
from mlgym.events.results import project, results_json
from mlgym.events import snapshot as snapshots
from ml_board.list_index import INDEX_FILE_NAME
from ml_board.store import EventStore
from ml_board.summaries import Summaries
from tests.ml_board.api_client import ApiClient
from tests.ml_board.board_process import BoardProcess


def answers(projection: GridSearchProjection) -> str:
    """Everything the board serves from a read model, as one JSON text (NaN compares equal as text)."""
    every = {"info": projection.info(), "experiments": projection.experiments(),
             "details": {eid: projection.experiment(eid) for eid in projection.views()},
             "cv": {key: projection.cv_stats(key) for key in projection.score_keys()},
             "results": results_json(projection), "list_state": projection.list_state()}
    return json.dumps(every, sort_keys=True, default=str)


@pytest.fixture(scope="module")
def logs(real_logs: dict[str, Path], asha_search_log: Path) -> list[Path]:
    """Real runs: grid search, nested CV, cross-validation, regression, and a search with ASHA."""
    return [*real_logs.values(), asha_search_log]


def board_root(tmp_path: Path, log: Path) -> tuple[Path, str]:
    gs = log.parent.name
    (tmp_path / gs).mkdir(parents=True)
    shutil.copyfile(log, tmp_path / gs / LOG_FILE_NAME)
    return tmp_path, gs


def test_a_projection_from_its_snapshot_answers_like_a_replay_from_seq_0(tmp_path: Path, logs: list[Path]) -> None:
    for n, log in enumerate(logs):
        root, gs = tmp_path / str(n), log.parent.name
        replay = answers(project(read_events(log), gs))
        events = list(read_events(log))
        half = len(events) // 2
        # the board has stored half of the log when it stops (and snapshots), the rest arrives after its restart
        store = EventStore(root)
        assert store.get(gs, create=True).append(events[:half]).acked_seq == half - 1
        first = Summaries(store)
        first.projection(gs)
        first.close()
        assert (root / gs / snapshots.SNAPSHOT_FILE_NAME).exists()
        store.close()

        store = EventStore(root)
        store.get(gs).append(events)
        restarted = Summaries(store)
        projection = restarted.projection(gs)
        assert restarted._entries[gs].snapshot_seq == half - 1, log  # it started from the snapshot
        assert answers(projection) == replay, log
        store.close()


def _snapshotted(tmp_path: Path, log: Path) -> tuple[Path, str]:
    root, gs = board_root(tmp_path, log)
    store = EventStore(root)
    Summaries(store).projection(gs)
    summaries = Summaries(store)
    summaries.projection(gs)
    summaries.close()
    store.close()
    return root, gs


def _torn(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _other_schema(data: bytes) -> bytes:
    snap = msgspec.msgpack.decode(data)
    return msgspec.msgpack.encode({**snap, "schema": "0" * 16})


def _other_line(data: bytes) -> bytes:
    snap = msgspec.msgpack.decode(data)
    return msgspec.msgpack.encode({**snap, "line_sha1": "0" * 40})


def _beyond_the_log(data: bytes) -> bytes:
    snap = msgspec.msgpack.decode(data)
    return msgspec.msgpack.encode({**snap, "seq": snap["seq"] + 5})


@pytest.mark.parametrize("spoil", [_torn, _other_schema, _other_line, _beyond_the_log, lambda data: b""],
                         ids=["torn", "schema-bump", "another-log", "beyond-the-log", "empty"])
def test_a_spoilt_snapshot_is_rebuilt_from_the_log(tmp_path: Path, logs: list[Path], spoil: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    log = logs[0]
    root, gs = _snapshotted(tmp_path, log)
    path = root / gs / snapshots.SNAPSHOT_FILE_NAME
    path.write_bytes(spoil(path.read_bytes()))
    store = EventStore(root)
    summaries = Summaries(store)
    projection = summaries.projection(gs)
    assert summaries._entries[gs].snapshot_seq == -1  # not trusted: replayed from seq 0
    assert answers(projection) == answers(project(read_events(log), gs))
    assert f"rebuilding the read model of {gs} from its log" in caplog.text
    store.close()


def test_the_list_answers_from_the_index_without_building_read_models(tmp_path: Path, logs: list[Path]) -> None:
    root = tmp_path
    for log in logs:
        board_root(root, log)
    store = EventStore(root)
    expected = sorted(Summaries(store).rows(), key=lambda r: r[0]["grid_search_id"])
    first = Summaries(store)
    first.rows()
    first.close()
    assert (root / INDEX_FILE_NAME).exists()

    restarted = Summaries(EventStore(root))
    rows = sorted(restarted.rows(), key=lambda r: r[0]["grid_search_id"])
    assert rows == expected
    assert not any(entry.projection for entry in restarted._entries.values())  # no read model was built

    # a grown log is not answered from its old entry
    grown = logs[0].parent.name
    with open(root / grown / LOG_FILE_NAME, "rb") as f:
        *_, last = f
    event = json.loads(last)
    event = {**event, "seq": event["seq"] + 1, "event_type": "heartbeat", "experiment_id": None,
             "payload": {"running": 0}}
    assert EventStore(root).get(grown).append([event]).acked_seq == event["seq"]
    again = Summaries(EventStore(root))
    by_id = {r[0]["grid_search_id"]: r[0] for r in again.rows()}
    assert by_id[grown]["last_seq"] == event["seq"]
    assert [gs for gs, entry in again._entries.items() if entry.projection] == [grown]

    # a torn index is ignored: every row is rebuilt, and the same
    (root / INDEX_FILE_NAME).write_bytes((root / INDEX_FILE_NAME).read_bytes()[:100])
    rebuilt = Summaries(EventStore(root))
    assert {r[0]["grid_search_id"]: r[0] for r in rebuilt.rows()} == by_id


def test_a_restarted_board_serves_from_its_snapshots_what_it_served_before(tmp_path: Path,
                                                                            logs: list[Path]) -> None:
    root = tmp_path / "store"
    for log in logs:
        board_root(root, log)
    paths = [f"/api/grid_searches/{log.parent.name}{suffix}" for log in logs
             for suffix in ("", "/experiments", "/results")]
    with BoardProcess(root) as board:
        api = ApiClient(board.url)
        before = [api.get("/api/grid_searches").json()] + [api.get(p).json() for p in paths]
    assert all((root / log.parent.name / snapshots.SNAPSHOT_FILE_NAME).exists() for log in logs)
    with BoardProcess(root) as board:
        api = ApiClient(board.url)
        after = [api.get("/api/grid_searches").json()] + [api.get(p).json() for p in paths]
    assert after == before
