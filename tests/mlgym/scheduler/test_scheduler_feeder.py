"""A feeder adds tasks while the run goes on (an adaptive search): on the worker pool and its in-process twin."""
from __future__ import annotations

import pytest

from mlgym.scheduler import MainProcessExecutor, Task, TaskResult, WorkerPool
from mlgym.scheduler.graph import TaskGraph
from tests.mlgym.scheduler import scheduler_tasks as st
from tests.mlgym.scheduler.scheduler_recorder import Recorder

pytestmark = pytest.mark.timeout(120)


class Doubler:
    """After each square result below a limit, run the square of the result (a chain per first task), and
    continue the chain under the same experiment id; every call is recorded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: list[str] = []

    def __call__(self, result: TaskResult) -> list[Task]:
        self.seen.append(result.task_id)
        if not result.ok or result.value >= self.limit:
            return []
        root = result.task_id.split(".")[0]
        n = result.task_id.count(".") + 1
        return [Task(f"{root}.r{n}", st.square, (result.value,), experiment_id=root)]


EXECUTORS = {"pool": lambda: WorkerPool(2, threads_per_worker=None), "main_process": MainProcessExecutor}


@pytest.mark.parametrize("executor", list(EXECUTORS), ids=list(EXECUTORS))
def test_fed_tasks_run_and_their_job_events_go_to_the_experiment(executor: str) -> None:
    recorder = Recorder()
    feeder = Doubler(limit=100)
    tasks = [Task("a", st.square, (2,)), Task("b", st.square, (3,)), Task("c", st.fail, ("boom",))]

    results = EXECUTORS[executor]().run(tasks, recorder, feeder)

    # a: 2 -> 4 -> 16 -> 256; b: 3 -> 9 -> 81 -> 6561; c fails and feeds nothing
    assert {k: r.value for k, r in results.items() if r.ok} == {
        "a": 4, "a.r1": 16, "a.r2": 256, "b": 9, "b.r1": 81, "b.r2": 6561}
    assert not results["c"].ok
    assert sorted(feeder.seen) == sorted(results)
    a_events = [(e.event_type, e.payload.get("job_id") or e.payload.get("status")) for e in recorder.of("a")]
    assert a_events.count(("job_scheduled", "a.r1")) == 1 and a_events.count(("job_scheduled", "a.r2")) == 1
    assert [s for kind, s in a_events if kind == "job_status"] == ["running", "done"] * 3
    assert recorder.of("a.r1") == []


def test_graph_adds_a_fed_task_whose_dependency_failed_as_failed() -> None:
    graph = TaskGraph([Task("a", st.fail, ("x",))],
                      lambda r: [Task("b", st.square, (1,), depends_on=("a",))] if r.task_id == "a" else [])
    task = graph.pop_ready()
    assert task is not None
    graph.complete(TaskResult("a", ok=False, error="ValueError: x"))
    assert [t.task_id for t in graph.drain_added()] == ["b"]
    assert graph.finished() and "DependencyFailed" in (graph.results["b"].error or "")
