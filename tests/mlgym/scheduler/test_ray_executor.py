"""The Ray executor on a real 2-node cluster on this machine: placement, streamed events, failures, resources."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlgym.errors import ConfigError
from mlgym.scheduler import Task
from mlgym.scheduler.ray_cluster import JobResources, check_reachable
from tests.mlgym.scheduler import ray_tasks as rt
from tests.mlgym.scheduler import scheduler_tasks as st
from tests.mlgym.scheduler.local_ray_cluster import LocalRayCluster, free_port, wait_for_death, wait_for_nodes
from tests.mlgym.scheduler.scheduler_recorder import Recorder

pytestmark = pytest.mark.timeout(180)


def executor(cluster: LocalRayCluster, **kwargs):
    from mlgym.scheduler.ray_executor import RayExecutor
    return RayExecutor(cluster.address, **kwargs)


def test_jobs_run_on_both_nodes_and_every_event_arrives_before_its_result(ray_cluster: LocalRayCluster,
                                                                          two_nodes: list[str]) -> None:
    recorder = Recorder()
    tasks = [Task(f"steps{i}", st.emit_steps, (40,)) for i in range(2)]
    tasks += [Task(f"walk{i}", st.seeded_walk, (i, 100)) for i in range(4)]
    tasks += [Task("where", rt.where_it_ran, depends_on=("walk0",))]
    with executor(ray_cluster) as ray_executor:
        ray_executor.wait_ready()
        results = ray_executor.run(tasks, recorder)

    assert all(r.ok for r in results.values()), [r.error for r in results.values() if not r.ok]
    for i in range(4):
        assert results[f"walk{i}"].value == st.seeded_walk(i, 100, context=None)
    running = [e for e in recorder.events if e.event_type == "job_status" and e.payload["status"] == "running"]
    assert {e.payload["node"] for e in running} == set(two_nodes), "both nodes must have run jobs"
    assert results["where"].value["node"] in two_nodes and results["where"].value["pid"] != os.getpid()
    for i in range(2):
        own = recorder.of(f"steps{i}")
        steps = [e.payload["step"] for e in own if e.event_type == "experiment_status"]
        assert steps == list(range(40))
        assert [(e.payload["status"], e.payload["attempt"]) for e in own if e.event_type == "job_status"] == [
            ("running", 0), ("done", 0)]
        assert own[-1].event_type == "job_status" and own[-1].payload["status"] == "done"
        assert own[-1].payload["node"] == next(e.payload["node"] for e in running if e.experiment_id == f"steps{i}")
    assert recorder.running_order().index("walk0") < recorder.running_order().index("where")


def test_events_stream_to_the_driver_while_the_job_runs(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    flag = tmp_path / "seen"
    recorder = Recorder()

    def on_event(event_type: str, payload: dict, experiment_id: str | None) -> None:
        recorder(event_type, payload, experiment_id)
        if event_type == "experiment_status":
            flag.write_text("driver saw the event")

    results = executor(ray_cluster).run([Task("waits", rt.emit_then_wait_for_file, (str(flag), 60.0))], on_event)

    assert results["waits"].ok, results["waits"].error
    assert results["waits"].value == "seen"


def test_a_failing_task_reports_its_traceback_and_its_dependents_fail(ray_cluster: LocalRayCluster) -> None:
    recorder = Recorder()
    tasks = [Task("bad", st.fail, ("boom",)), Task("child", st.square, (3,), depends_on=("bad",)),
             Task("fine", st.square, (4,))]

    results = executor(ray_cluster, max_slots=1).run(tasks, recorder)

    assert results["fine"].value == 16
    assert not results["bad"].ok and results["bad"].error == "ValueError: boom"
    assert "raise ValueError(message)" in results["bad"].traceback
    assert results["child"].error == "DependencyFailed: dependency 'bad' of 'child' failed"
    assert recorder.statuses("bad") == [("running", 0), ("failed", 0)]
    failed = [e for e in recorder.of("child") if e.event_type == "job_status"]
    assert [(e.payload["status"], e.payload.get("node"), e.payload["device"]) for e in failed] == [
        ("failed", None, None)]


@pytest.mark.parametrize("resources, needs", [
    (JobResources(cpus=1, gpus=1), "1 CPU and 1 GPU"),
    (JobResources(cpus=2), "2 CPU"),
], ids=["one_gpu", "two_cpus"])
def test_a_job_bigger_than_every_node_is_refused_before_anything_runs(ray_cluster: LocalRayCluster,
                                                                      resources: JobResources, needs: str) -> None:
    recorder = Recorder()
    with pytest.raises(ConfigError) as error:
        executor(ray_cluster, resources=resources).run([Task("never", st.square, (1,))], recorder)
    assert f"no node of the Ray cluster at {ray_cluster.address} can run a job that needs {needs}" in str(error.value)
    assert "(CPU 1, GPU 0)" in str(error.value)
    assert recorder.events == []


def test_gpus_per_job_half_puts_two_jobs_on_one_gpu_at_once(ray_cluster: LocalRayCluster, two_nodes: list[str],
                                                           tmp_path: Path) -> None:
    """A node that declares one GPU (this machine has none, Ray only counts it): with gpus_per_job 0.5 both jobs run
    there at the same time, given the same GPU, and their job_status names it cuda:0."""
    session = ray_cluster.add_node(cpus=2, gpus=1)
    try:
        gpu_node = next(n for n in wait_for_nodes(3) if n not in two_nodes)
        recorder = Recorder()
        tasks = [Task(name, rt.meet_on_gpu, (str(tmp_path), name, 1, 60.0)) for name in ("a", "b")]
        with executor(ray_cluster, resources=JobResources(cpus=1, gpus=0.5)) as ray_executor:
            assert len(ray_executor.slots) == 2
            results = ray_executor.run(tasks, recorder)
    finally:
        ray_cluster.remove_node(session)
    assert wait_for_death(gpu_node)

    assert all(r.ok for r in results.values()), [r.error for r in results.values() if not r.ok]
    where = [results[name].value for name in ("a", "b")]
    assert [w["node"] for w in where] == [gpu_node, gpu_node]
    assert where[0]["gpu_ids"] == where[1]["gpu_ids"] == ["0"]
    assert where[0]["cuda_visible_devices"] == where[1]["cuda_visible_devices"] == "0"
    assert [w["device"] for w in where] == ["cuda:0", "cuda:0"]
    running = [e.payload for e in recorder.events if e.event_type == "job_status" and e.payload["status"] == "running"]
    assert [(p["device"], p["node"]) for p in running] == [("cuda:0", gpu_node)] * 2


def test_an_unreachable_address_is_refused_at_once() -> None:
    port = free_port()
    with pytest.raises(ConfigError) as error:
        check_reachable(f"127.0.0.1:{port}")
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused" in str(error.value)


# --- what one job asks a node for (no cluster needed) --------------------------------------------------------
@pytest.mark.parametrize("resources, node, slots", [
    (JobResources(1, 0), {"CPU": 8.0}, 8),
    (JobResources(1, 0.5), {"CPU": 8.0, "GPU": 1.0}, 2),
    (JobResources(2, 0.25), {"CPU": 16.0, "GPU": 2.0}, 8),
    (JobResources(1, 1 / 3), {"CPU": 8.0, "GPU": 1.0}, 3),
    (JobResources(0.5, 0), {"CPU": 1.0}, 2),
    (JobResources(1, 1), {"CPU": 8.0}, 0),
    (JobResources(4, 0), {"CPU": 2.0, "GPU": 4.0}, 0),
], ids=["cpu_only", "half_gpu", "quarter_gpu_cpu_bound", "third_gpu", "half_cpu", "gpu_missing", "cpus_short"])
def test_slots_per_node(resources: JobResources, node: dict, slots: int) -> None:
    assert resources.slots_on(node) == slots


def test_actor_options_carry_fractional_gpus() -> None:
    assert JobResources(1, 0.5).actor_options() == {"num_cpus": 1.0, "num_gpus": 0.5}
    assert JobResources(2.0, 0).threads == 2 and JobResources(0.5, 0).threads == 1


@pytest.mark.parametrize("cpus, gpus, message", [
    (0, 0, "cpus_per_job must be a number > 0, got 0"),
    (1, -1, "gpus_per_job must be a number >= 0, got -1"),
    (1, 1.5, "gpus_per_job above 1 must be a whole number (Ray's rule), got 1.5"),
    (2.5, 0, "cpus_per_job above 1 must be a whole number (Ray's rule), got 2.5"),
], ids=["zero_cpus", "negative_gpus", "gpus_one_and_a_half", "cpus_two_and_a_half"])
def test_bad_resources_are_config_errors(cpus: float, gpus: float, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        JobResources(cpus, gpus)
    assert message in str(error.value)
