"""SIGTERM during a run becomes `Interrupted`, so an executor cleans up its workers exactly as on Ctrl-C."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from mlgym.scheduler.task import Interrupted


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While running, turn SIGTERM into an exception so workers are cleaned up like on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
