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


def where_once_nodes_joined(nodes: int, then_sleep_s: float, timeout_s: float, *, context: TaskContext) -> str:
    """Wait until the cluster has `nodes` live nodes, sleep a little, return the id of the node this ran on."""
    import ray
    deadline = time.monotonic() + timeout_s
    while sum(1 for n in ray.nodes() if n.get("Alive")) < nodes:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the cluster did not reach {nodes} live nodes within {timeout_s} s")
        time.sleep(0.2)
    time.sleep(then_sleep_s)
    return ray.get_runtime_context().get_node_id()
