"""Replicates a grid search's local event log to MLboard over Socket.IO, batched and acknowledged.

The local log is the source of truth, so the sink never holds events of its own: it tails the file from the seq
after the one the board acknowledged, sends each batch of raw lines as the binary attachment of an `ingest` event
(one binary websocket frame; no JSON document of the batch is built on either side) and moves on when the board
acknowledges them. If the board is down the sink retries with backoff while training goes on; after a
reconnect it asks the board for its acked seq and resends from there (the board ignores what it already has).
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from mlgym.errors import MLgymError
from mlgym.events.event_log import log_path

logger = logging.getLogger(__name__)

MAX_BATCH_BYTES = 8 * 1024 * 1024
_DISCONNECTED = object()


class SyncError(MLgymError):
    """The board could not be reached, or did not acknowledge the whole log in time."""


class _LogTail:
    """Reads complete lines of a growing log; line k of a gym event log is the event with seq k."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.next_seq = 0
        self._marks: deque[tuple[int, int]] = deque(maxlen=16)  # recent (seq, offset) to seek back to
        self._line_bytes = 1024.0  # bytes per line in the last batch read

    def remember(self) -> None:
        """Remember the current position, so a later `seek` back to it costs nothing."""
        self._marks.append((self.next_seq, self.offset))

    def _pread(self, size: int, offset: int) -> bytes:
        try:
            with open(self.path, "rb") as f:
                return os.pread(f.fileno(), size, offset)
        except FileNotFoundError:
            return b""

    def seek(self, seq: int) -> None:
        """Position the tail at the line with `seq` (or at the end, if the log is shorter)."""
        if seq < self.next_seq:
            self.offset, self.next_seq = max(((o, q) for q, o in self._marks if q <= seq), default=(0, 0),
                                             key=lambda mark: mark[1])
        while self.next_seq < seq:
            block = self._pread(4 * 1024 * 1024, self.offset)
            end = block.rfind(b"\n") + 1
            if end == 0:
                return
            block = block[:end]
            wanted = seq - self.next_seq
            count = block.count(b"\n")
            if count <= wanted:
                self.offset += end
                self.next_seq += count
                continue
            pos = -1
            for _ in range(wanted):
                pos = block.find(b"\n", pos + 1)
            self.offset += pos + 1
            self.next_seq = seq

    def read(self, max_lines: int, max_bytes: int = MAX_BATCH_BYTES) -> tuple[int, int, bytes]:
        """Return (first seq, number of lines, the lines) of up to `max_lines` complete lines from the tail.

        Reads about as many bytes as `max_lines` lines took so far (more if that was too few), at most `max_bytes`
        unless a single line is longer.
        """
        size = min(max_bytes, max(64 * 1024, int(max_lines * self._line_bytes * 1.25)))
        while True:
            block = self._pread(size, self.offset)
            end = block.rfind(b"\n") + 1
            if len(block) < size:
                break  # the rest of the file
            if end == 0:
                size *= 2  # one line longer than the block: read it whole
            elif size >= max_bytes or block.count(b"\n", 0, end) >= max_lines:
                break
            else:
                size = min(size * 2, max_bytes)
        if end > max_bytes:  # grown for a long line: ship what fits in max_bytes, or that line alone
            end = block.rfind(b"\n", 0, max_bytes) + 1 or block.find(b"\n") + 1
        block = block[:end]
        count = block.count(b"\n")
        if count > max_lines:
            block, count = block[:_end_of_line(block, max_lines, count)], max_lines
        if count:
            self._line_bytes = len(block) / count
            first = json.loads(block[:block.find(b"\n")]).get("seq")
            if first != self.next_seq:
                raise ValueError(f"{self.path}: expected seq {self.next_seq} at byte {self.offset}, found {first}")
        return self.next_seq, count, block

    def advance(self, count: int, nbytes: int) -> None:
        self.offset += nbytes
        self.next_seq += count

    def end_seq(self) -> int:
        """The seq of the last complete line in the file (-1 if none)."""
        probe = _LogTail(self.path)
        probe.offset, probe.next_seq = self.offset, self.next_seq
        probe.seek(1 << 62)
        return probe.next_seq - 1


def _end_of_line(block: bytes, n: int, count: int) -> int:
    """The index just after the `n`-th newline of `block`, which holds `count` >= n newlines and ends with one."""
    if count - n < n:  # walk back from the last newline
        pos = len(block) - 1
        for _ in range(count - n):
            pos = block.rfind(b"\n", 0, pos)
    else:
        pos = -1
        for _ in range(n):
            pos = block.find(b"\n", pos + 1)
    return pos + 1


class BoardStorageError(RuntimeError):
    """The board could not store a batch (its disk is full, say): resend after `retry_after_s`, without hurry."""

    def __init__(self, cause: str, retry_after_s: float) -> None:
        super().__init__(cause)
        self.retry_after_s = retry_after_s


STORAGE_MAX_BACKOFF_S = 30.0


class WebsocketSink:
    """Ships the events of one local log to an MLboard, from a background thread that never blocks training."""

    def __init__(self, log_path: Path, server_url: str, token: str | None = None, batch_size: int = 5000) -> None:
        self.log_path = Path(log_path)
        self.grid_search_id = self.log_path.parent.name
        self.server_url = server_url
        self.token = token
        self.batch_size = batch_size
        self.acked_seq = -1
        self.connected = False
        self._tail = _LogTail(self.log_path)
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._thread: threading.Thread | None = None
        self.poll_interval = 0.05
        self.window = 3
        self.reply_timeout = 30.0
        self.max_backoff = 2.0
        self.last_error: str | None = None  # the board's last refusal, said once (not per retry)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "WebsocketSink":
        self._thread = threading.Thread(target=self._run, name=f"websocket-sink-{self.grid_search_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Ship what remains (for at most `timeout` seconds) and stop; return whether every event was acked."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + 5.0)
        return self.acked_seq >= self._tail.end_seq()

    def run_until_caught_up(self, timeout: float) -> int:
        """Push the whole log in the calling thread (for `mlgym sync`); return the acked seq."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._run()
        return self.acked_seq

    # -- the loop --------------------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.1
        while True:
            limit = self.max_backoff
            try:
                if self._session():
                    return
                backoff = 0.1
            except BoardStorageError as exc:  # the board is up but cannot store: it said when to come back
                backoff, limit = max(backoff, exc.retry_after_s), STORAGE_MAX_BACKOFF_S
            except Exception as exc:  # noqa: BLE001 - any failure of the board or the link: retry later
                logger.debug("websocket sink %s: %s: %s", self.grid_search_id, type(exc).__name__, exc)
            finally:
                self.connected = False
            if self._stop.is_set() and time.monotonic() >= self._deadline:
                return
            self._sleep(min(backoff, max(0.0, self._deadline - time.monotonic())))
            backoff = min(backoff * 2, limit)

    def _sleep(self, seconds: float) -> None:
        if self._stop.is_set():
            time.sleep(seconds)
        else:
            self._stop.wait(seconds)

    def _session(self) -> bool:
        """One connection: resync from the board's acked seq, then keep up to `window` batches in flight.

        The board handles one connection's messages in order, but the client runs each reply's callback in a
        thread of its own, so replies may be seen out of order: each names the last seq of its batch. An ack
        short of its batch (a gap, a refusal) ends the session and the next one resends from the board's acked seq.
        Returns True when stopped and caught up (or out of time).
        """
        import socketio  # the client is only needed when a sink runs

        replies: queue.Queue[Any] = queue.Queue()
        client = socketio.Client(reconnection=False)
        client.on("disconnect", lambda *args: replies.put(_DISCONNECTED))
        try:
            client.connect(self.server_url, transports=["websocket"], wait_timeout=5)
            self.connected = True
            self._send(client, None, -1, replies)
            self.acked_seq = self._reply(replies, progress_expected=False)[1]
            self._tail.seek(self.acked_seq + 1)
            in_flight: set[int] = set()  # the last seq of each batch sent and not acked yet
            while True:
                # stop() is called after the last event is logged: only a read that started after it finds all
                stopping = self._stop.is_set()
                while len(in_flight) < self.window:
                    first, count, lines = self._tail.read(self.batch_size)
                    if count == 0:
                        break
                    self._send(client, lines, first + count - 1, replies)
                    self._tail.remember()
                    self._tail.advance(count, len(lines))
                    in_flight.add(first + count - 1)
                if not in_flight:
                    if stopping:
                        return True
                    self._stop.wait(self.poll_interval)
                    continue
                expected, acked = self._reply(replies, progress_expected=True)
                in_flight.discard(expected)
                self.acked_seq = max(self.acked_seq, acked)
                if acked < expected:
                    raise RuntimeError(f"board acked seq {acked} where {expected} was expected; resending")
                if self._stop.is_set() and time.monotonic() >= self._deadline:
                    return True
        finally:
            # websocket-client waits up to 3 s for the server's close frame; nobody needs to wait for that
            threading.Thread(target=client.disconnect, daemon=True).start()

    def _send(self, client: Any, lines: bytes | None, last_seq: int, replies: queue.Queue[Any]) -> None:
        """Emit one batch of complete JSON lines ending with `last_seq` (None: just ask for the acked seq)."""
        message: dict[str, Any] = {"grid_search_id": self.grid_search_id, "token": self.token}
        if lines is not None:
            message["lines"] = lines
        client.emit("ingest", message, callback=lambda reply=None: replies.put((last_seq, reply)))

    def _reply(self, replies: queue.Queue[Any], progress_expected: bool) -> tuple[int, int]:
        """(last seq of the batch, acked seq) of the next reply; raises when the link dropped, the board is silent
        or refused."""
        try:
            item = replies.get(timeout=self.reply_timeout)
        except queue.Empty:
            raise TimeoutError(f"no ack from the board within {self.reply_timeout} s") from None
        if item is _DISCONNECTED:
            raise ConnectionError("the board closed the connection")
        last_seq, reply = item
        acked = reply.get("acked_seq") if isinstance(reply, dict) else None
        if isinstance(reply, dict) and "error" in reply:
            if reply["error"] != self.last_error:
                logger.warning("board refused events of %s: %s", self.grid_search_id, reply["error"])
                self.last_error = reply["error"]
            if isinstance(reply.get("retry_after_s"), (int, float)):
                self.acked_seq = max(self.acked_seq, acked if isinstance(acked, int) else -1)
                raise BoardStorageError(reply["error"], float(reply["retry_after_s"]))
            if not isinstance(acked, int) or (progress_expected and acked <= self.acked_seq):
                raise RuntimeError(reply["error"])  # no progress: back off and retry
        if not isinstance(acked, int):
            raise RuntimeError(f"unexpected reply from the board: {reply!r}")
        return last_seq, acked


def sync(log_dir: str | os.PathLike, grid_search_id: str, server_url: str, token: str | None = None,
         timeout: float = 120.0) -> int:
    """Push a whole (offline) local log to a board; return the seq the board acknowledged.

    Raises SyncError when the board cannot be reached or does not acknowledge the whole log within `timeout`.
    """
    path = log_path(log_dir, grid_search_id)
    if not path.exists():
        raise SyncError(f"no event log at {path}; check --log_dir and --grid_search_id")
    sink = WebsocketSink(path, server_url, token=token)
    acked = sink.run_until_caught_up(timeout)
    last = sink._tail.end_seq()
    if acked < last:
        if sink.last_error is not None:
            raise SyncError(f"the board at {server_url} stored events up to seq {acked} of {last}: "
                            f"{sink.last_error}")
        raise SyncError(f"the board at {server_url} acknowledged events up to seq {acked} of {last}; "
                        "is it running, and is the ingest token right?")
    return acked
