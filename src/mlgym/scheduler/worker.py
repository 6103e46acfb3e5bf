"""The body of one worker process: bind a device, run the initializer once, then run tasks one at a time.

Protocol on the worker's own duplex pipe (no lock is shared between processes, so a killed worker cannot block
the others):
  main -> worker: ("task", task_id, attempt, pickled (fn, args))  |  None = stop
  worker -> main: ("ready", pid) | ("init_failed", error, traceback)
                  | ("event", task_id, event_type, payload, experiment_id) | ("result", TaskResult)
Events and the result of a task travel on the same pipe, so the main process receives every event of a task
before its result.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from mlgym.events.payloads import as_plain
from mlgym.scheduler.devices import apply_torch_threads, bind_device, set_thread_env
from mlgym.scheduler.task import TaskContext, TaskResult

Initializer = Callable[[], Any] | tuple[Callable[..., Any], tuple]
_PARENT_POLL_S = 0.5


def task_blob(task: Any, dependency_results: dict[str, Any]) -> bytes | TaskResult:
    """The pickled `(fn, args)` an executor sends for `task` (its `prepare` hook applied), or the failed result
    when `prepare` raises or the task cannot be pickled: the task fails, the run goes on."""
    try:
        args = task.prepare(dependency_results) if task.prepare else task.args
        return pickle.dumps((task.fn, tuple(args)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001
        return TaskResult(task.task_id, ok=False, error=describe(exc), attempts=0, traceback=traceback.format_exc())


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def user_traceback(exc: BaseException) -> str:
    """The traceback of `exc` without the scheduler's own frame that called the task."""
    tb = exc.__traceback__
    tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_initializer(initializer: Initializer | None) -> None:
    """Call `initializer`, given as a callable or as `(fn, args)`."""
    if initializer is None:
        return
    if isinstance(initializer, tuple):
        fn, args = initializer
        fn(*args)
    else:
        initializer()


def _main_process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_when_orphaned(parent_pid: int) -> None:
    """Kill this worker when the main process is gone (e.g. SIGKILLed), so no worker outlives its pool.

    A spawned worker's parent is the main process; a forked one's is the forkserver, which exits when the main
    process does. Either way the worker is orphaned when its parent changes (or the main process is gone)."""
    start_parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != start_parent or not _main_process_alive(parent_pid):
                os._exit(1)
            time.sleep(_PARENT_POLL_S)
    threading.Thread(target=watch, name="mlgym-parent-watch", daemon=True).start()


class _Channel:
    """The worker's end of the pipe; sends are serialized so a task may emit from several threads."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple) -> None:
        with self._lock:
            self.conn.send(message)

    def emitter(self, task_id: str) -> Callable[..., None]:
        def emit(event_type: str, payload: Any = None, experiment_id: str | None = None) -> None:
            self.send(("event", task_id, event_type, as_plain(payload), experiment_id or task_id))
        return emit


def execute(task_id: str, attempt: int, blob: bytes, context_of: Callable[[str, int], TaskContext]
            ) -> TaskResult:
    """Unpickle and run one task; any exception becomes a failed result with its traceback."""
    start = time.perf_counter()
    try:
        fn, args = pickle.loads(blob)
        value = fn(*args, context=context_of(task_id, attempt))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a task's failure is data, not a worker crash
        return TaskResult(task_id, ok=False, error=describe(exc), traceback=user_traceback(exc),
                          attempts=attempt + 1, duration_s=time.perf_counter() - start)
    return TaskResult(task_id, ok=True, value=value, attempts=attempt + 1,
                      duration_s=time.perf_counter() - start)


def _send_result(channel: _Channel, result: TaskResult) -> None:
    try:
        channel.send(("result", result))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        # Pickling happens before any byte is written, so the pipe is still clean here.
        channel.send(("result", TaskResult(result.task_id, ok=False, attempts=result.attempts,
                                           error=f"the task's return value cannot be pickled: {describe(exc)}",
                                           traceback=traceback.format_exc(), duration_s=result.duration_s)))


def worker_main(conn: Connection, worker_index: int, device: str, threads: int | None,
                initializer: Initializer | None, parent_pid: int) -> None:
    """Entry point of a worker process (spawned, or forked from the forkserver)."""
    # Ctrl-C goes to the whole process group; the main process decides how workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A job's data loaders may start worker processes, which a daemonic process may not. Only this process's own
    # flag is cleared: the pool still terminates it at exit, and the loader workers are daemonic themselves.
    multiprocessing.current_process().daemon = False
    set_thread_env(threads)
    _exit_when_orphaned(parent_pid)
    channel = _Channel(conn)
    try:
        bind_device(device)
        run_initializer(initializer)
        apply_torch_threads(threads, import_torch=True)
    except BaseException as exc:  # noqa: BLE001 - report any start-up failure to the main process
        channel.send(("init_failed", describe(exc), traceback.format_exc()))
        return
    channel.send(("ready", os.getpid()))

    def context_of(task_id: str, attempt: int) -> TaskContext:
        return TaskContext(device=device, worker_index=worker_index, attempt=attempt,
                           emit=channel.emitter(task_id))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            # Idle and told to stop: nothing is in flight, so skip the interpreter's slow teardown of torch.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        _, task_id, attempt, blob = message
        apply_torch_threads(threads)  # torch may have been imported by the previous task
        _send_result(channel, execute(task_id, attempt, blob, context_of))
