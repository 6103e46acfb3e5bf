"""The worker pool: P persistent worker processes, one device each, running a task graph without stage barriers.

The main process is the only one that calls `on_event`, so the event log keeps one writer and a gapless `seq`.
It waits on every worker's pipe and process sentinel at once (multiprocessing.connection.wait), so a finished
task is followed by the next one at once, and a worker that dies (SIGKILL, segfault, out of memory) is seen
within moments: its task is retried on a fresh worker that takes its place, up to `max_retries` times.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from mlgym.scheduler.devices import device_for_worker
from mlgym.scheduler.graph import TaskGraph
from mlgym.scheduler.interrupts import sigterm_raises
from mlgym.scheduler.job_events import JobEvents, Placement
from mlgym.scheduler.start_method import start_method, worker_context
from mlgym.scheduler.task import EventCallback, Executor, SchedulerError, Task, TaskResult
from mlgym.scheduler.worker import Initializer, task_blob, worker_main

_WAIT_S = 1.0
_JOIN_S = 3.0
_MAX_START_FAILURES = 3


@dataclass
class _Worker:
    """The main process's view of one worker process."""

    index: int
    device: str
    process: BaseProcess
    conn: Connection
    pid: int | None = None
    ready: bool = False
    task_id: str | None = None
    attempt: int = 0

    def placement(self) -> Placement:
        return Placement(device=self.device, worker=self.index, pid=self.pid or self.process.pid or -1)


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _exit_description(exitcode: int | None) -> str:
    if exitcode is None:
        return "an unknown status"
    if exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-exitcode).name}"
        return f"signal {-exitcode}"
    return f"exit code {exitcode}"


class WorkerPool(Executor):
    """Runs tasks on `process_count` persistent worker processes; worker i uses `devices[i % len(devices)]`.

    Used as a context manager the workers live across several `run` calls; otherwise `run` starts them and stops
    them when it returns. `worker_initializer` (a picklable callable, or `(fn, args)`) runs once in every worker.
    `threads_per_worker` caps BLAS/OpenMP threads and calls torch.set_num_threads (importing torch once per
    worker when it is installed); None leaves threads alone and does not import torch.
    `preload`: modules imported once by a forkserver, of which every worker is a fork (`start_method.py`); without
    it workers are spawned. `start(wait=False)` starts the workers in the background (the caller goes on planning).
    """

    def __init__(self, process_count: int, devices: Sequence[str] = ("cpu",), max_retries: int = 1,
                 threads_per_worker: int | None = 1, worker_initializer: Initializer | None = None,
                 preload: Sequence[str] = ()) -> None:
        if process_count < 1:
            raise SchedulerError(f"process_count must be at least 1, got {process_count}")
        if max_retries < 0:
            raise SchedulerError(f"max_retries must be 0 or more, got {max_retries}")
        if not devices:
            raise SchedulerError("devices must name at least one device, e.g. ['cpu'] or ['cuda:0']")
        self.process_count = process_count
        self.devices = tuple(devices)
        self.max_retries = max_retries
        self.threads_per_worker = threads_per_worker
        self.worker_initializer = worker_initializer
        self.preload = tuple(preload)
        self.start_method = start_method(self.preload)
        self._context: multiprocessing.context.BaseContext | None = None
        self._workers: list[_Worker] = []
        self._start_failures = [0] * process_count
        self._starter: threading.Thread | None = None
        self._start_error: BaseException | None = None
        self._closing = False

    # --- worker processes -------------------------------------------------------------------------------
    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (a replaced worker's new pid included)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    @property
    def started(self) -> bool:
        return bool(self._workers) or self._starter is not None

    def start(self, wait: bool = True) -> None:
        """Start the worker processes (a no-op when they run or start already); `wait=False` returns at once and
        starts them in a background thread (a forkserver's first fork waits for its imports)."""
        if self.started:
            return
        self._closing = False
        if wait:
            self._start_all()
            return
        self._starter = threading.Thread(target=self._start_in_background, name="mlgym-pool-start", daemon=True)
        self._starter.start()

    def _start_all(self) -> None:
        self._context = self._context or worker_context(self.start_method, self.preload)
        for i in range(self.process_count):
            if self._closing:  # closed while starting: start no more
                return
            self._workers.append(self._spawn(i))

    def _start_in_background(self) -> None:
        try:
            self._start_all()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller's next start/run
            self._start_error = exc

    def _await_start(self) -> None:
        """Wait for a background start to finish; re-raise its error."""
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._start_error is not None:
            error, self._start_error = self._start_error, None
            raise SchedulerError(f"the worker processes could not be started: {describe_error(error)}") from error

    def _spawn(self, index: int) -> _Worker:
        assert self._context is not None
        main_end, worker_end = self._context.Pipe(duplex=True)
        device = device_for_worker(self.devices, index)
        process = self._context.Process(
            target=worker_main, name=f"mlgym-worker-{index}", daemon=True,
            args=(worker_end, index, device, self.threads_per_worker, self.worker_initializer, os.getpid()))
        process.start()
        worker_end.close()
        return _Worker(index=index, device=device, process=process, conn=main_end)

    def close(self, wait: bool = True) -> None:
        """Stop the workers: ask idle ones to exit, terminate whatever is still alive after a grace period.

        `wait=False` (the end of a run) only asks them: an idle worker exits at once (`os._exit`), so there is
        nothing to wait for; a pool still starting in the background starts no more workers and stops the ones it
        started. Multiprocessing reaps the exited processes (at the latest when this process exits)."""
        self._closing = True
        if not wait and self._starter is not None and self._starter.is_alive():
            threading.Thread(target=self._close_after_start, name="mlgym-pool-close", daemon=True).start()
            return
        with contextlib.suppress(SchedulerError):
            self._await_start()
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        if not wait:
            for worker in self._workers:
                worker.conn.close()
            self._workers = []
            return
        for worker in self._workers:
            worker.process.join(_JOIN_S)
        self.terminate()

    def _close_after_start(self) -> None:
        starter = self._starter
        if starter is not None:
            starter.join()
        self.close(wait=False)

    def terminate(self) -> None:
        """Terminate and join every worker now (SIGTERM, then SIGKILL for any that linger)."""
        self._closing = True
        with contextlib.suppress(SchedulerError):
            self._await_start()
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join(_JOIN_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
            worker.process.close()
        self._workers = []

    def __enter__(self) -> "WorkerPool":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- running a task graph ---------------------------------------------------------------------------
    def run(self, tasks: Sequence[Task], on_event: EventCallback,
            feeder: Callable[[TaskResult], Sequence[Task]] | None = None) -> dict[str, TaskResult]:
        graph = TaskGraph(tasks, feeder)
        owns_workers = not self.started
        events = JobEvents(on_event)
        try:
            with sigterm_raises():
                for task in tasks:
                    events.scheduled(task)
                if tasks:
                    self.start()
                    self._await_start()
                    _Run(self, graph, events, on_event).loop()
                if owns_workers:
                    self.close()
        except BaseException:
            self.terminate()
            raise
        return {task_id: graph.results[task_id] for task_id in graph.tasks}

    def _replace(self, worker: _Worker) -> _Worker:
        worker.process.join(_JOIN_S)
        worker.conn.close()
        with contextlib.suppress(ValueError):
            worker.process.close()
        fresh = self._spawn(worker.index)
        self._workers[worker.index] = fresh
        return fresh


class _Run:
    """The main loop of one `WorkerPool.run`: dispatch ready tasks, receive messages, handle dead workers."""

    def __init__(self, pool: WorkerPool, graph: TaskGraph, events: JobEvents, on_event: EventCallback) -> None:
        self.pool = pool
        self.graph = graph
        self.events = events
        self.on_event = on_event
        self.attempts = {task_id: 0 for task_id in graph.tasks}
        self.blobs: dict[str, bytes] = {}

    def loop(self) -> None:
        while not self.graph.finished():
            self._dispatch()
            if self.graph.finished():
                break
            workers = list(self.pool._workers)
            by_handle: dict[object, tuple[str, _Worker]] = {}
            for w in workers:
                by_handle[w.conn] = ("conn", w)
                by_handle[w.process.sentinel] = ("sentinel", w)
            ready = wait(list(by_handle), timeout=_WAIT_S)
            dead = []
            for handle in ready:
                kind, worker = by_handle[handle]
                if kind == "conn":
                    self._receive(worker)
                else:
                    dead.append(worker)
            for worker in dead:
                self._handle_death(worker)

    # --- dispatch -------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        for worker in self.pool._workers:
            while worker.ready and worker.task_id is None and self.graph.has_ready():
                task = self.graph.pop_ready()
                assert task is not None
                blob = self._blob_for(task)
                if blob is None:
                    continue
                self._send(worker, task, blob)

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

    def _send(self, worker: _Worker, task: Task, blob: bytes) -> None:
        attempt = self.attempts.setdefault(task.task_id, 0)
        worker.task_id, worker.attempt = task.task_id, attempt
        self.events.running(task.task_id, worker.placement(), attempt)
        try:
            worker.conn.send(("task", task.task_id, attempt, blob))
        except OSError:
            pass  # the worker just died; its sentinel reports it and the task is retried from there

    # --- messages from workers ------------------------------------------------------------------------
    def _receive(self, worker: _Worker) -> None:
        """Handle every message that is waiting on the worker's pipe."""
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass  # the worker is gone; its sentinel is handled by the loop

    def _handle(self, worker: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "event":
            _, task_id, event_type, payload, experiment_id = message
            self.on_event(event_type, payload, experiment_id)
        elif kind == "result":
            result: TaskResult = message[1]
            placement, attempt = worker.placement(), worker.attempt
            worker.task_id = None
            self._finish(result, placement, attempt)
        elif kind == "ready":
            worker.pid, worker.ready = message[1], True
            self.pool._start_failures[worker.index] = 0
        elif kind == "init_failed":
            raise SchedulerError(f"worker {worker.index} on {worker.device} could not start: {message[1]}\n"
                                 f"{message[2]}")

    def _finish(self, result: TaskResult, placement: Placement | None, attempt: int) -> None:
        if result.ok:
            self.events.done(result, placement, attempt)  # type: ignore[arg-type]
        else:
            self.events.failed(result, placement, attempt)
        for cascaded in self.graph.complete(result):
            self.events.failed(cascaded, None, 0)
        for added in self.graph.drain_added():
            self.events.scheduled(added)
            if added.task_id in self.graph.results:  # a dependency had failed already
                self.events.failed(self.graph.results[added.task_id], None, 0)

    # --- dead workers ---------------------------------------------------------------------------------
    def _handle_death(self, worker: _Worker) -> None:
        self._receive(worker)  # whatever it sent before dying comes first, a result included
        worker.process.join(_JOIN_S)
        how = _exit_description(worker.process.exitcode)
        placement, task_id, attempt = worker.placement(), worker.task_id, worker.attempt
        if not worker.ready:
            self.pool._start_failures[worker.index] += 1
            if self.pool._start_failures[worker.index] >= _MAX_START_FAILURES:
                raise SchedulerError(f"worker {worker.index} on {worker.device} died {_MAX_START_FAILURES} "
                                     f"times while starting (last with {how})")
        self.pool._replace(worker)
        if task_id is None:
            return
        error = (f"WorkerDied: worker {worker.index} (pid {placement.pid}) on {worker.device} died with {how} "
                 f"while running {task_id!r} (attempt {attempt})")
        if attempt < self.pool.max_retries:
            self.events.retrying(task_id, placement, attempt, error)
            self.attempts[task_id] = attempt + 1
            self.graph.requeue(task_id)
        else:
            self._finish(TaskResult(task_id, ok=False, error=error, traceback="", attempts=attempt + 1),
                         placement, attempt)
