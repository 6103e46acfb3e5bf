"""The state of the board's storage, as ingest finds it: a failed write (a full disk) is answered to the sender with
its cause, logged once per cause (not a traceback per batch), and reported by `GET /api/health` until a write
succeeds again."""
from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class StorageHealth:
    """The last storage failure of a board (None while writes succeed) and how much room is left."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.error: str | None = None
        self.error_ts: float | None = None
        self.failed_writes = 0
        self._lock = threading.Lock()

    def storage_failed(self, exc: OSError) -> str:
        """Record a failed write; returns its cause as the sender is told it."""
        if exc.errno == errno.ENOSPC:
            cause = f"no space left on device at {self.root}"
        elif exc.errno == errno.EDQUOT:
            cause = f"disk quota exceeded at {self.root}"
        else:
            cause = f"cannot write the event store at {self.root}: {exc.strerror or exc}"
        with self._lock:
            new = cause != self.error
            self.error, self.error_ts = cause, time.time()
            self.failed_writes += 1
        if new:
            logger.error("%s: ingest is answered with this error (the senders retry) until a write succeeds", cause)
        return cause

    def storage_ok(self) -> None:
        if self.error is None:
            return
        with self._lock:
            if self.error is not None:
                logger.warning("the event store at %s takes writes again (after %d failed)", self.root,
                               self.failed_writes)
            self.error, self.error_ts, self.failed_writes = None, None, 0

    def report(self) -> dict[str, Any]:
        """`{status, storage: {path, free_bytes, total_bytes, error, error_ts, failed_writes}}`."""
        try:
            usage = shutil.disk_usage(self.root)
            free, total = usage.free, usage.total
        except OSError:
            free = total = None
        with self._lock:
            return {"status": "ok" if self.error is None else "storage_failing",
                    "storage": {"path": os.fspath(self.root), "free_bytes": free, "total_bytes": total,
                                "error": self.error, "error_ts": self.error_ts, "failed_writes": self.failed_writes}}
