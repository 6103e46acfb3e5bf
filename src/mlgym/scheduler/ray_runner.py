"""The body of one Ray actor: a persistent process on some node of the cluster that runs one job at a time.

It is the Ray twin of a pool worker (worker.py): it binds its device, runs the initializer once (torch stays
imported between jobs), and runs each task in a thread while the `run` generator streams the task's events back
to the driver in batches, then its result. Events and the result travel on the same stream, so the driver
receives every event of a job before its result.
"""
from __future__ import annotations

import os
import pickle
import queue
import runpy
import threading
import traceback
from collections.abc import Iterator
from typing import Any

from mlgym.events.payloads import as_plain
from mlgym.scheduler.devices import apply_torch_threads, bind_device, set_thread_env
from mlgym.scheduler.task import TaskContext, TaskResult
from mlgym.scheduler.worker import Initializer, describe, execute, run_initializer

_MAX_BATCH = 1000


def run_main_module(path: str | None) -> None:
    """Run the driver's main script under another name (its `if __name__ == "__main__"` block is skipped), so the
    components it registers exist here too; a script this node does not have is skipped."""
    if path and os.path.isfile(path) and not path.endswith(os.path.join("mlgym", "cli", "main.py")):
        runpy.run_path(path, run_name="__mlgym_ray_main__")


class JobRunner:
    """Runs tasks on one node; `where()` answers once it is ready: (node id, pid, device)."""

    def __init__(self, index: int, threads: int | None, initializer: Initializer | None,
                 main_path: str | None = None) -> None:
        import ray
        set_thread_env(threads)
        run_main_module(main_path)
        run_initializer(initializer)
        apply_torch_threads(threads, import_torch=True)
        self.index = index
        self.threads = threads
        # Ray sets CUDA_VISIBLE_DEVICES to the GPU(s) it gave this actor, so the first visible one is ours.
        self.device = "cuda:0" if ray.get_gpu_ids() else "cpu"
        bind_device(self.device)
        self.node_id = ray.get_runtime_context().get_node_id()

    def where(self) -> tuple[str, int, str]:
        return self.node_id, os.getpid(), self.device

    def run(self, task_id: str, attempt: int, blob: bytes) -> Iterator[tuple[str, Any]]:
        """Yields ("started", None) as it begins, then ("events", [(event_type, payload, experiment_id), ...])
        batches, then ("result", TaskResult)."""
        messages: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

        def emit(event_type: str, payload: Any = None, experiment_id: str | None = None) -> None:
            messages.put(("event", (event_type, as_plain(payload), experiment_id or task_id)))

        def context_of(task_id: str, attempt: int) -> TaskContext:
            return TaskContext(device=self.device, worker_index=self.index, attempt=attempt, emit=emit)

        def body() -> None:
            apply_torch_threads(self.threads)  # torch may have been imported by the previous task
            messages.put(("result", _picklable(execute(task_id, attempt, blob, context_of))))

        yield "started", None
        threading.Thread(target=body, name=f"mlgym-job-{task_id}", daemon=True).start()
        while True:
            batch, result = [], None
            kind, item = messages.get()
            while True:
                if kind == "result":
                    result = item
                    break
                batch.append(item)
                if len(batch) >= _MAX_BATCH:
                    break
                try:
                    kind, item = messages.get_nowait()
                except queue.Empty:
                    break
            if batch:
                yield "events", batch
            if result is not None:
                yield "result", result
                return


def _picklable(result: TaskResult) -> TaskResult:
    """The result, or a failed one saying why its value cannot travel back to the driver."""
    try:
        pickle.dumps(result)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        return TaskResult(result.task_id, ok=False, attempts=result.attempts,
                          error=f"the task's return value cannot be pickled: {describe(exc)}",
                          traceback=traceback.format_exc(), duration_s=result.duration_s)
    return result
