"""Per grid search read models (`GridSearchProjection`), advanced incrementally from the store.

A projection is built the first time someone asks for it, from its snapshot (mlgym/events/snapshot.py) and the events
stored after it, and from then on only applies the events stored since its last use, so a request never re-reads
the whole log and ingest pays nothing for summaries nobody looks at. A projection that has taken in
`SNAPSHOT_EVENTS` events since its last snapshot is snapshotted again (at most every `SNAPSHOT_EVERY_S` seconds),
and every one with new events when the board stops. The list answers from the list index (ml_board/list_index.py)
for every grid search whose log has not grown since its entry was taken.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from mlgym.events import snapshot as snapshots
from mlgym.events.event_log import LOG_FILE_NAME
from mlgym.events.labels import run_config_labels
from mlgym.events.projection import GridSearchProjection, list_summary
from mlgym.events.replay import apply_line

from ml_board.list_index import IndexEntry, ListIndex
from ml_board.store import EventStore, GridSearchStore

logger = logging.getLogger(__name__)

SNAPSHOT_EVENTS = 10_000
SNAPSHOT_EVERY_S = 30.0


class _Entry:
    def __init__(self) -> None:
        self.projection: GridSearchProjection | None = None
        self.applied_seq = -1
        self.snapshot_seq = -1
        self.snapshot_at = -float("inf")
        self.indexed_seq = -1
        self.lock = threading.Lock()


class Summaries:
    """The projections of every grid search in an `EventStore`, each caught up on access."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.index = ListIndex(store.root)
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def projection(self, grid_search_id: str) -> GridSearchProjection | None:
        """The projection of `grid_search_id` with every stored event applied; None if it has none."""
        gs_store = self.store.get(grid_search_id)
        if gs_store is None or gs_store.acked_seq < 0:
            return None
        with self._lock:
            entry = self._entries.get(grid_search_id)
            if entry is None:
                entry = self._entries[grid_search_id] = _Entry()
        with entry.lock:
            if entry.projection is None:
                self._start(entry, gs_store)
            if entry.applied_seq < gs_store.acked_seq:
                seq = entry.applied_seq
                for line in gs_store.iter_lines(entry.applied_seq + 1):
                    applied = apply_line(entry.projection, line, seq)  # typed evaluation_result lines: fast
                    seq = seq if applied is None else applied
                entry.applied_seq = seq
            if (entry.applied_seq - entry.snapshot_seq >= SNAPSHOT_EVENTS
                    and time.monotonic() - entry.snapshot_at >= SNAPSHOT_EVERY_S):
                self._snapshot(entry, gs_store)
            if entry.indexed_seq != entry.applied_seq:
                self._index(grid_search_id, entry, gs_store)
            return entry.projection

    def _start(self, entry: _Entry, gs_store: GridSearchStore) -> None:
        """Begin from the snapshot when it still matches the log; else from an empty projection."""
        entry.projection, entry.applied_seq = GridSearchProjection(gs_store.grid_search_id), -1
        data = snapshots.read(gs_store.folder)
        if data is None:
            return
        try:
            snap, projection = snapshots.decode(data)
        except ValueError as exc:
            logger.warning("rebuilding the read model of %s from its log: %s", gs_store.grid_search_id, exc)
            return
        stored = gs_store.line_at(snap.seq)
        if stored is None or stored[1] != snap.offset or snapshots.line_sha1(stored[0]) != snap.line_sha1:
            logger.warning("rebuilding the read model of %s from its log: its snapshot (seq %d) does not match the "
                           "log", gs_store.grid_search_id, snap.seq)
            return
        entry.projection, entry.applied_seq = projection, snap.seq
        entry.snapshot_seq = snap.seq

    def _snapshot(self, entry: _Entry, gs_store: GridSearchStore) -> None:
        stored = gs_store.line_at(entry.applied_seq)
        if stored is None:
            return
        try:
            snapshots.write(gs_store.folder, snapshots.encode(entry.projection, entry.applied_seq, stored[1],
                                                              stored[0]))
        except (OSError, NotImplementedError) as exc:  # a full disk, or state the format cannot hold: replay
            logger.warning("cannot snapshot the read model of %s: %s", gs_store.grid_search_id, exc)
            return
        entry.snapshot_seq, entry.snapshot_at = entry.applied_seq, time.monotonic()

    def _index(self, grid_search_id: str, entry: _Entry, gs_store: GridSearchStore) -> None:
        stored = gs_store.line_at(entry.applied_seq)
        if stored is None:
            return
        projection = entry.projection
        self.index.put(grid_search_id, IndexEntry(stored[1], projection.list_state(),
                                                  run_config_labels(projection.started.get("run_config"))))
        entry.indexed_seq = entry.applied_seq

    def rows(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(summary, the labels its run config sets) of every grid search with stored events."""
        rows = []
        now = time.time()
        for gs in self.store.grid_search_ids():
            with self._lock:
                entry = self._entries.get(gs)
            if entry is None or entry.projection is None:
                try:
                    size = (self.store.root / gs / LOG_FILE_NAME).stat().st_size
                except FileNotFoundError:
                    continue
                cached = self.index.fresh(gs, size)
                if cached is not None:
                    rows.append((list_summary(gs, cached.state, now), cached.labels))
                    continue
            projection = self.projection(gs)
            if projection is not None:
                rows.append((projection.summary(), run_config_labels(projection.started.get("run_config"))))
        self.index.save()
        return rows

    def forget(self, grid_search_id: str) -> None:
        """Drop the projection of a deleted grid search."""
        with self._lock:
            self._entries.pop(grid_search_id, None)
        self.index.drop(grid_search_id)

    def close(self) -> None:
        """Snapshot every projection with events its snapshot lacks, and save the list index (the board stops)."""
        with self._lock:
            entries = list(self._entries.items())
        for gs, entry in entries:
            gs_store = self.store.get(gs)
            with entry.lock:
                if gs_store is not None and entry.projection is not None and entry.applied_seq > entry.snapshot_seq:
                    self._snapshot(entry, gs_store)
        self.index.save(force=True)

    def summary(self, grid_search_id: str) -> dict[str, Any] | None:
        projection = self.projection(grid_search_id)
        return None if projection is None else projection.summary()
