"""The main process's `heartbeat` events: proof of life while a grid search runs, so that readers can tell a run
that is quiet (long epochs) from one whose process is gone (`stale`: no event for 3 heartbeats)."""
from __future__ import annotations

import threading
from typing import Any

from mlgym.events.event_log import EventLog
from mlgym.events.payloads import Heartbeat

DEFAULT_HEARTBEAT_S = 30.0
STALE_AFTER_HEARTBEATS = 3


class RunningJobs:
    """An event-log listener that knows which jobs are running."""

    def __init__(self) -> None:
        self.running: set[str] = set()

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event_type"] != "job_status":
            return
        job = event.get("experiment_id")
        if (event.get("payload") or {}).get("status") in ("running", "retrying"):
            self.running.add(job)
        else:
            self.running.discard(job)


class HeartbeatThread:
    """Appends a `heartbeat` to the log every `interval_s` seconds until stopped."""

    def __init__(self, log: EventLog, interval_s: float) -> None:
        self.log = log
        self.interval_s = interval_s
        self.jobs = RunningJobs()
        log.add_listener(self.jobs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="mlgym-heartbeat", daemon=True)

    def start(self) -> "HeartbeatThread":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.log.append("heartbeat", Heartbeat(running=len(self.jobs.running)))
            except (OSError, ValueError):  # the log was closed under us: the run is ending
                return
