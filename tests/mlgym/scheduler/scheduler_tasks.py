"""Task functions for the scheduler tests; module level so spawned workers can import them. No torch here."""
from __future__ import annotations

import os
import random
import time
from pathlib import Path

from mlgym.scheduler import TaskContext, TaskResult

_MARKER: str | None = None


def square(x: int, *, context: TaskContext) -> int:
    return x * x


def emit_steps(n: int, *, context: TaskContext) -> int:
    """Emit n numbered events (valid `experiment_status` payloads with a `step` and `pid` besides), then return n."""
    for i in range(n):
        context.emit("experiment_status", {"status": "training", "epoch": i + 1, "num_epochs": n, "step": i,
                                           "pid": os.getpid()})
    return n


def seeded_walk(seed: int, steps: int, *, context: TaskContext) -> list[float]:
    rng = random.Random(seed)
    position, path = 0.0, []
    for _ in range(steps):
        position += rng.gauss(0.0, 1.0)
        path.append(round(position, 12))
    return path


def fail(message: str, *, context: TaskContext) -> None:
    raise ValueError(message)


def where_am_i(*, context: TaskContext) -> dict:
    return {"device": context.device, "worker_index": context.worker_index, "pid": os.getpid(),
            "attempt": context.attempt}


def announce_and_wait(seconds: float, *, context: TaskContext) -> dict:
    """Tell the main process our pid and attempt (so a test can kill us), then work for a while."""
    context.emit("experiment_status", {"pid": os.getpid(), "attempt": context.attempt})
    if context.attempt == 0:
        time.sleep(seconds)
    return {"attempt": context.attempt, "pid": os.getpid()}


def exit_hard(code: int, *, context: TaskContext) -> None:
    os._exit(code)


def touch(path: str, value: int, *, context: TaskContext) -> int:
    Path(path).write_text(str(value))
    return value


def wait_for_file(path: str, timeout_s: float, *, context: TaskContext) -> str:
    """Succeed once `path` exists; fail after `timeout_s` (proves another task ran meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return Path(path).read_text()
        time.sleep(0.02)
    raise TimeoutError(f"{path} did not appear within {timeout_s} s")


def sleep(seconds: float, *, context: TaskContext) -> float:
    time.sleep(seconds)
    return seconds


def set_marker(value: str) -> None:
    global _MARKER
    _MARKER = value


def read_marker(*, context: TaskContext) -> str | None:
    return _MARKER


def failing_initializer() -> None:
    raise RuntimeError("initializer is broken")


def return_unpicklable(*, context: TaskContext) -> object:
    return lambda: None


def add(a: int, b: int, *, context: TaskContext) -> int:
    return a + b


def args_from_dependencies(results: dict[str, TaskResult]) -> tuple:
    """A `prepare` hook: the sum of the dependencies' values and the ids it saw."""
    return (sum(r.value for r in results.values()), sorted(results))


def best_of(results: dict[str, TaskResult]) -> tuple:
    """A `prepare` hook like a nested-CV refit: pick the id with the highest value."""
    best = max(results.values(), key=lambda r: r.value)
    return (best.task_id, best.value)


def echo(*values: object, context: TaskContext) -> tuple:
    return values


def rendezvous(mine: str, theirs: str, timeout_s: float, *, context: TaskContext) -> int:
    """Write our file and wait for the other task's: succeeds only when both run at the same time."""
    Path(mine).write_text("here")
    wait_for_file(theirs, timeout_s, context=context)
    return os.getpid()
