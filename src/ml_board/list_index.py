"""The board's list index: each grid search's list row inputs, persisted so the list answers after a restart without
building a single read model.

`<storage>/list.index` (msgpack) maps each grid search to its `GridSearchProjection.list_state()`, the labels its
run config sets, and the byte size of its log when that state was taken. An entry is trusted only while the log
still has exactly that size (the log only grows; a torn tail cut on recovery shrinks it) and the index was written
by this code's read model (`mlgym.events.snapshot.SCHEMA`); otherwise the grid search's projection is built (from its snapshot
and the events after it) and the entry replaced. The file is rewritten atomically, at most every `SAVE_EVERY_S`
seconds while it changes, and when the board stops.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from mlgym.events.snapshot import SCHEMA

INDEX_FILE_NAME = "list.index"
SAVE_EVERY_S = 10.0


class IndexEntry(msgspec.Struct):
    """One grid search's list inputs as of a log size."""

    size: int
    state: dict[str, Any]
    labels: dict[str, Any]


class _IndexFile(msgspec.Struct):
    schema: str
    entries: dict[str, IndexEntry]


class ListIndex:
    """The persisted list rows of every grid search under a storage root."""

    def __init__(self, root: Path) -> None:
        self.path = root / INDEX_FILE_NAME
        self._entries: dict[str, IndexEntry] | None = None
        self._dirty = False
        self._saved_at = 0.0
        self._lock = threading.Lock()

    def _load(self) -> dict[str, IndexEntry]:
        if self._entries is None:
            self._entries = {}
            try:
                index = msgspec.msgpack.decode(self.path.read_bytes(), type=_IndexFile)
                if index.schema == SCHEMA:
                    self._entries = index.entries
            except (OSError, msgspec.DecodeError, msgspec.ValidationError):
                pass  # missing, torn or of another layout: rebuilt as grid searches are listed
        return self._entries

    def fresh(self, grid_search_id: str, log_size: int) -> IndexEntry | None:
        """The entry of `grid_search_id` if it was taken at exactly `log_size` bytes of its log."""
        with self._lock:
            entry = self._load().get(grid_search_id)
        return entry if entry is not None and entry.size == log_size else None

    def put(self, grid_search_id: str, entry: IndexEntry) -> None:
        with self._lock:
            self._load()[grid_search_id] = entry
            self._dirty = True

    def drop(self, grid_search_id: str) -> None:
        with self._lock:
            if self._load().pop(grid_search_id, None) is not None:
                self._dirty = True

    def save(self, force: bool = False) -> None:
        """Write the index if it changed, and (unless `force`) if the last write is `SAVE_EVERY_S` old."""
        with self._lock:
            if not self._dirty or (not force and time.monotonic() - self._saved_at < SAVE_EVERY_S):
                return
            data = msgspec.msgpack.encode(_IndexFile(SCHEMA, dict(self._load())))
            self._dirty = False
            self._saved_at = time.monotonic()
        tmp = self.path.with_name(f".{INDEX_FILE_NAME}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self.path)
