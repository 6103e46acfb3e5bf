"""The bookkeeping of a task graph: which tasks are ready, which are done, which fail because a dependency failed.

Both executors use it, so the worker pool and its in-process twin schedule in exactly the same order.
A `feeder` (an adaptive search) is asked after every result for tasks to add; they join the ready queue, and the
executor emits `job_scheduled` for them (`drain_added`). The run is finished when every known task has a result.
A task becomes ready the moment its last dependency is done; ready tasks that had dependencies (a nested-CV
refit) go before tasks that never had any, so a refit starts as soon as its inner folds finish.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from mlgym.events.schema import is_valid_id
from mlgym.scheduler.task import SchedulerError, Task, TaskResult

_RETRY, _DEPENDENT, _ROOT = 0, 1, 2

# feeder(result) -> tasks to add: called in the executor's main loop after every result (see Executor.run)
Feeder = Callable[[TaskResult], Sequence[Task]]


def validate_tasks(tasks: Sequence[Task]) -> None:
    """Raise SchedulerError when ids are invalid or repeated, a dependency is unknown, or the graph has a cycle."""
    seen: set[str] = set()
    for task in tasks:
        if not is_valid_id(task.task_id):
            raise SchedulerError(f"task id {task.task_id!r} must match [A-Za-z0-9._-]+ (1 to 128 characters)")
        if task.task_id in seen:
            raise SchedulerError(f"task id {task.task_id!r} is used twice; task ids must be unique")
        if not callable(task.fn):
            raise SchedulerError(f"task {task.task_id!r}: fn must be a module-level function, got {task.fn!r}")
        seen.add(task.task_id)
    for task in tasks:
        for dep in task.depends_on:
            if dep not in seen:
                raise SchedulerError(f"task {task.task_id!r} depends on unknown task {dep!r}")
            if dep == task.task_id:
                raise SchedulerError(f"task {task.task_id!r} depends on itself")
    _check_acyclic(tasks)


def _check_acyclic(tasks: Sequence[Task]) -> None:
    pending = {t.task_id: set(t.depends_on) for t in tasks}
    dependents: dict[str, list[str]] = {t.task_id: [] for t in tasks}
    for t in tasks:
        for dep in set(t.depends_on):
            dependents[dep].append(t.task_id)
    free = [tid for tid, deps in pending.items() if not deps]
    visited = 0
    while free:
        tid = free.pop()
        visited += 1
        for child in dependents[tid]:
            pending[child].discard(tid)
            if not pending[child]:
                free.append(child)
    if visited != len(tasks):
        cycle = sorted(tid for tid, deps in pending.items() if deps)
        raise SchedulerError(f"the task graph has a cycle among: {', '.join(cycle[:10])}")


class TaskGraph:
    """Tracks one run of a validated task list: the ready queue, the results, and failure propagation."""

    def __init__(self, tasks: Sequence[Task], feeder: Feeder | None = None) -> None:
        validate_tasks(tasks)
        self.feeder = feeder
        self._added: list[Task] = []
        self.tasks = {t.task_id: t for t in tasks}
        self.results: dict[str, TaskResult] = {}
        self._index = {t.task_id: i for i, t in enumerate(tasks)}
        self._waiting_on = {t.task_id: set(t.depends_on) for t in tasks}
        self._dependents: dict[str, list[str]] = {t.task_id: [] for t in tasks}
        for t in tasks:
            for dep in dict.fromkeys(t.depends_on):
                self._dependents[dep].append(t.task_id)
        self._ready: list[tuple[int, int, str]] = []
        for t in tasks:
            if not t.depends_on:
                self._push(t.task_id, _ROOT)

    def add(self, tasks: Sequence[Task]) -> None:
        """Add tasks while the graph runs (from a feeder); their dependencies must be known tasks."""
        validate_tasks([*self.tasks.values(), *tasks])
        for t in tasks:
            self._index[t.task_id] = len(self._index)
            self.tasks[t.task_id] = t
            self._waiting_on[t.task_id] = {d for d in t.depends_on if d not in self.results}
            self._dependents[t.task_id] = []
            for dep in dict.fromkeys(t.depends_on):
                self._dependents[dep].append(t.task_id)
            failed = next((d for d in t.depends_on if d in self.results and not self.results[d].ok), None)
            if failed is not None:
                self.results[t.task_id] = TaskResult(t.task_id, ok=False, attempts=0, error=(
                    f"DependencyFailed: dependency {failed!r} of {t.task_id!r} failed"))
            elif not self._waiting_on[t.task_id]:
                self._push(t.task_id, _DEPENDENT if t.depends_on else _ROOT)
            self._added.append(t)

    def drain_added(self) -> list[Task]:
        """The tasks a feeder added since the last call (the executor emits `job_scheduled` for them)."""
        added, self._added = self._added, []
        return added

    def _push(self, task_id: str, rank: int) -> None:
        heapq.heappush(self._ready, (rank, self._index[task_id], task_id))

    def has_ready(self) -> bool:
        return bool(self._ready)

    def pop_ready(self) -> Task | None:
        """Return the next task to start, or None when nothing is ready."""
        if not self._ready:
            return None
        return self.tasks[heapq.heappop(self._ready)[2]]

    def requeue(self, task_id: str) -> None:
        """Put a task back at the front of the queue (a retry after its worker died)."""
        self._push(task_id, _RETRY)

    def finished(self) -> bool:
        return len(self.results) == len(self.tasks)

    def dependency_results(self, task: Task) -> dict[str, TaskResult]:
        return {dep: self.results[dep] for dep in task.depends_on}

    def complete(self, result: TaskResult) -> list[TaskResult]:
        """Record a result; return the results of dependents that fail because of it (transitively).

        With a feeder, each recorded result is then handed to it and the tasks it returns are added."""
        cascade = self._record(result)
        if self.feeder is not None:
            for recorded in (result, *cascade):
                new = self.feeder(recorded)
                if new:
                    self.add(new)
        return cascade

    def _record(self, result: TaskResult) -> list[TaskResult]:
        self.results[result.task_id] = result
        if result.ok:
            for child in self._dependents[result.task_id]:
                waiting = self._waiting_on[child]
                waiting.discard(result.task_id)
                if not waiting and child not in self.results:
                    self._push(child, _DEPENDENT)
            return []
        return self._fail_dependents(result.task_id)

    def _fail_dependents(self, failed_id: str) -> list[TaskResult]:
        cascade: list[TaskResult] = []
        stack = [(failed_id, child) for child in self._dependents[failed_id]]
        while stack:
            cause, child = stack.pop(0)
            if child in self.results:
                continue
            result = TaskResult(task_id=child, ok=False, attempts=0,
                                error=f"DependencyFailed: dependency {cause!r} of {child!r} failed")
            self.results[child] = result
            cascade.append(result)
            stack.extend((child, grandchild) for grandchild in self._dependents[child])
        return cascade
