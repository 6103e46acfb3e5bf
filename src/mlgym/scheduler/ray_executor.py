"""The Ray executor: the task graph runs on the nodes of a Ray cluster, with the worker pool's semantics.

One persistent actor per slot of the cluster (a slot = what one job needs: `cpus_per_job`, `gpus_per_job`), so
torch stays imported between jobs and MLgym, not Ray, decides the order (retries first, then ready refits, like
the pool). Each job's events stream back on a Ray streaming generator, in batches, and the driver calls
`on_event` for them in its main thread, so the event log keeps its single writer. A node that dies takes its
actors with it: their jobs are retried on the surviving slots (`job_status` retrying, like a dead pool worker),
and a replacement actor is started that runs as soon as the cluster has room for it again. A job handed to an
actor that died before it began (an idle actor on a node that died) is not an attempt: it goes back to the queue.
While jobs wait for a slot, the executor looks for room every few seconds: a node that joins mid-run gets actors.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mlgym.scheduler.graph import TaskGraph
from mlgym.scheduler.interrupts import sigterm_raises
from mlgym.scheduler.job_events import JobEvents, Placement
from mlgym.scheduler.ray_cluster import (JobResources, check_capacity, connect, live_nodes, main_module_path,
                                         total_slots)
from mlgym.scheduler.task import EventCallback, Executor, SchedulerError, Task, TaskResult
from mlgym.scheduler.worker import Initializer, task_blob

_WAIT_S = 1.0
_CAPACITY_CHECK_S = 5.0
_GROW_CHECK_S = 2.0
_MAX_UNSTARTED_LOSSES = 3  # a task whose actors keep dying before it begins fails after this many


@dataclass
class _Slot:
    """The driver's view of one actor."""

    index: int
    actor: Any
    ready_ref: Any = None
    node: str | None = None
    pid: int = -1
    device: str = "?"
    task_id: str | None = None
    attempt: int = 0
    stream: Any = None
    started: bool = False

    @property
    def ready(self) -> bool:
        return self.ready_ref is None

    def placement(self) -> Placement:
        return Placement(device=self.device, worker=self.index, pid=self.pid, node=self.node)


class RayExecutor(Executor):
    """Runs tasks on a Ray cluster at `address` ('auto' or HOST:PORT), one job per `resources` slot.

    Used as a context manager the actors live across several `run` calls (as a started WorkerPool's workers do);
    otherwise `run` starts them and kills them when it returns.
    """

    def __init__(self, address: str = "auto", resources: JobResources = JobResources(), max_retries: int = 1,
                 worker_initializer: Initializer | None = None, env_vars: dict[str, str] | None = None,
                 max_slots: int | None = None) -> None:
        if max_retries < 0:
            raise SchedulerError(f"max_retries must be 0 or more, got {max_retries}")
        self.address = address
        self.resources = resources
        self.max_retries = max_retries
        self.worker_initializer = worker_initializer
        self.env_vars = env_vars or {}
        self.max_slots = max_slots
        self._slots: list[_Slot] = []
        self._actor_class: Any = None
        self._slot_limit: int | None = max_slots

    # --- the cluster and its actors ---------------------------------------------------------------------
    def connect(self) -> int:
        """Connect and check that some node can run a job; returns how many jobs the cluster runs at once."""
        connect(self.address, self.env_vars)
        return check_capacity(live_nodes(), self.resources, self.address)

    def start(self, max_jobs: int | None = None) -> None:
        """Start one actor per slot of the cluster (at most `max_jobs`, `max_slots`); a no-op when started."""
        if self._slots:
            return
        count = self.connect()
        self._slot_limit = min((x for x in (max_jobs, self.max_slots) if x is not None), default=None)
        if self._slot_limit is not None:
            count = min(count, self._slot_limit)
        self._slots = [self._new_slot(i) for i in range(max(1, count))]

    def grow(self) -> int:
        """Start actors for room the cluster gained since `start` (a node that joined), up to the slot limit;
        returns how many were started."""
        capacity = total_slots(live_nodes(), self.resources)
        if self._slot_limit is not None:
            capacity = min(capacity, self._slot_limit)
        added = [self._new_slot(index) for index in range(len(self._slots), capacity)]
        self._slots.extend(added)
        return len(added)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until every slot's actor has started (a warm executor, as after a run's first seconds)."""
        import ray
        pending = [slot for slot in self._slots if slot.ready_ref is not None]
        ready, waiting = ray.wait([s.ready_ref for s in pending], num_returns=len(pending), timeout=timeout)
        if waiting:
            raise SchedulerError(f"{len(waiting)} of {len(self._slots)} Ray workers did not start within "
                                 f"{timeout:g} s")
        for slot in pending:
            slot.node, slot.pid, slot.device = ray.get(slot.ready_ref)
            slot.ready_ref = None

    def _new_slot(self, index: int) -> _Slot:
        import ray
        from mlgym.scheduler.ray_runner import JobRunner
        if self._actor_class is None:
            self._actor_class = ray.remote(JobRunner).options(max_restarts=0,
                                                              **self.resources.actor_options())
        actor = self._actor_class.remote(index, self.resources.threads, self.worker_initializer,
                                         main_module_path())
        return _Slot(index=index, actor=actor, ready_ref=actor.where.remote())

    def replace(self, slot: _Slot) -> _Slot:
        """Kill a slot's actor (if it still runs) and start a fresh one in its place."""
        _kill(slot.actor)
        fresh = self._new_slot(slot.index)
        self._slots[slot.index] = fresh
        return fresh

    @property
    def slots(self) -> list[_Slot]:
        return list(self._slots)

    def close(self) -> None:
        """Kill every actor (an idle one holds nothing; a running job is abandoned)."""
        for slot in self._slots:
            _kill(slot.actor)
        self._slots = []

    def __enter__(self) -> "RayExecutor":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- running a task graph ---------------------------------------------------------------------------
    def run(self, tasks: Sequence[Task], on_event: EventCallback,
            feeder: Callable[[TaskResult], Sequence[Task]] | None = None) -> dict[str, TaskResult]:
        graph = TaskGraph(tasks, feeder)
        owns_actors = not self._slots
        events = JobEvents(on_event)
        try:
            with sigterm_raises():
                if tasks:  # a feeder may add tasks: then every slot of the cluster may get one
                    self.start(max_jobs=None if feeder is not None else len(tasks))
                for task in tasks:
                    events.scheduled(task)
                if tasks:
                    _RayRun(self, graph, events, on_event).loop()
        except BaseException:
            self.close()  # Ctrl-C, SIGTERM or a scheduler error: no job may go on running on the cluster
            raise
        if owns_actors:
            self.close()
        return {task_id: graph.results[task_id] for task_id in graph.tasks}


def _kill(actor: Any) -> None:
    import ray
    with contextlib.suppress(Exception):
        ray.kill(actor, no_restart=True)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:1] + [line for line in lines if "died because" in line][:1])


class _RayRun:
    """The main loop of one `RayExecutor.run`: dispatch ready tasks, receive streamed messages, handle deaths."""

    def __init__(self, executor: RayExecutor, graph: TaskGraph, events: JobEvents, on_event: EventCallback) -> None:
        self.executor = executor
        self.graph = graph
        self.events = events
        self.on_event = on_event
        self.attempts = {task_id: 0 for task_id in graph.tasks}
        self.blobs: dict[str, bytes] = {}
        self.unstarted_losses = {task_id: 0 for task_id in graph.tasks}
        self.last_capacity_check = time.monotonic()
        self.last_grow_check = time.monotonic()

    def loop(self) -> None:
        import ray
        while not self.graph.finished():
            self._dispatch()
            if self.graph.finished():
                break
            by_handle: dict[int, tuple[str, _Slot]] = {}
            waitables = []
            for slot in self.executor.slots:
                if slot.ready_ref is not None:
                    by_handle[id(slot.ready_ref)] = ("ready", slot)
                    waitables.append(slot.ready_ref)
                elif slot.stream is not None:
                    by_handle[id(slot.stream)] = ("stream", slot)
                    waitables.append(slot.stream)
            ready, _ = ray.wait(waitables, num_returns=1, timeout=_WAIT_S) if waitables else ([], [])
            for handle in ready:
                kind, slot = by_handle[id(handle)]
                if kind == "ready":
                    self._on_ready(slot)
                else:
                    self._on_stream(slot)
            if not ready:
                self._check_capacity()
            self._grow_when_jobs_wait()

    # --- dispatch -------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for slot in self.executor.slots:
            while slot.ready and slot.task_id is None and self.graph.has_ready():
                task = self.graph.pop_ready()
                assert task is not None
                blob = self._blob_for(task)
                if blob is not None:
                    self._send(slot, task, blob)

    def _blob_for(self, task: Task) -> bytes | None:
        """Pickle (fn, args) once per task; a failing `prepare` or an unpicklable task fails the task."""
        if task.task_id in self.blobs:
            return self.blobs[task.task_id]
        blob = task_blob(task, self.graph.dependency_results(task))
        if isinstance(blob, TaskResult):
            self._finish(blob, None, 0)
            return None
        self.blobs[task.task_id] = blob
        return blob

    def _send(self, slot: _Slot, task: Task, blob: bytes) -> None:
        """Hand a task to an actor; its `running` event is sent when the actor says it began."""
        attempt = self.attempts.setdefault(task.task_id, 0)
        slot.task_id, slot.attempt, slot.started = task.task_id, attempt, False
        slot.stream = slot.actor.run.options(num_returns="streaming").remote(task.task_id, attempt, blob)

    # --- messages from actors -------------------------------------------------------------------------
    def _on_ready(self, slot: _Slot) -> None:
        import ray
        from ray.exceptions import RayActorError
        try:
            slot.node, slot.pid, slot.device = ray.get(slot.ready_ref)
        except RayActorError as exc:
            if exc.actor_init_failed:
                raise SchedulerError(f"Ray worker {slot.index} could not start: {_first_line(exc)}") from None
            self.executor.replace(slot)  # its node died while it started; the new one goes where there is room
            return
        slot.ready_ref = None

    def _on_stream(self, slot: _Slot) -> None:
        import ray
        from ray.exceptions import ObjectLostError, RayActorError, RayTaskError, WorkerCrashedError
        try:
            message = ray.get(next(slot.stream))
        except StopIteration:
            self._failed(slot, "the Ray worker's stream ended without a result")
            return
        except (RayActorError, WorkerCrashedError, ObjectLostError) as exc:
            self._handle_death(slot, exc)
            return
        except RayTaskError as exc:
            self._failed(slot, f"the Ray worker failed: {_first_line(exc)}")
            return
        kind, body = message
        if kind == "started":
            slot.started = True
            self.events.running(slot.task_id, slot.placement(), slot.attempt)  # type: ignore[arg-type]
        elif kind == "events":
            for event_type, payload, experiment_id in body:
                self.on_event(event_type, payload, experiment_id)
        else:
            result: TaskResult = body
            placement, attempt = slot.placement(), slot.attempt
            slot.task_id, slot.stream = None, None
            self._finish(result, placement, attempt)

    def _failed(self, slot: _Slot, error: str) -> None:
        task_id, placement, attempt = slot.task_id, slot.placement(), slot.attempt
        slot.task_id, slot.stream = None, None
        assert task_id is not None
        self._finish(TaskResult(task_id, ok=False, error=error, traceback="", attempts=attempt + 1), placement,
                     attempt)

    def _finish(self, result: TaskResult, placement: Placement | None, attempt: int) -> None:
        if result.ok:
            self.events.done(result, placement, attempt)  # type: ignore[arg-type]
        else:
            self.events.failed(result, placement, attempt)
        for cascaded in self.graph.complete(result):
            self.events.failed(cascaded, None, 0)
        for added in self.graph.drain_added():  # an adaptive search's next tasks
            self.events.scheduled(added)
            if added.task_id in self.graph.results:  # a dependency had failed already
                self.events.failed(self.graph.results[added.task_id], None, 0)

    # --- dead actors and nodes ------------------------------------------------------------------------
    def _handle_death(self, slot: _Slot, exc: BaseException) -> None:
        placement, task_id, attempt, started = slot.placement(), slot.task_id, slot.attempt, slot.started
        self.executor.replace(slot)
        assert task_id is not None
        if not started and self.unstarted_losses.get(task_id, 0) < _MAX_UNSTARTED_LOSSES:
            # the actor was gone before the task reached it: nothing ran, so no attempt was spent
            self.unstarted_losses[task_id] = self.unstarted_losses.get(task_id, 0) + 1
            self.graph.requeue(task_id)
            return
        node = (placement.node or "?")[:12]
        error = (f"WorkerDied: Ray worker {slot.index} (pid {placement.pid}) on node {node} died while running "
                 f"{task_id!r} (attempt {attempt}): {_first_line(exc)}")
        if attempt < self.executor.max_retries:
            self.events.retrying(task_id, placement, attempt, error)
            self.attempts[task_id] = attempt + 1
            self.graph.requeue(task_id)
        else:
            self._finish(TaskResult(task_id, ok=False, error=error, traceback="", attempts=attempt + 1),
                         placement, attempt)

    def _grow_when_jobs_wait(self) -> None:
        """Every few seconds while ready jobs wait for a slot, start actors on room a joining node brought."""
        if not self.graph.has_ready() or any(s.ready and s.task_id is None for s in self.executor.slots):
            return
        now = time.monotonic()
        if now - self.last_grow_check < _GROW_CHECK_S:
            return
        self.last_grow_check = now
        self.executor.grow()

    def _check_capacity(self) -> None:
        """With nothing running and nothing starting up for a while, fail clearly if no node can run a job."""
        if any(s.ready or s.stream is not None for s in self.executor.slots):
            return
        now = time.monotonic()
        if now - self.last_capacity_check < _CAPACITY_CHECK_S:
            return
        self.last_capacity_check = now
        try:
            check_capacity(live_nodes(), self.executor.resources, self.executor.address)
        except Exception as exc:  # noqa: BLE001 - the cluster lost every node that fits a job
            raise SchedulerError(f"the Ray cluster can no longer run any job: {exc}") from None
