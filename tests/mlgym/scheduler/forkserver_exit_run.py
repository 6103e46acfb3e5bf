"""Run by test_forkserver_exit.py: one task on a forkserver pool with the preload given as argv[1] (comma
separated), then print the server's pid and exit as `mlgym` does."""
from __future__ import annotations

import sys

from mlgym.scheduler import Task, WorkerPool
from mlgym.scheduler.start_method import _server_pid
from tests.mlgym.scheduler import scheduler_tasks as st
from tests.mlgym.scheduler.scheduler_recorder import Recorder

if __name__ == "__main__":
    pool = WorkerPool(1, threads_per_worker=None, preload=sys.argv[1].split(","))
    assert pool.start_method == "forkserver"
    assert pool.run([Task("t", st.square, (3,))], Recorder())["t"].value == 9
    print(_server_pid(), flush=True)
