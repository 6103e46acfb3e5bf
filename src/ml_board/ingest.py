"""Socket.IO handlers: `ingest` from workers, `join`/`leave` of live rooms for dashboards.

Ordering: storing a batch and broadcasting it to the grid search's room happen under one per grid search lock,
and a joining client is caught up from disk, then (under that lock) given the last stored events and added to the
room. So every member gets each event exactly once, in seq order.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room, leave_room
from mlgym.events.schema import is_valid_id

from ml_board.access import JOIN_TOKEN_MISSING, READERS_ROOM, auth_token, token_ok
from ml_board.health import StorageHealth
from ml_board.store import EventStore, GridSearchStore
from ml_board.wire import RawJSONArray

logger = logging.getLogger(__name__)

LIVE_BATCH = 5000
STATUS_EVENT_TYPES = frozenset({"grid_search_started", "grid_search_finished", "job_status"})
STORAGE_RETRY_S = 1.0  # what a sender is told to wait before resending after a storage failure
LIST_NOTICE_S = 0.5  # at most one grid_searches_changed per grid search this often
NOTICE_FIELDS = ("status", "num_experiments", "num_done", "num_running", "num_failed", "last_seq")


def room_of(grid_search_id: str) -> str:
    return f"gs:{grid_search_id}"


class LiveIngest:
    """Stores ingested batches and fans them out to live rooms.

    With a read token, only clients that connected with it (Socket.IO auth `{"token": ...}`) may `join` and get
    `grid_searches_changed`; ingest needs the ingest token in each message either way.
    """

    def __init__(self, socketio: SocketIO, store: EventStore, ingest_token: str | None,
                 read_token: str | None = None,
                 summary_of: Callable[[str], dict[str, Any] | None] | None = None,
                 health: StorageHealth | None = None) -> None:
        self.socketio = socketio
        self.summary_of = summary_of  # the grid search's list row, sent with grid_searches_changed
        self.health = health or StorageHealth(store.root)
        self._noticed: set[str] = set()  # grid searches whose change is about to be announced
        self._notice_lock = threading.Lock()
        self.store = store
        self.ingest_token = ingest_token
        self.read_token = read_token
        self._readers: set[str] = set()
        self._publish_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_lock = threading.Lock()
        self._members: dict[str, set[str]] = defaultdict(set)
        # clients that joined from a seq not stored yet: sid -> from_seq, per room; added to the room on arrival
        self._waiting: dict[str, dict[str, int]] = defaultdict(dict)

    def _publish_lock(self, grid_search_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._publish_locks[grid_search_id]

    def register(self) -> None:
        self.socketio.on_event("connect", self.on_connect)
        self.socketio.on_event("ingest", self.on_ingest)
        self.socketio.on_event("join", self.on_join)
        self.socketio.on_event("leave", self.on_leave)
        self.socketio.on_event("disconnect", self.on_disconnect)

    # -- ingest ----------------------------------------------------------------------------------------------
    def on_ingest(self, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict):
            return {"error": "ingest expects {grid_search_id, events, token}"}
        if not token_ok(self.ingest_token, data.get("token")):
            return {"error": "invalid or missing ingest token"}
        grid_search_id = data.get("grid_search_id")
        if not is_valid_id(grid_search_id) or grid_search_id in (".", ".."):
            return {"error": "grid_search_id must match [A-Za-z0-9._-]+"}
        lines, events = data.get("lines"), data.get("events", [])
        if lines is not None and "events" in data:
            return {"error": "send either events or lines, not both"}
        if lines is not None and (not isinstance(lines, bytes) or lines[-1:] not in (b"", b"\n")):
            return {"error": "lines must be binary: JSON lines, each ending in a newline"}
        if not isinstance(events, list):
            return {"error": "events must be a list of event envelopes"}
        gs_store = self.store.get(grid_search_id, create=bool(events or lines))
        if gs_store is None:
            return {"acked_seq": -1}
        with self._publish_lock(grid_search_id):
            try:
                if lines is not None:
                    result = gs_store.append_lines(lines)
                else:
                    result = gs_store.append(events, getattr(events, "raw", None))
            except OSError as exc:  # the store is still the events up to acked_seq (store.py, `_write`)
                cause = self.health.storage_failed(exc)
                return {"acked_seq": gs_store.acked_seq, "error": cause, "retry_after_s": STORAGE_RETRY_S}
            if result.count:
                self.health.storage_ok()  # a write went through
                self._publish(grid_search_id, result.first_seq, result.data)
        if result.created or result.event_types & STATUS_EVENT_TYPES:
            self._announce(grid_search_id)
        reply: dict[str, Any] = {"acked_seq": result.acked_seq}
        if result.error:
            reply["error"] = result.error
            logger.warning("ingest into %s: %s", grid_search_id, result.error)
        return reply

    def _announce(self, grid_search_id: str) -> None:
        """Tell list pages that a grid search's status or counts changed: once per LIST_NOTICE_S at most, however
        many status events arrive (a sender of 10,000 job_status events a second would otherwise flood every
        viewer with one broadcast per batch), with the counts as they are then."""
        with self._notice_lock:
            if grid_search_id in self._noticed:
                return
            self._noticed.add(grid_search_id)
        self.socketio.start_background_task(self._announce_later, grid_search_id)

    def _announce_later(self, grid_search_id: str) -> None:
        self.socketio.sleep(LIST_NOTICE_S)
        with self._notice_lock:
            self._noticed.discard(grid_search_id)
        notice: dict[str, Any] = {"grid_search_id": grid_search_id}
        summary = self.summary_of(grid_search_id) if self.summary_of is not None else None
        if summary is not None:
            notice.update({k: summary[k] for k in NOTICE_FIELDS})
        self.socketio.emit("grid_searches_changed", notice, to=READERS_ROOM)

    def _publish(self, grid_search_id: str, first_seq: int, data: bytes) -> None:
        """Send newly stored lines to the room, and to clients waiting for a seq among them (then into the room)."""
        room = room_of(grid_search_id)
        if self._members.get(room):
            self.socketio.emit("events", {"grid_search_id": grid_search_id,
                                          "events": RawJSONArray.from_lines(data)}, to=room)
        waiting = self._waiting.get(room)
        if not waiting:
            return
        lines = [line + b"\n" for line in data.split(b"\n")[:-1]]  # not splitlines: a line may hold a \r
        last_seq = first_seq + len(lines) - 1
        for sid, start in list(waiting.items()):
            if start <= last_seq:
                part = lines[max(0, start - first_seq):]
                self.socketio.emit("events", {"grid_search_id": grid_search_id,
                                              "events": RawJSONArray.from_lines(b"".join(part))}, to=sid)
                self.socketio.server.enter_room(sid, room, namespace="/")
                self._members[room].add(sid)
                del waiting[sid]

    # -- live rooms ------------------------------------------------------------------------------------------
    def on_connect(self, auth: Any = None) -> None:
        """Every client may connect (a sink needs no read token); one with the read token (or any, without one)
        becomes a reader."""
        if token_ok(self.read_token, auth_token(auth)):
            self._readers.add(request.sid)
            join_room(READERS_ROOM, sid=request.sid)

    def on_join(self, data: Any = None) -> dict[str, Any]:
        if request.sid not in self._readers:
            return {"error": JOIN_TOKEN_MISSING}
        if not isinstance(data, dict) or not is_valid_id(data.get("grid_search_id")):
            return {"error": "join expects {grid_search_id, from_seq}; ids must match [A-Za-z0-9._-]+"}
        grid_search_id = data["grid_search_id"]
        from_seq = data.get("from_seq", 0)
        if not isinstance(from_seq, int) or isinstance(from_seq, bool) or from_seq < 0:
            return {"error": "from_seq must be a non-negative integer"}
        if grid_search_id in (".", ".."):
            return {"error": "grid_search_id must match [A-Za-z0-9._-]+"}
        sid = request.sid
        gs_store = self.store.get(grid_search_id, create=True)
        cursor = self._send_stored(gs_store, from_seq, sid)
        room = room_of(grid_search_id)
        with self._publish_lock(grid_search_id):
            cursor = self._send_stored(gs_store, cursor, sid)
            if cursor > gs_store.acked_seq + 1:
                self._waiting[room][sid] = cursor  # asked for events not stored yet: wait for them
            else:
                join_room(room, sid=sid)
                self._members[room].add(sid)
        return {"grid_search_id": grid_search_id, "next_seq": cursor}

    def _send_stored(self, gs_store: GridSearchStore, from_seq: int, sid: str) -> int:
        """Send the stored events from `from_seq` to `sid`; return the seq after the last one sent."""
        cursor = from_seq
        while cursor <= gs_store.acked_seq:
            chunk = b"".join(gs_store.iter_lines(cursor, limit=LIVE_BATCH))
            if not chunk:
                break
            self.socketio.emit("events", {"grid_search_id": gs_store.grid_search_id,
                                          "events": RawJSONArray.from_lines(chunk)}, to=sid)
            cursor += chunk.count(b"\n")
            self._wait_for_drain(sid)
        return cursor

    def _wait_for_drain(self, sid: str, max_queued: int = 8, timeout: float = 30.0) -> None:
        """Keep a long catch-up from queueing the whole run in memory: wait while the client's queue is full."""
        try:
            eio_sid = self.socketio.server.manager.eio_sid_from_sid(sid, "/")
            queue = self.socketio.server.eio._get_socket(eio_sid).queue
        except Exception:  # noqa: BLE001 - internal API of python-engineio; without it, just do not throttle
            return
        deadline = time.monotonic() + timeout
        while queue.qsize() > max_queued and time.monotonic() < deadline:
            time.sleep(0.005)

    def on_leave(self, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or not is_valid_id(data.get("grid_search_id")):
            return {"error": "leave expects {grid_search_id}"}
        room = room_of(data["grid_search_id"])
        with self._publish_lock(data["grid_search_id"]):
            leave_room(room, sid=request.sid)
            self._members[room].discard(request.sid)
            self._waiting[room].pop(request.sid, None)
        return {"grid_search_id": data["grid_search_id"]}

    def on_disconnect(self, *args: Any) -> None:
        sid = request.sid
        self._readers.discard(sid)
        for members in list(self._members.values()):
            members.discard(sid)
        for waiting in list(self._waiting.values()):
            waiting.pop(sid, None)
