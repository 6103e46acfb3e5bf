"""How worker processes are started: forked from a forkserver that has imported the job's modules once, or spawned.

A spawned worker is a fresh interpreter: it imports torch, the components and scikit-learn itself (~3 s of CPU
each, all workers at once on a small machine). With `forkserver`, one server process imports the `preload`
modules once, and each worker is a fork of it (milliseconds), as isolated as a spawned one: it shares no threads,
locks or pipes with the main process, re-imports the main module as a spawned worker does, and runs the pool's
initializer.

Forking is only safe from a process that has started no threads, so the server is started with every BLAS/OpenMP
pool capped at one thread (`THREAD_ENV`; each worker then sets torch's threads itself) and with pyarrow's jemalloc
background thread off (pandas imports pyarrow); `server_threads()` lets a test check it. The environment is
changed only while the server starts, so the main process keeps its own.

`MLGYM_WORKER_START_METHOD=spawn` (or `forkserver`) overrides the pool's choice, e.g. to compare the two
(bench/startup.py); the server is one per main process (multiprocessing's), started by the first pool that needs
it and shared by later ones, with the preload list of the first.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from multiprocessing.context import BaseContext

ENV_VAR = "MLGYM_WORKER_START_METHOD"
START_METHODS = ("forkserver", "spawn")
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "JE_ARROW_MALLOC_CONF": "background_thread:false"}


def start_method(preload: Sequence[str]) -> str:
    """`MLGYM_WORKER_START_METHOD` when set; else forkserver when there is something to preload (and the
    platform has it), spawn otherwise."""
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        if chosen not in START_METHODS:
            from mlgym.scheduler.task import SchedulerError
            raise SchedulerError(f"{ENV_VAR} must be one of {', '.join(START_METHODS)}, got {chosen!r}")
        return chosen
    if preload and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return "spawn"


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def worker_context(method: str, preload: Sequence[str]) -> BaseContext:
    """The multiprocessing context for `method`; for forkserver, its server is started now (it imports `preload`
    in the background while the caller goes on) unless it runs already."""
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        from multiprocessing import forkserver
        context.set_forkserver_preload(list(preload))
        with _environment(THREAD_ENV):
            forkserver.ensure_running()
    return context


def _server_pid() -> int | None:
    from multiprocessing import forkserver
    return getattr(forkserver._forkserver, "_forkserver_pid", None)


def prestart_server(preload: Sequence[str]) -> bool:
    """Start the forkserver now, if workers will be forked from one, so that it imports `preload` while the
    caller is still reading configs and importing its own modules; the pool started later finds it running.
    True when this call started it (not when it ran already)."""
    if start_method(preload) != "forkserver":
        return False
    before = _server_pid()
    worker_context("forkserver", preload)
    return _server_pid() not in (None, before)


def stop_server() -> None:
    """Stop this process's forkserver, if one runs, without waiting for it (e.g. the run it was started early
    for was refused: nothing a refusal started stays behind). A later pool starts a new one."""
    import signal
    pid = _server_pid()
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def server_threads() -> int | None:
    """The number of threads of the running forkserver (Linux), None when there is none or it cannot be read."""
    pid = _server_pid()
    try:
        return len(os.listdir(f"/proc/{pid}/task")) if pid else None
    except OSError:
        return None
