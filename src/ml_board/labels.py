"""The board's own log of label edits: `<storage>/<grid_search_id>/labels.log`, one JSON line per edit.

A grid search's labels are its run config's (`grid_search_started.run_config.labels`), each field overridden by the
latest edit that set it (null puts it back to the run config's). The gym's event log is never touched: the edits
live beside it, appended with one `write` and fsync'd before the request is answered, so they survive a restart.
A torn last line (a crash mid-write) is skipped when read. The folded edits of each grid search stay in memory.
The same log keeps whether the grid search is archived (hidden from the list unless asked for), a board-only flag.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from mlgym.events.labels import FIELDS, run_config_labels

LABELS_FILE_NAME = "labels.log"
BOARD_FIELDS = (*FIELDS, "archived")


class LabelEdits:
    """The label edits of every grid search under a storage root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._overrides: dict[str, dict[str, Any]] = {}  # grid search -> field -> latest edited value
        self._lock = threading.Lock()

    def _load(self, grid_search_id: str) -> dict[str, Any]:
        overrides = self._overrides.get(grid_search_id)
        if overrides is None:
            overrides = {}
            path = self.root / grid_search_id / LABELS_FILE_NAME
            if path.exists():
                data = path.read_bytes()
                if not data.endswith(b"\n"):  # a torn last line: cut, so the next edit starts a line of its own
                    os.truncate(path, data.rfind(b"\n") + 1)
                for line in data.split(b"\n"):
                    try:
                        edit = json.loads(line)
                    except ValueError:
                        continue  # the empty tail, or a torn last line
                    if isinstance(edit, dict):
                        _fold(overrides, edit.get("set"))
            self._overrides[grid_search_id] = overrides
        return overrides

    def current(self, grid_search_id: str, run_config: Any) -> dict[str, Any]:
        """`{name, tags, note}`: the run config's labels with the edits applied."""
        return self.over(grid_search_id, run_config_labels(run_config))

    def over(self, grid_search_id: str, base: dict[str, Any]) -> dict[str, Any]:
        """`{name, tags, note}`: `base` (the run config's labels) with the edits applied."""
        with self._lock:
            overrides = {k: v for k, v in self._load(grid_search_id).items() if k in FIELDS}
        return {**base, **overrides}

    def archived(self, grid_search_id: str) -> bool:
        with self._lock:
            return bool(self._load(grid_search_id).get("archived", False))

    def forget(self, grid_search_id: str) -> None:
        """Drop what is cached of a grid search (its folder was deleted)."""
        with self._lock:
            self._overrides.pop(grid_search_id, None)

    def edit(self, grid_search_id: str, changes: dict[str, Any]) -> None:
        """Append one edit (valid, normalized `changes`: a field set to None goes back to the run config's)."""
        line = json.dumps({"ts": time.time(), "set": changes}, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            overrides = self._load(grid_search_id)
            folder = self.root / grid_search_id
            fd = os.open(folder / LABELS_FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            _fold(overrides, changes)


def _fold(overrides: dict[str, Any], changes: Any) -> None:
    if not isinstance(changes, dict):
        return
    for key, value in changes.items():
        if key not in BOARD_FIELDS:
            continue
        if value is None:
            overrides.pop(key, None)
        else:
            overrides[key] = value


def matches(row: dict[str, Any], query: str | None, tags: list[str]) -> bool:
    """Whether a grid search row (with its labels) matches the text `query` (in the id, name, note or a tag) and
    carries every tag of `tags`; all case-insensitive."""
    row_tags = [t.lower() for t in row.get("tags") or []]
    if any(tag.lower() not in row_tags for tag in tags):
        return False
    if not query:
        return True
    q = query.lower()
    return any(q in (text or "").lower() for text in (row["grid_search_id"], row.get("name"), row.get("note"))) \
        or any(q in tag for tag in row_tags)
