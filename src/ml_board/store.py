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
import shutil
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from mlgym.events.event_log import LOG_FILE_NAME
from mlgym.events.payloads import PAYLOAD_TYPES
from mlgym.events.schema import EVENT_TYPE_PATTERN, SCHEMA_VERSION, is_valid_id, validate_envelope

INDEX_FILE_NAME = "event_storage.idx"
INDEX_STRIDE = 1024
READ_CHUNK = 1024 * 1024
TRASH_DIR = "~deleted"  # "~" is never in an id, so no grid search can be named so

_encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=True, default=str)
_MAX_KNOWN_EXPERIMENT_IDS = 100_000
MAX_NESTING = 900  # below Python's recursion limit (1,000), which bounds how deep json.loads can go


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


class _Checked(NamedTuple):
    """A line the fast path found valid: what the append loop needs of it."""

    seq: int
    event_type: str


class _Line(msgspec.Struct):
    """The envelope of a stored line as the fast path decodes it; the payload is checked by its own decoder."""

    seq: int
    event_type: str
    creation_ts: float
    grid_search_id: str
    experiment_id: str | None
    payload: msgspec.Raw
    schema_version: int = 1


_line_decoder = msgspec.json.Decoder(_Line)
_payload_decoders = {name: msgspec.json.Decoder(cls) for name, cls in PAYLOAD_TYPES.items()}


def decode_line(line: bytes) -> _Line | None:
    """The envelope of a line whose envelope and payload are well-typed (the payload against its event type's
    declaration); None for anything else, which the full validation then judges (NaN, malformed, unknown)."""
    try:
        event = _line_decoder.decode(line)
        decoder = _payload_decoders.get(event.event_type)
        if decoder is None:  # a type this version does not know: stored and passed on if it looks like one
            if not EVENT_TYPE_PATTERN.match(event.event_type) or not bytes(event.payload).startswith(b"{"):
                return None
        else:
            decoder.decode(event.payload)
    except (msgspec.DecodeError, TypeError, RecursionError):
        return None
    return event


def parse_line(line: bytes) -> Any:
    """One JSON line -> its value with the standard library (which also reads NaN, as the gym writes it)."""
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _Unparseable(f"not a JSON line: {exc}")
    except RecursionError:
        return _Unparseable(f"nested more deeply than the board parses (arrays and objects at most about "
                            f"{MAX_NESTING} levels deep)")


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
        self.removed = False
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

    def retire(self) -> None:
        """Close for good: the folder is being deleted, so a late append must not create it again."""
        with self.lock:
            self.removed = True
        self.close()

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
        gc.disable()  # thousands of fresh objects, none in a cycle: the collector would only walk them in vain
        try:
            events = [self._fast(decode_line(line)) or parse_line(line) for line in lines]
        finally:
            if collecting:
                gc.enable()
        return self._append(events, lines)

    def _fast(self, line: _Line | None) -> _Checked | None:
        """The fields `_append` needs of a line the fast path decoded, when it surely is a valid event here."""
        if (line is None or line.seq < 0 or line.grid_search_id != self.grid_search_id or not self._id_is_valid
                or not 1 <= line.schema_version <= SCHEMA_VERSION):
            return None
        exp = line.experiment_id
        if exp is not None and exp not in self._known_experiment_ids and not self._learn_experiment_id(exp):
            return None
        return _Checked(line.seq, line.event_type)

    def _append(self, events: Sequence[Any], lines: Sequence[bytes | None] | None) -> AppendResult:
        """`lines[i]` (without its newline), when there and not None, is what is stored for `events[i]`."""
        with self.lock:
            if self.removed:
                return AppendResult(-1, 0, b"", 0, set(), "this grid search was deleted on the board", False)
            expected = first = self.next_seq
            stored: list[bytes] = []
            types: set[str] = set()
            error = None
            for i, event in enumerate(events):
                if type(event) is _Checked:
                    seq, event_type = event
                else:
                    reason = self._why_invalid(event)
                    if reason is not None:
                        seq = event.get("seq") if isinstance(event, dict) else None
                        error = f"event {i} (seq {seq}) rejected: {reason}"
                        break
                    seq, event_type = event["seq"], event["event_type"]
                if seq != expected:
                    if seq < expected:
                        continue
                    break
                line = lines[i] if lines is not None else None
                stored.append(line if line is not None else _encoder.encode(event).encode())
                types.add(event_type)
                expected += 1
            data = b"\n".join(stored) + b"\n" if stored else b""
            created = self.next_seq == 0 and bool(stored)
            if stored:
                self._write(data, len(stored))
            return AppendResult(self.next_seq - 1, first, data, len(stored), types, error, created)

    def surely_valid_line(self, line: bytes) -> bool:
        """The fast path's verdict on one JSON line: True only for what `_why_invalid` accepts.

        False means "ask `_why_invalid`", which may still accept the event (NaN scores, for instance).
        """
        return self._fast(decode_line(line)) is not None

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
        reason = validate_envelope(event)
        if reason is None and event["grid_search_id"] != self.grid_search_id:
            reason = f"grid_search_id {event['grid_search_id']!r} is not {self.grid_search_id!r}"
        return reason

    def _write(self, data: bytes, count: int) -> None:
        """Append `count` lines to the log, then their offsets to the index. If either write fails (a full disk),
        both files are cut back to what they held, so the store stays the events up to `acked_seq`, indexed, and
        the resend of the batch neither duplicates nor skips a line."""
        self._open_for_append()
        index_size = len(self._offsets) * 8
        try:
            _write_all(self._fd, data)
            new_index = self._offsets_of(data, count)
            if new_index:
                _write_all(self._index_fd, new_index.tobytes())
        except OSError:
            os.truncate(self.log_path, self.size)
            os.truncate(self.index_path, index_size)
            raise
        self._offsets.extend(new_index)
        self.size += len(data)
        self.next_seq += count

    def _offsets_of(self, data: bytes, count: int) -> array:
        """The index entries of a batch of `count` lines about to be appended at `self.size`."""
        new_index = array("Q")
        seq, end, pos = self.next_seq, self.next_seq + count, self.size  # pos: where the line of `seq` starts
        wanted = -(-seq // INDEX_STRIDE) * INDEX_STRIDE  # the next seq whose offset goes into the index
        while wanted < end:
            for _ in range(wanted - seq):
                pos = self.size + data.index(b"\n", pos - self.size) + 1
            seq = wanted
            new_index.append(pos)
            wanted += INDEX_STRIDE
        return new_index

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

    def line_at(self, seq: int) -> tuple[bytes, int] | None:
        """The stored line of `seq` (with its newline) and the log's size up to its end; None if not stored."""
        if not 0 <= seq < self.next_seq:
            return None
        with open(self.log_path, "rb") as f:
            pos = self._seek(f, seq)
            line = f.readline()
        return line, pos + len(line)

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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    written = 0
    while written < len(data):
        written += os.write(fd, view[written:])


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
        shutil.rmtree(self.root / TRASH_DIR, ignore_errors=True)  # finish deletions a crash interrupted

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

    def remove(self, grid_search_id: str) -> None:
        """Delete a grid search's folder (events, index, labels, checkpoints). It leaves the namespace at once, by
        one rename into the trash folder; the files are removed after, and a crash in between is finished on the
        next start."""
        with self._lock:
            store = self._stores.pop(grid_search_id, None)
            if store is not None:
                store.retire()
            trash = self.root / TRASH_DIR
            trash.mkdir(exist_ok=True)
            target = trash / f"{grid_search_id}.{time.time_ns()}"
            os.rename(self.root / grid_search_id, target)
        shutil.rmtree(target, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
