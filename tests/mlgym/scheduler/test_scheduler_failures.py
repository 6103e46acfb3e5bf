"""Dead workers, retries and interrupts, with real worker processes that really die."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from mlgym.scheduler import Task, WorkerPool
from tests.mlgym.scheduler import scheduler_tasks as st
from tests.mlgym.scheduler.scheduler_recorder import Recorder

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True, params=["spawn", "forkserver"])
def start_method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every failure is checked with spawned workers and with workers forked from the forkserver (also in the
    interrupt program, which inherits the environment)."""
    monkeypatch.setenv("MLGYM_WORKER_START_METHOD", request.param)
    return request.param


def test_sigkilled_worker_is_detected_replaced_and_its_task_retried() -> None:
    recorder = Recorder()
    killed: dict[str, float] = {}

    def on_event(event_type: str, payload: dict, experiment_id: str | None) -> None:
        recorder(event_type, payload, experiment_id)
        if event_type == "experiment_status" and experiment_id == "victim" and payload["attempt"] == 0:
            killed["pid"], killed["at"] = payload["pid"], time.monotonic()
            os.kill(payload["pid"], signal.SIGKILL)

    others = [Task(f"walk{i}", st.seeded_walk, (i, 50)) for i in range(6)]
    pool = WorkerPool(2, max_retries=1, threads_per_worker=None)

    results = pool.run([Task("victim", st.announce_and_wait, (60.0,)), *others], on_event)

    victim = results["victim"]
    assert victim.ok and victim.attempts == 2 and victim.value["attempt"] == 1
    assert victim.value["pid"] != killed["pid"]
    assert recorder.statuses("victim") == [("running", 0), ("retrying", 0), ("running", 1), ("done", 1)]
    retrying = next(e for e in recorder.of("victim") if e.payload.get("status") == "retrying")
    assert "died with signal SIGKILL while running 'victim' (attempt 0)" in retrying.payload["error"]
    assert retrying.payload["next_attempt"] == 1
    assert retrying.at - killed["at"] < 5.0, "a dead worker must be noticed within seconds"
    for task in others:
        assert results[task.task_id].value == st.seeded_walk(*task.args, context=None)
        assert recorder.statuses(task.task_id) == [("running", 0), ("done", 0)]
    assert not psutil.pid_exists(killed["pid"]) or psutil.Process(killed["pid"]).status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize("max_retries", [0, 1], ids=["no_retry", "one_retry"])
def test_task_that_always_kills_its_worker_fails_after_the_retries(max_retries: int) -> None:
    recorder = Recorder()
    tasks = [Task("doomed", st.exit_hard, (3,)), Task("child", st.square, (2,), depends_on=("doomed",)),
             *[Task(f"sq{i}", st.square, (i,)) for i in range(4)]]

    results = WorkerPool(2, max_retries=max_retries, threads_per_worker=None).run(tasks, recorder)

    doomed = results["doomed"]
    assert not doomed.ok and doomed.attempts == max_retries + 1
    assert doomed.error.startswith("WorkerDied: worker ") and "died with exit code 3" in doomed.error
    expected = [("running", 0)]
    for attempt in range(max_retries):
        expected += [("retrying", attempt), ("running", attempt + 1)]
    assert recorder.statuses("doomed") == expected + [("failed", max_retries)]
    assert results["child"].error == "DependencyFailed: dependency 'doomed' of 'child' failed"
    assert [results[f"sq{i}"].value for i in range(4)] == [0, 1, 4, 9]


def test_worker_that_dies_while_idle_is_replaced_and_the_run_completes() -> None:
    with WorkerPool(2, threads_per_worker=None) as pool:
        pool.run([Task(f"a{i}", st.square, (i,)) for i in range(4)], Recorder())
        victim = pool.worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        results = pool.run([Task(f"b{i}", st.sleep, (0.05,)) for i in range(6)], Recorder())
        assert all(r.ok for r in results.values())
        assert victim not in pool.worker_pids and len(pool.worker_pids) == 2


def _start_interrupt_run() -> tuple[subprocess.Popen, list[int], list[int]]:
    """Start the pool program in its own session; return it, its worker pids and all its descendants."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    proc = subprocess.Popen([sys.executable, "-m", "tests.mlgym.scheduler.scheduler_interrupt_run"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        workers = json.loads(lines.get(timeout=60))
    except queue.Empty:
        proc.kill()
        pytest.fail(f"the pool program never reported its workers: {proc.stderr.read()}")
    descendants = [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
    proc.lines = lines  # type: ignore[attr-defined]
    return proc, workers, descendants


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("how", ["ctrl_c", "sigterm"])
def test_interrupt_terminates_every_worker_and_reraises(how: str) -> None:
    proc, workers, descendants = _start_interrupt_run()
    assert set(workers) <= set(descendants)
    if how == "ctrl_c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground process group
    else:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    expected = "KeyboardInterrupt" if how == "ctrl_c" else "Interrupted"
    assert proc.lines.get(timeout=5).strip() == f"interrupted {expected}"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(pid) for pid in descendants):
        time.sleep(0.1)
    assert [pid for pid in descendants if not _gone(pid)] == []


def test_workers_exit_by_themselves_when_the_main_process_is_killed() -> None:
    proc, workers, _ = _start_interrupt_run()
    proc.kill()  # SIGKILL: no cleanup code runs in the main process
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(_gone(pid) for pid in workers):
        time.sleep(0.1)
    assert [pid for pid in workers if not _gone(pid)] == []
