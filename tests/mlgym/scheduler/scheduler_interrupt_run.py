"""A program that runs a pool of two busy workers, prints their pids, and waits to be interrupted.

The interrupt tests start it as a real process, send it Ctrl-C (SIGINT to its process group) or SIGTERM, and check
that no worker survives. Exit status 130 means the pool re-raised the interrupt after cleaning up.
"""
from __future__ import annotations

import json
import sys

from mlgym.scheduler import Task, WorkerPool
from tests.mlgym.scheduler import scheduler_tasks as st


def main() -> int:
    running: dict[str, int] = {}

    def on_event(event_type: str, payload: dict, experiment_id: str | None) -> None:
        if event_type == "job_status" and payload["status"] == "running":
            running[experiment_id] = payload["pid"]
            if len(running) == 2:
                print(json.dumps(sorted(running.values())), flush=True)

    try:
        WorkerPool(2, threads_per_worker=None).run([Task(f"s{i}", st.sleep, (120.0,)) for i in range(4)], on_event)
    except KeyboardInterrupt as exc:
        print(f"interrupted {type(exc).__name__}", flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
