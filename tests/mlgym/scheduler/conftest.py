"""The Ray tests share one real 2-node cluster on this machine, started once per test session."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

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
