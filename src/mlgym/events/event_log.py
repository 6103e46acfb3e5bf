"""The append-only JSON-lines event log: the source of truth of a grid search.

One process (the one running the grid search) owns the writer, so `seq` is gapless. Each event is one
`os.write` of one line on an O_APPEND descriptor, so `tail -f` never sees half an event and a crash can at
worst leave one torn last line, which readers skip and the next writer cuts off.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from mlgym.events.config_overrides import ConfigCompactor
from mlgym.events.payloads import Payload, to_plain
from mlgym.events.schema import EVENT_TYPES, Envelope, check_readable

LOG_FILE_NAME = "event_storage.log"

Listener = Callable[[dict[str, Any]], None]


def log_path(log_dir: str | os.PathLike, grid_search_id: str) -> Path:
    return Path(log_dir) / grid_search_id / LOG_FILE_NAME


def known_grid_searches(log_dir: str | os.PathLike) -> list[str]:
    """Ids of the grid searches with an event log under `log_dir`, oldest first (ids start with their time)."""
    return sorted(p.parent.name for p in Path(log_dir).glob(f"*/{LOG_FILE_NAME}"))


def encode(event: dict[str, Any]) -> bytes:
    """One log line: strict JSON (a NaN or infinite number is written as null, so every JSON parser, the
    browser's included, reads every line), compact, ending in a newline."""
    return msgspec.json.encode(event, enc_hook=str) + b"\n"


_plain = msgspec.json.Decoder()


def parse_line(raw: bytes) -> Any:
    """One JSON line as plain data: msgspec (3x the standard library's speed), else json for what msgspec refuses
    (a `NaN` literal, `1e400`: logs of older versions); raises ValueError for a line that is not JSON."""
    try:
        return _plain.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(raw)


def read_events(path: str | os.PathLike, from_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the complete events of a log file with `seq >= from_seq`; a torn last line is skipped.

    Raises NewerSchemaError at the first event written with a newer major event schema than this version reads.
    """
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                return
            try:
                event = parse_line(raw)
            except ValueError:
                continue
            if event.get("seq", -1) >= from_seq:
                check_readable(event)
                yield event


def _valid_prefix_length(path: Path) -> tuple[int, int]:
    """Return (bytes of complete lines, next seq) of an existing log."""
    size = 0
    next_seq = 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                next_seq = parse_line(raw)["seq"] + 1
            except (ValueError, KeyError, TypeError):
                break
            size += len(raw)
    return size, next_seq


class EventLog:
    """Writer of one grid search's event log; thread-safe, continues an existing log after its last event."""

    def __init__(self, log_dir: str | os.PathLike, grid_search_id: str) -> None:
        self.grid_search_id = grid_search_id
        self.path = log_path(log_dir, grid_search_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._configs = ConfigCompactor()  # a warm start's writer logs its own base before its first config
        self.next_seq = 0
        if self.path.exists():
            valid, self.next_seq = _valid_prefix_length(self.path)
            if valid != self.path.stat().st_size:
                os.truncate(self.path, valid)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def append(self, event_type: str, payload: Payload | dict[str, Any] | None = None,
               experiment_id: str | None = None, creation_ts: float | None = None) -> dict[str, Any]:
        """Write one event with the next `seq` and return its envelope as a dict.

        The payload (a declared payload, or its plain-data form) is checked against `event_type`'s declaration
        first, so nothing that breaks the contract reaches the log (PayloadError). An `experiment_config` with a
        whole `config` is written as overrides of a config base, which is logged first when it is new.
        """
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event_type {event_type!r}")
        payload = to_plain(event_type, payload)
        ts = time.time() if creation_ts is None else creation_ts
        with self._lock:
            written = []
            if event_type == "experiment_config" and payload.get("config") is not None:
                base, payload = self._configs.compact(payload)
                if base is not None:
                    written.append(self._write("config_base", base, None, ts))
            written.append(self._write(event_type, payload, experiment_id, ts))
        for event in written:
            for listener in self._listeners:
                listener(event)
        return written[-1]

    def _write(self, event_type: str, payload: dict[str, Any], experiment_id: str | None,
               creation_ts: float) -> dict[str, Any]:
        event = Envelope(seq=self.next_seq, event_type=event_type, creation_ts=creation_ts,
                         grid_search_id=self.grid_search_id, experiment_id=experiment_id, payload=payload).to_dict()
        os.write(self._fd, encode(event))
        self.next_seq += 1
        return event

    def flush(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
