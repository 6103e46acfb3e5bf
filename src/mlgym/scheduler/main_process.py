"""The in-process twin of the worker pool: the same graph order and events, no processes; for debugging and tests.

A breakpoint in a task works here, and a traceback points at the real line. A task that kills the process kills
the run, so there are no retries. Tasks run with the threads of one pool worker (`threads`, 1 by default, as the
pool's), so both give the same numbers; torch's own default (every core) makes small models wait on each other's
threads, badly so on a busy machine. The caller's thread count is restored afterwards.
"""
from __future__ import annotations

from typing import Any

import os
import time
import traceback
from collections.abc import Callable, Sequence

from mlgym.events.payloads import as_plain
from mlgym.scheduler.devices import torch_threads
from mlgym.scheduler.graph import TaskGraph
from mlgym.scheduler.job_events import JobEvents, Placement
from mlgym.scheduler.task import EventCallback, Executor, Task, TaskContext, TaskResult
from mlgym.scheduler.worker import describe, user_traceback


class MainProcessExecutor(Executor):
    """Runs the tasks one after another in this process, on `device`, with the pool's semantics."""

    def __init__(self, device: str = "cpu", threads: int | None = 1) -> None:
        self.device = device
        self.threads = threads

    def run(self, tasks: Sequence[Task], on_event: EventCallback,
            feeder: Callable[[TaskResult], Sequence[Task]] | None = None) -> dict[str, TaskResult]:
        graph = TaskGraph(tasks, feeder)
        events = JobEvents(on_event)
        for task in tasks:
            events.scheduled(task)
        where = Placement(device=self.device, worker=0, pid=os.getpid())
        while not graph.finished():
            task = graph.pop_ready()
            if task is None:  # cannot happen for a validated graph; guards against an endless loop
                raise RuntimeError("no task is ready but the run is not finished")
            try:
                args = task.prepare(graph.dependency_results(task)) if task.prepare else task.args
            except Exception as exc:  # noqa: BLE001 - as in the pool: the task fails before it runs
                result = TaskResult(task.task_id, ok=False, error=describe(exc), traceback=traceback.format_exc(),
                                    attempts=0)
                events.failed(result, None, 0)
            else:
                events.running(task.task_id, where, 0)
                result = self._execute(task, tuple(args), on_event)
                if result.ok:
                    events.done(result, where, 0)
                else:
                    events.failed(result, where, 0)
            for cascaded in graph.complete(result):
                events.failed(cascaded, None, 0)
            for added in graph.drain_added():
                events.scheduled(added)
                if added.task_id in graph.results:  # a dependency had failed already
                    events.failed(graph.results[added.task_id], None, 0)
        return {task_id: graph.results[task_id] for task_id in graph.tasks}

    def _execute(self, task: Task, args: tuple, on_event: EventCallback) -> TaskResult:
        def emit(event_type: str, payload: Any = None, experiment_id: str | None = None) -> None:
            on_event(event_type, as_plain(payload), experiment_id or task.task_id)

        context = TaskContext(device=self.device, worker_index=0, attempt=0, emit=emit)
        start = time.perf_counter()
        try:
            with torch_threads(self.threads):
                value = task.fn(*args, context=context)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a task's failure is data
            return TaskResult(task.task_id, ok=False, error=describe(exc), traceback=user_traceback(exc),
                              duration_s=time.perf_counter() - start)
        return TaskResult(task.task_id, ok=True, value=value, duration_s=time.perf_counter() - start)
