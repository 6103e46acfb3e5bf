"""`project_log`: a report's read model from the snapshot beside the log plus the events after it equals a replay
of the whole log; a snapshot that no longer matches the log (grown, replaced, torn) is not trusted."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlgym.events.event_log import EventLog, read_events
from mlgym.events.results import project, results_json
from mlgym.events.snapshot import SAVE_AFTER_EVENTS, SNAPSHOT_FILE_NAME, decode, project_log
from tests.ml_board.dashboard_helpers import grid_search_events, write_store

GS = "2026-12-04--10-00-00-snap"


def answers(projection) -> str:
    every = {"summary": projection.summary(), "experiments": projection.experiments(),
             "details": {eid: projection.experiment(eid) for eid in projection.views()},
             "results": results_json(projection)}
    return json.dumps(every, sort_keys=True, default=str)


def big_log(root: Path, lrs: int = 10, epochs: int = 50) -> Path:
    events = grid_search_events(lrs=tuple(0.001 * (i + 1) for i in range(lrs)),
                                batch_sizes=tuple(8 * (i + 1) for i in range(10)), num_epochs=epochs)
    assert write_store(root, GS, events) > SAVE_AFTER_EVENTS
    return root / GS / "event_storage.log"


def test_a_report_from_the_snapshot_equals_a_replay_and_follows_a_growing_log(tmp_path: Path) -> None:
    log = big_log(tmp_path)
    first = project_log(log, GS)
    assert answers(first) == answers(project(read_events(log), GS))
    snap, _ = decode((log.parent / SNAPSHOT_FILE_NAME).read_bytes())
    assert (snap.seq, snap.offset) == (first.last_seq, log.stat().st_size)
    assert answers(project_log(log, GS)) == answers(first)  # from the snapshot, nothing after it

    with EventLog(tmp_path, GS) as writer:  # the run goes on (warm start): new events after the snapshot
        writer.append("heartbeat", {"running": 0})
        writer.append("grid_search_finished", {"status": "done", "num_done": 100, "num_failed": 0, "duration_s": 1})
    grown = project_log(log, GS)
    assert grown.last_seq == first.last_seq + 2
    assert answers(grown) == answers(project(read_events(log), GS))


def test_a_snapshot_of_another_log_or_a_torn_one_is_not_trusted(tmp_path: Path) -> None:
    log = big_log(tmp_path / "a")
    project_log(log, GS)
    other = big_log(tmp_path / "b", lrs=11, epochs=49)  # same id, other events
    shutil.copyfile(log.parent / SNAPSHOT_FILE_NAME, other.parent / SNAPSHOT_FILE_NAME)
    assert answers(project_log(other, GS)) == answers(project(read_events(other), GS))

    snapshot = log.parent / SNAPSHOT_FILE_NAME
    snapshot.write_bytes(snapshot.read_bytes()[:1000])
    assert answers(project_log(log, GS)) == answers(project(read_events(log), GS))
