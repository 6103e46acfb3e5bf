"""MLboard's event store: one append-only JSON-lines log per grid search, plus a sparse seq -> offset index.

Layout: `<root>/<grid_search_id>/event_storage.log` holds the very lines of the gym's local log, seq 0, 1, 2, …
with no gap, so line k is the event with seq k. `event_storage.idx` holds the byte offset of every
`INDEX_STRIDE`-th seq as little-endian uint64, so reading from any seq seeks and skips fewer than `INDEX_STRIDE`
lines. A batch is written with one `write` call; readers only read up to the size committed before they started,
and on open a torn last line (a crash mid-write) is cut off, so the next append is valid again.
"""
from __future__ import annotations

import gc
import json
import os
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from mlgym.events.event_log import LOG_FILE_NAME
from mlgym.events.schema import EVENT_TYPES, is_valid_id, validate_envelope

INDEX_FILE_NAME = "event_storage.idx"
INDEX_STRIDE = 1024
READ_CHUNK = 1024 * 1024

_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=True, default=str)
_MAX_KNOWN_EXPERIMENT_IDS = 100_000


@dataclass
class AppendResult:
    """What one `append` did: the new acked seq, the stored bytes (`count` complete lines), any refusal."""

    acked_seq: int
    first_seq: int = 0
    data: bytes = b""
    count: int = 0
    event_types: set[str] = field(default_factory=set)
    error: str | None = None
    created: bool = False

    @property
    def lines(self) -> list[bytes]:
        """The stored lines, each ending in a newline."""
        return [line + b"\n" for line in self.data.split(b"\n")[:-1]]


class _Unparseable:
    """Stands for a line that is not JSON, so the append loop rejects it like any other malformed event."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def parse_line(line: bytes) -> Any:
    """One JSON line -> its value (orjson, or the standard library for what orjson refuses, such as NaN)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _Unparseable(f"not a JSON line: {exc}")


class GridSearchStore:
    """The stored events of one grid search; appends are serialized, reads run concurrently from disk."""

    def __init__(self, folder: Path, grid_search_id: str) -> None:
        self.grid_search_id = grid_search_id
        self.folder = folder
        self.log_path = folder / LOG_FILE_NAME
        self.index_path = folder / INDEX_FILE_NAME
        self.lock = threading.Lock()
        self.next_seq = 0
        self.size = 0
        self._offsets = array("Q")
        self._fd = -1
        self._index_fd = -1
        self._id_is_valid = is_valid_id(grid_search_id)
        self._known_experiment_ids: set[str] = set()
        if self.log_path.exists():
            self._recover()

    @property
    def acked_seq(self) -> int:
        """The highest seq stored (every lower seq is stored too); -1 when empty."""
        return self.next_seq - 1

    # -- opening ---------------------------------------------------------------------------------------------
    def _recover(self) -> None:
        size = self.log_path.stat().st_size
        offsets = array("Q")
        if self.index_path.exists():
            raw = self.index_path.read_bytes()
            offsets.frombytes(raw[:len(raw) // 8 * 8])
        while offsets and offsets[-1] >= size:
            offsets.pop()
        with open(self.log_path, "rb") as f:
            start_seq = (len(offsets) - 1) * INDEX_STRIDE if offsets else 0
            pos = offsets[-1] if offsets else 0
            f.seek(pos)
            if offsets and _line_seq(f.readline()) != start_seq:
                offsets, start_seq, pos = array("Q"), 0, 0  # index does not match the log: rebuild it
            f.seek(pos)
            seq = start_seq
            for line in f:
                if not line.endswith(b"\n") or _line_seq(line) != seq:
                    break
                if seq % INDEX_STRIDE == 0 and seq // INDEX_STRIDE == len(offsets):
                    offsets.append(pos)
                pos += len(line)
                seq += 1
        if pos != size:
            os.truncate(self.log_path, pos)
        self.size, self.next_seq, self._offsets = pos, seq, offsets
        self.index_path.write_bytes(offsets.tobytes())

    def _open_for_append(self) -> None:
        if self._fd < 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._index_fd = os.open(self.index_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        with self.lock:
            for fd in (self._fd, self._index_fd):
                if fd >= 0:
                    os.close(fd)
            self._fd = self._index_fd = -1

    # -- writing ---------------------------------------------------------------------------------------------
    def append(self, events: Sequence[Any], raw: Sequence[str] | None = None) -> AppendResult:
        """Store the events that continue the log; skip those already stored, stop at a gap or a bad event.

        `raw[i]`, when given, is the exact JSON text of `events[i]` and is stored as is (no re-encoding).
        """
        lines = None if raw is None else [text.encode() if "\n" not in text else None for text in raw]
        return self._append(events, lines)

    def append_lines(self, data: bytes) -> AppendResult:
        """Like `append`, from JSON lines as they were written (each ending in a newline), stored byte for byte."""
        lines = data.split(b"\n")
        lines.pop()  # after the last newline
        collecting = gc.isenabled()
        gc.disable()  # thousands of fresh dicts, none in a cycle: the collector would only walk them in vain
        try:
            events = [parse_line(line) for line in lines]
        finally:
            if collecting:
                gc.enable()
        return self._append(events, lines)

    def _append(self, events: Sequence[Any], lines: Sequence[bytes | None] | None) -> AppendResult:
        """`lines[i]` (without its newline), when there and not None, is what is stored for `events[i]`."""
        with self.lock:
            expected = first = self.next_seq
            stored: list[bytes] = []
            types: set[str] = set()
            error = None
            for i, event in enumerate(events):
                if not self._surely_valid(event):
                    reason = self._why_invalid(event)
                    if reason is not None:
                        seq = event.get("seq") if isinstance(event, dict) else None
                        error = f"event {i} (seq {seq}) rejected: {reason}"
                        break
                seq = event["seq"]
                if seq != expected:
                    if seq < expected:
                        continue
                    break
                line = lines[i] if lines is not None else None
                stored.append(line if line is not None else _encoder.encode(event).encode())
                types.add(event["event_type"])
                expected += 1
            data = b"\n".join(stored) + b"\n" if stored else b""
            created = self.next_seq == 0 and bool(stored)
            if stored:
                self._write(data, len(stored))
            return AppendResult(self.next_seq - 1, first, data, len(stored), types, error, created)

    def _surely_valid(self, event: Any) -> bool:
        """A cheap check that only accepts what `validate_envelope` accepts, with this store's grid_search_id.

        False means "ask `_why_invalid`", which may still accept the event.
        """
        try:
            seq, ts, exp = event["seq"], event["creation_ts"], event["experiment_id"]
            return (type(event) is dict and type(seq) is int and seq >= 0 and event["event_type"] in EVENT_TYPES
                    and (type(ts) is float or type(ts) is int) and event["grid_search_id"] == self.grid_search_id
                    and self._id_is_valid and type(event["payload"]) is dict
                    and (exp is None or exp in self._known_experiment_ids or self._learn_experiment_id(exp)))
        except (KeyError, TypeError, IndexError):
            return False

    def _learn_experiment_id(self, experiment_id: Any) -> bool:
        if not is_valid_id(experiment_id):
            return False
        if len(self._known_experiment_ids) >= _MAX_KNOWN_EXPERIMENT_IDS:
            self._known_experiment_ids.clear()
        self._known_experiment_ids.add(experiment_id)
        return True

    def _why_invalid(self, event: Any) -> str | None:
        if isinstance(event, _Unparseable):
            return event.reason
        try:
            reason = validate_envelope(event)
        except TypeError:  # an unhashable event_type (a list, an object) cannot be looked up in EVENT_TYPES
            reason = f"unknown event_type {event['event_type']!r}; expected one of {sorted(EVENT_TYPES)}"
        if reason is None and event["grid_search_id"] != self.grid_search_id:
            reason = f"grid_search_id {event['grid_search_id']!r} is not {self.grid_search_id!r}"
        return reason

    def _write(self, data: bytes, count: int) -> None:
        self._open_for_append()
        try:
            written = 0
            view = memoryview(data)
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError:
            os.truncate(self.log_path, self.size)  # never leave half a batch behind
            raise
        new_index = array("Q")
        seq, end, pos = self.next_seq, self.next_seq + count, self.size  # pos: where the line of `seq` starts
        wanted = -(-seq // INDEX_STRIDE) * INDEX_STRIDE  # the next seq whose offset goes into the index
        while wanted < end:
            for _ in range(wanted - seq):
                pos = self.size + data.index(b"\n", pos - self.size) + 1
            seq = wanted
            new_index.append(pos)
            wanted += INDEX_STRIDE
        if new_index:
            os.write(self._index_fd, new_index.tobytes())
            self._offsets.extend(new_index)
        self.size += len(data)
        self.next_seq += count

    # -- reading ---------------------------------------------------------------------------------------------
    def _seek(self, f: Any, seq: int) -> int:
        """Position `f` at the line of `seq`; return that byte offset."""
        k = min(seq // INDEX_STRIDE, len(self._offsets) - 1)
        if k < 0:
            return 0
        pos = self._offsets[k]
        f.seek(pos)
        for _ in range(seq - k * INDEX_STRIDE):
            pos += len(f.readline())
        f.seek(pos)
        return pos

    def iter_lines(self, from_seq: int = 0, limit: int | None = None) -> Iterator[bytes]:
        """Yield the stored lines (with their newline) from `from_seq`, as committed when the call started."""
        end, last = self.size, self.next_seq
        from_seq = max(0, from_seq)
        if from_seq >= last:
            return
        count = last - from_seq if limit is None else min(limit, last - from_seq)
        with open(self.log_path, "rb") as f:
            pos = self._seek(f, from_seq)
            for line in f:
                if count <= 0 or pos >= end:
                    return
                pos += len(line)
                count -= 1
                yield line

    def iter_chunks(self, from_seq: int = 0, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """Yield the stored bytes from `from_seq` up to what was committed when the call started."""
        end, last = self.size, self.next_seq
        if max(0, from_seq) >= last:
            return
        with open(self.log_path, "rb") as f:
            pos = self._seek(f, max(0, from_seq))
            while pos < end:
                chunk = f.read(min(chunk_size, end - pos))
                if not chunk:
                    return
                pos += len(chunk)
                yield chunk


def _line_seq(line: bytes) -> int | None:
    try:
        seq = json.loads(line)["seq"]
    except (ValueError, KeyError, TypeError):
        return None
    return seq if isinstance(seq, int) else None


class EventStore:
    """All grid searches under one storage root; each gets its own `GridSearchStore` on first use."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._stores: dict[str, GridSearchStore] = {}
        self._lock = threading.Lock()

    def get(self, grid_search_id: str, create: bool = False) -> GridSearchStore | None:
        """The store of `grid_search_id`; None if it has no events yet and `create` is false."""
        if not is_valid_id(grid_search_id) or grid_search_id in (".", ".."):
            raise ValueError(f"invalid grid_search_id {grid_search_id!r}: must match [A-Za-z0-9._-]+")
        with self._lock:
            store = self._stores.get(grid_search_id)
            if store is None:
                folder = self.root / grid_search_id
                if not create and not (folder / LOG_FILE_NAME).exists():
                    return None
                store = self._stores[grid_search_id] = GridSearchStore(folder, grid_search_id)
            return store

    def grid_search_ids(self) -> list[str]:
        """Ids of all grid searches with stored events."""
        return sorted(p.parent.name for p in self.root.glob(f"*/{LOG_FILE_NAME}") if is_valid_id(p.parent.name))

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
