"""An `on_event` callback for tests that keeps every event the main process receives, in order."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from mlgym.events.schema import EVENT_TYPES


@dataclass
class Recorded:
    event_type: str
    payload: dict
    experiment_id: str | None
    at: float


@dataclass
class Recorder:
    """Records events and checks that each arrives in the main thread with a known type."""

    events: list[Recorded] = field(default_factory=list)

    def __call__(self, event_type: str, payload: dict, experiment_id: str | None) -> None:
        assert event_type in EVENT_TYPES, event_type
        assert threading.current_thread() is threading.main_thread()
        self.events.append(Recorded(event_type, payload, experiment_id, time.monotonic()))

    def of(self, task_id: str) -> list[Recorded]:
        return [e for e in self.events if e.experiment_id == task_id]

    def statuses(self, task_id: str) -> list[tuple[str, int]]:
        return [(e.payload["status"], e.payload["attempt"]) for e in self.of(task_id) if e.event_type == "job_status"]

    def running_order(self) -> list[str]:
        return [e.experiment_id for e in self.events
                if e.event_type == "job_status" and e.payload["status"] == "running"]
