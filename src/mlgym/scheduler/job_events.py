"""The scheduler's own events (`job_scheduled`, `job_status`), built the same way by every executor.

See docs/events.md for the payloads. `job_status` "retrying" carries the attempt that was lost and `next_attempt`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgym.events.payloads import JobScheduled, JobStatus, Payload, to_plain
from mlgym.scheduler.task import EventCallback, Task, TaskResult


@dataclass(frozen=True)
class Placement:
    """Where an attempt runs: the device, the worker's index, its process id and (on Ray) the node's id."""

    device: str
    worker: int
    pid: int
    node: str | None = None


class JobEvents:
    """Sends the scheduler's events of one run to the run's `on_event` callback."""

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event
        self._experiment_of: dict[str, str] = {}  # task id -> experiment id, for tasks that name theirs

    def scheduled(self, task: Task, attempt: int = 0) -> None:
        if task.experiment_id is not None:
            self._experiment_of[task.task_id] = task.experiment_id
        payload = JobScheduled(job_id=task.task_id, depends_on=list(task.depends_on), attempt=attempt)
        self._send(payload, task.task_id)

    def running(self, task_id: str, where: Placement, attempt: int) -> None:
        self._status(task_id, "running", where, attempt)

    def done(self, result: TaskResult, where: Placement, attempt: int) -> None:
        self._status(result.task_id, "done", where, attempt, duration_s=result.duration_s)

    def failed(self, result: TaskResult, where: Placement | None, attempt: int) -> None:
        self._status(result.task_id, "failed", where, attempt, error=result.error,
                     traceback=result.traceback or "", duration_s=result.duration_s)

    def retrying(self, task_id: str, where: Placement, attempt: int, error: str) -> None:
        self._status(task_id, "retrying", where, attempt, error=error, next_attempt=attempt + 1)

    def _status(self, task_id: str, status: Any, where: Placement | None, attempt: int, **extra: Any) -> None:
        payload = JobStatus(status=status, device=where.device if where else None,
                            worker=where.worker if where else None, pid=where.pid if where else None,
                            node=where.node if where else None, attempt=attempt, **extra)
        self._send(payload, task_id)

    def _send(self, payload: Payload, task_id: str) -> None:
        self._on_event(payload.event_type, to_plain(payload.event_type, payload),
                       self._experiment_of.get(task_id, task_id))
