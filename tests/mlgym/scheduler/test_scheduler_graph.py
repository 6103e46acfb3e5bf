"""Task graph validation and ready order, and device names; pure bookkeeping, no processes needed."""
from __future__ import annotations

import pytest

from mlgym.errors import ConfigError
from mlgym.scheduler import SchedulerError, Task, TaskResult, resolve_devices
from mlgym.scheduler.devices import device_for_worker
from mlgym.scheduler.graph import TaskGraph
from tests.mlgym.scheduler import scheduler_tasks as st


@pytest.mark.parametrize(("tasks", "message"), [
    ([Task("a b", st.square)], "task id 'a b' must match [A-Za-z0-9._-]+ (1 to 128 characters)"),
    ([Task("a", st.square), Task("a", st.square)], "task id 'a' is used twice; task ids must be unique"),
    ([Task("a", st.square, depends_on=("zz",))], "task 'a' depends on unknown task 'zz'"),
    ([Task("a", st.square, depends_on=("a",))], "task 'a' depends on itself"),
    ([Task("a", st.square, depends_on=("c",)), Task("b", st.square), Task("c", st.square, depends_on=("a",))],
     "the task graph has a cycle among: a, c"),
    ([Task("a", "not callable")], "task 'a': fn must be a module-level function, got 'not callable'"),
], ids=["bad_id", "duplicate", "unknown_dependency", "self_dependency", "cycle", "not_callable"])
def test_malformed_graphs_are_rejected_with_a_precise_message(tasks: list[Task], message: str) -> None:
    with pytest.raises(SchedulerError) as info:
        TaskGraph(tasks)
    assert str(info.value) == message


def test_ready_dependents_go_before_roots_and_retries_before_both() -> None:
    graph = TaskGraph([Task("r0", st.square), Task("r1", st.square), Task("r2", st.square),
                       Task("d", st.square, depends_on=("r0",))])
    assert graph.pop_ready().task_id == "r0"
    graph.complete(TaskResult("r0", ok=True, value=0))
    assert graph.pop_ready().task_id == "d"
    graph.requeue("d")
    assert [graph.pop_ready().task_id for _ in range(3)] == ["d", "r1", "r2"]
    assert graph.pop_ready() is None


def test_a_failure_fails_all_transitive_dependents_once() -> None:
    graph = TaskGraph([Task("a", st.square), Task("b", st.square, depends_on=("a",)),
                       Task("c", st.square, depends_on=("a", "b")), Task("x", st.square)])
    graph.pop_ready()
    cascade = graph.complete(TaskResult("a", ok=False, error="boom"))
    assert [(r.task_id, r.attempts) for r in cascade] == [("b", 0), ("c", 0)]
    assert not graph.finished() and graph.pop_ready().task_id == "x"


@pytest.mark.parametrize(("ids", "devices"), [
    (None, ["cpu"]), ([], ["cpu"]), ([0, 1], ["cuda:0", "cuda:1"]),
    (["2", "cpu", "cuda:3"], ["cuda:2", "cpu", "cuda:3"]), ("cpu", ["cpu"]), (1, ["cuda:1"]),
], ids=["none", "empty", "gpu_indices", "mixed", "one_name", "one_index"])
def test_resolve_devices(ids: list | None, devices: list[str]) -> None:
    assert resolve_devices(ids, gpu_count=4) == devices


ACCEPTED = "accepted: cpu, a GPU index N (0, 1, ...) or cuda:N"


@pytest.mark.parametrize(("ids", "gpus", "message", "hint"), [
    (["gpu0"], 1, f"'gpu0' is not a device name; {ACCEPTED}", "for GPU 0 write 0 or cuda:0"),
    (["cudaX"], 1, f"'cudaX' is not a device name; {ACCEPTED}", "use cpu, or leave it out to run on the CPU"),
    ([True], 1, f"True is not a device name; {ACCEPTED}", "use cpu, or leave it out to run on the CPU"),
    (["cuda:9"], 1, "device 'cuda:9' is GPU cuda:9, but this machine has 1 GPU (cuda:0)",
     "GPU indices here: 0, or cpu"),
    ([0, 2], 2, "device 2 is GPU cuda:2, but this machine has 2 GPUs (cuda:0, cuda:1)",
     "GPU indices here: 0 to 1, or cpu"),
    (["0"], 0, "device '0' is GPU cuda:0, but this machine has no GPU (CUDA is not available)",
     "use cpu, or leave it out to run on the CPU"),
], ids=["gpu0", "cudaX", "bool", "cuda9_of_1", "index_2_of_2", "no_cuda"])
def test_resolve_devices_rejects_what_it_cannot_run_on(ids: list, gpus: int, message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as e:
        resolve_devices(ids, gpu_count=gpus)
    assert (e.value.key_path, e.value.message, e.value.hint) == ("computation_device_ids", message, hint)


def test_devices_are_assigned_round_robin() -> None:
    assert [device_for_worker(["cuda:0", "cuda:1"], i) for i in range(5)] == [
        "cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
