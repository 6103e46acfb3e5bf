"""What the scheduler runs and what it hands back: tasks, their context, their results, and the executor interface.

The scheduler knows nothing about machine learning: it runs a graph of tasks (a task may depend on others) and
reports what happened through events. A validation strategy builds the tasks; an executor runs them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlgym.errors import MLgymError

# on_event(event_type, payload, experiment_id): called in the main process for every event of a run.
EventCallback = Callable[[str, dict, "str | None"], None]


@dataclass(frozen=True)
class Task:
    """One unit of work: `fn(*args, context=ctx)` run in a worker once every task in `depends_on` is done.

    `fn` must be a module-level (picklable) function. `prepare`, when given, is called in the main process with
    the results of the dependencies (keyed by task id) and returns the args to use instead of `args`.
    `experiment_id` lets several tasks (an ASHA trial resumed at a later rung) share one experiment's events.
    """

    task_id: str
    fn: Callable[..., Any]
    args: tuple = ()
    depends_on: tuple[str, ...] = ()
    prepare: Callable[[dict[str, "TaskResult"]], tuple] | None = None
    experiment_id: str | None = None  # whose events the scheduler's job events are filed under; None: task_id

    @property
    def event_id(self) -> str:
        return self.experiment_id or self.task_id


@dataclass(frozen=True)
class TaskContext:
    """What a task function receives as `context`: where it runs, which attempt this is, and how to emit events.

    `emit(event_type, payload, experiment_id=None)` forwards an event to the main process; `experiment_id`
    defaults to the task id.
    """

    device: str
    worker_index: int
    attempt: int
    emit: Callable[..., None]


@dataclass(frozen=True)
class TaskResult:
    """The outcome of a task: its return value when `ok`, otherwise the error and the traceback as text."""

    task_id: str
    ok: bool
    value: Any = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 1
    duration_s: float = 0.0


class SchedulerError(MLgymError):
    """The task graph is malformed (duplicate or invalid id, unknown dependency, cycle) or the pool cannot work."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by Ctrl-C or SIGTERM; every worker was terminated before this was raised."""

    def __init__(self, signum: int | None = None) -> None:
        super().__init__(f"interrupted by signal {signum}" if signum else "interrupted")
        self.signum = signum


class Executor(ABC):
    """Runs a graph of tasks and returns one result per task; every event goes to `on_event` in the main process."""

    @abstractmethod
    def run(self, tasks: Sequence[Task], on_event: EventCallback,
            feeder: Callable[[TaskResult], Sequence[Task]] | None = None) -> dict[str, TaskResult]:
        """Run `tasks` (dependencies first) and return their results keyed by task id.

        `feeder`, when given, is called in the executor's main loop (the thread that calls `on_event`) with every
        result, and the tasks it returns are run too (each announced with `job_scheduled`); the run ends when
        every task has a result and the feeder returned nothing more. The results include the fed tasks."""
