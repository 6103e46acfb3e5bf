"""A node of a real 2-node Ray cluster dies mid-run (its raylet SIGKILLed): its job is retried on the surviving
node from its last checkpoint and the grid search ends with every experiment done, bit-identical to the pool."""
from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from mlgym.events.event_log import read_events
from mlgym.run import ExecutionSettings, RunRequest, start
from mlgym.run.execution import RaySettings
from tests.conftest import CONFIGS
from tests.mlgym.scheduler.conftest import RAY_EPOCHS, final_scores, the_log
from tests.mlgym.scheduler.local_ray_cluster import LocalRayCluster, wait_for_death

pytestmark = pytest.mark.timeout(240)


class KillNodeAfterCheckpoint:
    """Event log listener: once a job running on `node` has saved its checkpoint of epoch 2, SIGKILL that node's
    raylet and the job's worker process (in the main process, while the job goes on training: killing the worker
    too means the job cannot finish its last epochs in the moments before it notices its raylet is gone)."""

    def __init__(self, cluster: LocalRayCluster, node: str) -> None:
        self.cluster, self.node = cluster, node
        self.victim: str | None = None
        self.worker_pid: int | None = None
        self.killed_pid: int | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        p, eid = event["payload"], event["experiment_id"]
        if event["event_type"] == "job_status" and p["status"] == "running" and p.get("node") == self.node:
            if self.victim is None:
                self.victim, self.worker_pid = eid, p.get("pid")
        elif (event["event_type"] == "checkpoint" and eid == self.victim and p["action"] == "saved"
              and p["epoch"] == 2 and self.killed_pid is None):
            raylet = self.cluster.raylet(self.node)
            self.killed_pid = raylet.pid
            raylet.send_signal(signal.SIGKILL)
            if self.worker_pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.worker_pid, signal.SIGKILL)


def test_node_killed_mid_run_its_job_resumes_on_the_other_node_and_the_run_ends_identical(
        ray_cluster: LocalRayCluster, two_nodes: list[str], pool_reference: Path, tmp_path: Path) -> None:
    head = next(n for n in two_nodes if ray_cluster.is_head(n))
    second = next(n for n in two_nodes if n != head)
    killer = KillNodeAfterCheckpoint(ray_cluster, second)
    execution = ExecutionSettings(kind="ray", ray=RaySettings(address=ray_cluster.address), max_retries=1)
    request = RunRequest(gs_config_path=CONFIGS / "iris_mlp.yml", log_dir=tmp_path, num_epochs=RAY_EPOCHS,
                         execution=execution)

    outcome = start(request, listeners=(killer,))

    assert killer.killed_pid is not None, "no job ran on the second node long enough to be killed there"
    assert outcome.status == "done" and all(r.ok for r in outcome.results.values())
    log = the_log(tmp_path)
    assert final_scores(log) == final_scores(pool_reference)
    events = list(read_events(log))
    assert [e["seq"] for e in events] == list(range(len(events)))
    statuses = [(e["payload"]["status"], e["payload"]["attempt"], e["payload"]["node"])
                for e in events if e["event_type"] == "job_status" and e["experiment_id"] == killer.victim]
    assert statuses == [("running", 0, second), ("retrying", 0, second), ("running", 1, head), ("done", 1, head)]
    retrying = next(e["payload"] for e in events if e["event_type"] == "job_status"
                    and e["payload"]["status"] == "retrying")
    assert retrying["next_attempt"] == 1
    assert retrying["error"].startswith("WorkerDied: Ray worker ") and f"on node {second[:12]}" in retrying["error"]
    restored = [e["payload"] for e in events if e["event_type"] == "checkpoint"
                and e["experiment_id"] == killer.victim and e["payload"]["action"] == "restored"]
    # checkpoint_seq is absent when the dead node's job wrote that checkpoint but its `saved` event never reached
    # the driver (the job may run on for a moment after its raylet died): the resumed job then logs the checkpoint's
    # scores again, which the identical final scores above show
    assert len(restored) == 1 and restored[0]["epoch"] >= 2
    others = [e for e in events if e["event_type"] == "job_status" and e["experiment_id"] != killer.victim]
    assert [e["payload"]["status"] for e in others] == ["running", "done"]


def test_an_idle_worker_lost_with_its_node_costs_no_attempt_and_a_node_joining_mid_run_gets_jobs(
        ray_cluster: LocalRayCluster, two_nodes: list[str], tmp_path: Path) -> None:
    import threading

    from mlgym.scheduler import Task
    from mlgym.scheduler.ray_executor import RayExecutor
    from tests.mlgym.scheduler import ray_tasks as rt
    from tests.mlgym.scheduler.scheduler_recorder import Recorder

    head = next(n for n in two_nodes if ray_cluster.is_head(n))
    second = next(n for n in two_nodes if n != head)
    lost = Recorder()
    with RayExecutor(ray_cluster.address) as executor:
        executor.wait_ready()
        assert {slot.node for slot in executor.slots} == {head, second}
        ray_cluster.raylet(second).send_signal(signal.SIGKILL)  # the actor there is idle
        assert wait_for_death(second), "the killed node was not declared dead"
        results = executor.run([Task(f"where{i}", rt.where_it_ran) for i in range(4)], lost)

    assert all(r.ok and r.attempts == 1 for r in results.values()), [r.error for r in results.values()]
    statuses = [(e.payload["status"], e.payload["attempt"]) for e in lost.events if e.event_type == "job_status"]
    assert statuses.count(("running", 0)) == 4 and statuses.count(("done", 0)) == 4 and len(statuses) == 8, (
        f"a job handed to the lost idle worker was counted as an attempt: {statuses}")
    assert {r.value["node"] for r in results.values()} == {head}

    # a fresh executor sees one node, so one slot; its first job holds it until a job has run on another node,
    # which only an actor started on the node that joins mid-run can do
    joined = Recorder()
    tasks = [Task(f"job{i}", rt.where_once_two_nodes_ran, (str(tmp_path), 120.0)) for i in range(4)]
    with RayExecutor(ray_cluster.address) as executor:
        assert len(executor.slots) == 1
        joiner = threading.Thread(target=ray_cluster.add_node)
        joiner.start()
        try:
            results = executor.run(tasks, joined)
        finally:
            joiner.join()
        assert len(executor.slots) == 2

    assert all(r.ok for r in results.values()), [r.error for r in results.values() if not r.ok]
    ran_on = {r.value for r in results.values()}
    assert head in ran_on and len(ran_on - {head, second}) == 1, (
        f"the node that joined mid-run ran no job: jobs ran on {ran_on}, head {head[:12]}")
    assert {e.payload["node"] for e in joined.events if e.event_type == "job_status"} == ran_on
