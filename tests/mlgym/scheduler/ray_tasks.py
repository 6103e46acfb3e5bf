"""Task functions for the Ray executor tests (module level, so Ray workers import them by name). No torch here."""
from __future__ import annotations

import os
import time
from pathlib import Path

from mlgym.scheduler import TaskContext


def emit_then_wait_for_file(path: str, timeout_s: float, *, context: TaskContext) -> str:
    """Emit one event, then wait until `path` exists: the driver creates it when the event arrives, so this ends
    only if events stream back while the job still runs."""
    context.emit("experiment_status", {"status": "training", "epoch": 1, "num_epochs": 1, "pid": os.getpid()})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return "seen"
        time.sleep(0.01)
    raise TimeoutError(f"the driver did not see the event within {timeout_s} s")


def where_it_ran(*, context: TaskContext) -> dict:
    import ray
    return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(), "device": context.device,
            "worker_index": context.worker_index}


def write_text(path: str, text: str, *, context: TaskContext) -> str:
    Path(path).write_text(text)
    return text


def where_once_two_nodes_ran(folder: str, timeout_s: float, *, context: TaskContext) -> str:
    """Mark `folder` with this node's id, wait until jobs of two different nodes have marked it (so the first job
    holds its slot until a job runs elsewhere), return this node's id."""
    import ray
    node = ray.get_runtime_context().get_node_id()
    Path(folder, node).touch()
    deadline = time.monotonic() + timeout_s
    while len(os.listdir(folder)) < 2:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no job ran on a second node within {timeout_s} s")
        time.sleep(0.1)
    return node


def meet_on_gpu(folder: str, name: str, others: int, timeout_s: float, *, context: TaskContext) -> dict:
    """Leave a mark in `folder`, wait until `others` more jobs have left theirs (so all ran at the same time),
    and say where this ran: node, the GPU ids Ray gave it, CUDA_VISIBLE_DEVICES and the job's device."""
    import ray
    Path(folder, name).write_text(name)
    deadline = time.monotonic() + timeout_s
    while len(os.listdir(folder)) < others + 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} ran alone: the other jobs did not start within {timeout_s} s")
        time.sleep(0.05)
    return {"node": ray.get_runtime_context().get_node_id(), "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "device": context.device}
