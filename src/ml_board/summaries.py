"""Per grid search read models (`GridSearchProjection`), advanced incrementally from the store.

A projection is built the first time someone asks for it and from then on only applies the events stored since
its last use, so a request never re-reads the whole log and ingest pays nothing for summaries nobody looks at.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from mlgym.events.projection import GridSearchProjection

from ml_board.store import EventStore


class _Entry:
    def __init__(self, grid_search_id: str) -> None:
        self.projection = GridSearchProjection(grid_search_id)
        self.applied_seq = -1
        self.lock = threading.Lock()


class Summaries:
    """The projections of every grid search in an `EventStore`, each caught up on access."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
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
                entry = self._entries[grid_search_id] = _Entry(grid_search_id)
        with entry.lock:
            if entry.applied_seq < gs_store.acked_seq:
                apply = entry.projection.apply
                seq = entry.applied_seq
                for line in gs_store.iter_lines(entry.applied_seq + 1):
                    event = json.loads(line)
                    apply(event)
                    seq = event["seq"]
                entry.applied_seq = seq
            return entry.projection

    def forget(self, grid_search_id: str) -> None:
        """Drop the projection of a deleted grid search."""
        with self._lock:
            self._entries.pop(grid_search_id, None)

    def summary(self, grid_search_id: str) -> dict[str, Any] | None:
        projection = self.projection(grid_search_id)
        return None if projection is None else projection.summary()
