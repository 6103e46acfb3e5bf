"""WorkerPool with real spawned worker processes: events, results, the task graph, devices and threads."""
from __future__ import annotations

import os

import psutil
import pytest

from mlgym.events.event_log import EventLog, read_events
from mlgym.scheduler import MainProcessExecutor, SchedulerError, Task, WorkerPool, resolve_devices
from tests.mlgym.scheduler import scheduler_tasks as st
from tests.mlgym.scheduler import scheduler_torch_tasks as tt
from tests.mlgym.scheduler.scheduler_recorder import Recorder

pytestmark = pytest.mark.timeout(120)


def plain_pool(process_count: int, **options: object) -> WorkerPool:
    """A pool for tasks without torch: threads_per_worker=None spares each worker the torch import."""
    return WorkerPool(process_count, threads_per_worker=None, **options)


def test_events_of_each_task_arrive_in_order_between_running_and_done() -> None:
    recorder = Recorder()
    tasks = [Task(f"t{i}", st.emit_steps, (5 + i,)) for i in range(6)]

    results = WorkerPool(2).run(tasks, recorder)

    assert [r.value for r in results.values()] == [5, 6, 7, 8, 9, 10]
    for i, task in enumerate(tasks):
        events = recorder.of(task.task_id)
        kinds = [e.payload.get("status", e.event_type) for e in events]
        assert kinds == ["job_scheduled", "running"] + ["training"] * (5 + i) + ["done"]
        assert [e.payload["step"] for e in events if e.event_type == "experiment_status"] == list(range(5 + i))
        assert events[0].payload == {"job_id": task.task_id, "depends_on": [], "attempt": 0}
        running, done = events[1].payload, events[-1].payload
        assert running["device"] == "cpu" and running["pid"] == done["pid"] and done["duration_s"] >= 0
        assert all(e.payload["pid"] == running["pid"] for e in events if e.event_type == "experiment_status")


def test_event_log_written_by_the_main_process_has_gapless_seq(tmp_path) -> None:
    tasks = [Task(f"t{i}", st.emit_steps, (20,)) for i in range(8)]
    with EventLog(tmp_path, "gs") as log:
        plain_pool(2).run(tasks, lambda kind, payload, exp: log.append(kind, payload, exp))
    events = list(read_events(log.path))
    assert [e["seq"] for e in events] == list(range(8 * (1 + 1 + 20 + 1)))


def test_exception_fails_the_task_with_traceback_and_the_others_go_on() -> None:
    recorder = Recorder()
    tasks = [Task("good0", st.square, (3,)), Task("bad", st.fail, ("boom",)), Task("good1", st.square, (4,)),
             Task("after_bad", st.square, (5,), depends_on=("bad",)),
             Task("after_after", st.square, (6,), depends_on=("after_bad",))]

    results = plain_pool(2).run(tasks, recorder)

    assert (results["good0"].value, results["good1"].value) == (9, 16)
    bad = results["bad"]
    assert not bad.ok and bad.error == "ValueError: boom"
    assert 'in fail\n    raise ValueError(message)' in bad.traceback and "worker.py" not in bad.traceback
    failed = [e.payload for e in recorder.of("bad") if e.payload.get("status") == "failed"]
    assert failed[0]["error"] == "ValueError: boom" and "raise ValueError" in failed[0]["traceback"]
    assert results["after_bad"].error == "DependencyFailed: dependency 'bad' of 'after_bad' failed"
    assert results["after_after"].error == "DependencyFailed: dependency 'after_bad' of 'after_after' failed"
    assert recorder.statuses("after_after") == [("failed", 0)]


def test_unpicklable_arguments_or_results_fail_only_that_task() -> None:
    tasks = [Task("bad_args", st.echo, (lambda: 1,)), Task("bad_value", st.return_unpicklable),
             Task("fine", st.square, (2,))]
    results = plain_pool(1).run(tasks, Recorder())
    assert not results["bad_args"].ok and results["bad_args"].attempts == 0
    assert "pickle" in results["bad_args"].error.lower()
    assert results["bad_value"].error.startswith("the task's return value cannot be pickled")
    assert results["fine"].value == 4


def test_dependent_starts_as_soon_as_its_dependency_is_done_not_after_the_stage(tmp_path) -> None:
    # `slow_*` only finish once `dependent` has written its file: with a stage barrier they would time out.
    flag = str(tmp_path / "dependent_ran")
    tasks = [Task("quick", st.square, (7,)),
             Task("slow_a", st.wait_for_file, (flag, 60.0)),
             Task("slow_b", st.wait_for_file, (flag, 60.0)),
             Task("dependent", st.touch, (flag,), depends_on=("quick",),
                  prepare=lambda results: (flag, results["quick"].value))]
    results = plain_pool(2).run(tasks, Recorder())
    assert all(r.ok for r in results.values()), results
    assert results["slow_a"].value == "49" and results["dependent"].value == 49


def test_two_workers_run_two_tasks_at_the_same_time(tmp_path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    tasks = [Task("left", st.rendezvous, (a, b, 60.0)), Task("right", st.rendezvous, (b, a, 60.0))]
    results = plain_pool(2).run(tasks, Recorder())
    assert all(r.ok for r in results.values()), results
    assert results["left"].value != results["right"].value


def test_an_error_in_on_event_stops_the_run_and_its_workers() -> None:
    pool = plain_pool(2)
    seen: list[int] = []

    def on_event(event_type: str, payload: dict, experiment_id: str | None) -> None:
        if payload.get("status") == "running":
            seen.extend(pool.worker_pids)
        if payload.get("status") == "done":
            raise RuntimeError("the event log is full")

    with pytest.raises(RuntimeError, match="the event log is full"):
        pool.run([Task(f"t{i}", st.sleep, (0.2,)) for i in range(4)], on_event)
    assert pool.worker_pids == [] and seen
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in seen)


def test_prepare_receives_the_results_of_the_dependencies() -> None:
    tasks = [Task("a", st.square, (2,)), Task("b", st.square, (3,)),
             Task("c", st.echo, depends_on=("a", "b"), prepare=st.args_from_dependencies)]
    results = plain_pool(2).run(tasks, Recorder())
    assert results["c"].value == (13, ["a", "b"])


def test_nested_cv_shaped_graph_runs_each_refit_right_after_its_inner_folds() -> None:
    outer, grid, inner = 2, 2, 2
    tasks = [Task(f"gp{g}.o{o}.i{i}", st.square, (10 * o + 3 * g + i,))
             for o in range(outer) for g in range(grid) for i in range(inner)]
    tasks += [Task(f"refit.o{o}", st.echo, depends_on=tuple(t.task_id for t in tasks if f".o{o}." in t.task_id),
                   prepare=st.best_of) for o in range(outer)]
    recorder = Recorder()

    results = plain_pool(1).run(tasks, recorder)

    assert len(tasks) == outer * (grid * inner + 1)
    assert results["refit.o0"].value == ("gp1.o0.i1", 16) and results["refit.o1"].value == ("gp1.o1.i1", 196)
    order = recorder.running_order()
    assert order.index("refit.o0") == grid * inner  # before any task of outer fold 1
    assert order[-1] == "refit.o1"


def test_results_with_two_workers_equal_one_worker_and_the_main_process() -> None:
    torch_tasks = [Task(f"seed{s}", tt.train_tiny, (s,)) for s in range(4)]
    plain_tasks = [Task(f"walk{s}", st.seeded_walk, (s, 100)) for s in range(4)]
    one = WorkerPool(1).run(torch_tasks + plain_tasks, Recorder())
    two = WorkerPool(2).run(torch_tasks + plain_tasks, Recorder())
    in_process = MainProcessExecutor().run(plain_tasks, Recorder())
    assert {k: r.value for k, r in one.items()} == {k: r.value for k, r in two.items()}
    assert all(r.ok for r in one.values())
    assert {k: r.value for k, r in in_process.items()} == {k: one[k].value for k in in_process}


def test_main_process_executor_has_the_same_events_and_failures() -> None:
    tasks = [Task("a", st.emit_steps, (2,)), Task("bad", st.fail, ("x",)),
             Task("child", st.square, (1,), depends_on=("bad",))]
    pool_events, main_events = Recorder(), Recorder()
    pool = plain_pool(1).run(tasks, pool_events)
    main = MainProcessExecutor().run(tasks, main_events)
    for key in pool:
        assert (pool[key].ok, pool[key].value, pool[key].error) == (main[key].ok, main[key].value, main[key].error)
    shape = [(e.event_type, e.experiment_id, e.payload.get("status")) for e in pool_events.events]
    assert shape == [(e.event_type, e.experiment_id, e.payload.get("status")) for e in main_events.events]


def test_workers_persist_across_runs_and_are_gone_after_close() -> None:
    with plain_pool(2) as pool:
        first, second = Recorder(), Recorder()
        pool.run([Task(f"a{i}", st.sleep, (0.05,)) for i in range(6)], first)
        pids = set(pool.worker_pids)
        pool.run([Task(f"b{i}", st.sleep, (0.05,)) for i in range(6)], second)
        used = {e.payload["pid"] for e in first.events + second.events if e.payload.get("status") == "running"}
        assert used <= pids and len(pids) == 2
    assert pool.worker_pids == []
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)


def test_initializer_with_arguments_runs_in_every_worker() -> None:
    pool = plain_pool(2, worker_initializer=(st.set_marker, ("hello",)))
    results = pool.run([Task(f"t{i}", st.read_marker) for i in range(4)], Recorder())
    assert [r.value for r in results.values()] == ["hello"] * 4


def test_failing_initializer_stops_the_run_with_a_clear_error() -> None:
    pool = plain_pool(2, worker_initializer=st.failing_initializer)
    with pytest.raises(SchedulerError, match="could not start: RuntimeError: initializer is broken"):
        pool.run([Task("t", st.square, (1,))], Recorder())
    assert pool.worker_pids == []


def test_invalid_graph_is_rejected_before_any_worker_starts() -> None:
    pool = plain_pool(2)
    tasks = [Task("a", st.square, (1,), depends_on=("b",)), Task("b", st.square, (1,), depends_on=("a",))]
    with pytest.raises(SchedulerError, match="the task graph has a cycle among: a, b"):
        pool.run(tasks, Recorder())
    assert pool.worker_pids == []


def test_workers_get_devices_round_robin() -> None:
    devices = resolve_devices(["cpu", 7], gpu_count=8)  # binding cuda:7 is a no-op without CUDA
    recorder = Recorder()
    results = plain_pool(2, devices=devices).run([Task(f"t{i}", st.where_am_i) for i in range(6)], recorder)
    for task_id, result in results.items():
        assert result.value["device"] == devices[result.value["worker_index"] % 2]
        running = [e.payload for e in recorder.of(task_id) if e.payload.get("status") == "running"][0]
        assert (running["device"], running["worker"], running["pid"]) == (
            result.value["device"], result.value["worker_index"], result.value["pid"])


@pytest.mark.parametrize("threads", [1, 3], ids=["one_thread", "three_threads"])
def test_threads_per_worker_limits_torch_threads(threads: int) -> None:
    results = WorkerPool(1, threads_per_worker=threads).run([Task("t", tt.torch_threads)], Recorder())
    assert results["t"].value == {"threads": threads, "device": "cpu"}


def test_main_process_runs_tasks_with_a_pool_workers_threads_and_restores_the_callers() -> None:
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        results = MainProcessExecutor().run([Task("t", tt.torch_threads)], Recorder())
        assert results["t"].value["threads"] == 1  # as a pool worker's default threads_per_worker
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_forkserver_workers_fork_from_a_single_threaded_server_that_imported_the_preload(monkeypatch) -> None:
    from mlgym.gym.preload import WORKER_PRELOAD
    from mlgym.scheduler.start_method import server_threads
    monkeypatch.delenv("MLGYM_WORKER_START_METHOD", raising=False)
    pool = WorkerPool(2, threads_per_worker=2, preload=WORKER_PRELOAD)
    assert pool.start_method == "forkserver"
    results = pool.run([Task(f"t{i}", tt.torch_threads_and_modules) for i in range(2)], Recorder())
    assert server_threads() == 1  # forking is only safe from a process without threads
    for result in results.values():
        assert result.value["threads"] == 2  # the pool's setting, not the server's single thread
        assert result.value["preloaded"] and result.value["parent"] != os.getpid()  # the server's child
        assert result.value["gc_enabled"] and result.value["gc_frozen"] > 100_000  # the preload, frozen


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_background_start_then_close_without_waiting_leaves_no_worker(method: str, monkeypatch) -> None:
    import multiprocessing
    import time
    monkeypatch.setenv("MLGYM_WORKER_START_METHOD", method)
    pool = plain_pool(2)
    pool.start(wait=False)  # returns at once: the caller plans meanwhile
    results = pool.run([Task(f"t{i}", st.square, (i,)) for i in range(4)], Recorder())
    assert [r.value for r in results.values()] == [0, 1, 4, 9]
    pids = pool.worker_pids
    started = time.monotonic()
    pool.close(wait=False)
    assert time.monotonic() - started < 0.5 and pool.worker_pids == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p.name.startswith("mlgym-worker") for p in multiprocessing.active_children()):
        time.sleep(0.05)
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)

    starting = plain_pool(2)
    starting.start(wait=False)
    starting.close(wait=False)  # while its workers may still be starting: it starts no more and stops its own
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(p.name.startswith("mlgym-worker") for p in multiprocessing.active_children()):
        time.sleep(0.05)
    assert not any(p.name.startswith("mlgym-worker") for p in multiprocessing.active_children())
