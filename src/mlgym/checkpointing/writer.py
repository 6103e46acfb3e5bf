"""A background writer, so that fsync-ing a checkpoint does not stall training.

The job serialises its state at the epoch boundary (so what is saved is exactly that epoch's state) and hands
the bytes over; one thread writes them durably in order. At most one checkpoint waits in the queue: if disks
are slower than epochs, training waits rather than piling up copies in memory.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable

_STOP = object()


class CheckpointWriter:
    """Runs submitted write actions one after another on a daemon thread; `close()` waits for all of them."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="checkpoint-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            action = self._queue.get()
            if action is _STOP:
                return
            try:
                action()
            except BaseException as e:  # surfaced to the job on the next submit or on close
                self._error = e

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, action: Callable[[], None]) -> None:
        self._raise_pending()
        self._queue.put(action)

    def close(self) -> None:
        """Wait until every submitted write is durable; re-raise a write error."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._raise_pending()
