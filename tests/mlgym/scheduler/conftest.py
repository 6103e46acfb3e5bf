"""The Ray tests share one real 2-node cluster on this machine, started once per test session."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS, run_cli
from tests.mlgym.scheduler.local_ray_cluster import LocalRayCluster, wait_for_nodes


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalRayCluster]:
    pytest.importorskip("ray", reason="ray is not installed (make install installs it with the dev extra)")
    from mlgym.scheduler.ray_cluster import connect, disconnect
    cluster = LocalRayCluster()
    try:
        cluster.start(nodes=2)
        connect(cluster.address)
        assert len(wait_for_nodes(2)) == 2, "the local Ray cluster did not come up with 2 nodes"
        yield cluster
    finally:
        disconnect()
        cluster.stop()


@pytest.fixture
def two_nodes(ray_cluster: LocalRayCluster) -> list[str]:
    """The ids of two live nodes; a worker node killed by an earlier test is replaced first."""
    import ray
    alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
    if len(alive) < 2:
        ray_cluster.add_node()
        alive = wait_for_nodes(2)
    assert len(alive) == 2
    return alive


# The Ray runs and their local reference: iris, 2 experiments, enough epochs that a job outlives a node's death.
RAY_EPOCHS = 30


def final_scores(log: Path) -> dict[tuple, tuple]:
    """(experiment, epoch, split) -> scores; the last event wins (epochs after a checkpoint are logged again)."""
    scores = {}
    for e in read_events(log):
        if e["event_type"] == "evaluation_result":
            p = e["payload"]
            scores[(e["experiment_id"], p["epoch"], p["split"])] = (
                tuple((s["metric"], s["score"]) for s in p["metric_scores"]),
                tuple((s["loss"], s["score"]) for s in p["loss_scores"]))
    return scores


def the_log(log_dir: Path) -> Path:
    logs = list(log_dir.glob("*/event_storage.log"))
    assert len(logs) == 1, logs
    return logs[0]


@pytest.fixture(scope="session")
def pool_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The event log of the same grid search on the local worker pool (2 workers)."""
    log_dir = tmp_path_factory.mktemp("pool_reference")
    result = run_cli("train", "--gs_config_path", str(CONFIGS / "iris_mlp.yml"), "--log_dir", str(log_dir),
                     "--num_epochs", str(RAY_EPOCHS), "--process_count", "2")
    assert result.returncode == 0, result.stderr
    log = the_log(log_dir)
    assert len(final_scores(log)) == 2 * RAY_EPOCHS * 3
    return log
