"""`mlgym train --environment ray` end to end on a real 2-node cluster: the same log and metrics as the local
pool, warm start from a shared checkpoint storage, and bad cluster input refused with exit 2."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS, run_cli
from tests.mlgym.scheduler.conftest import RAY_EPOCHS, final_scores, the_log
from tests.mlgym.scheduler.local_ray_cluster import LocalRayCluster, free_port

pytestmark = pytest.mark.timeout(240)
CONFIG = str(CONFIGS / "iris_mlp.yml")


def ray_flags(cluster: LocalRayCluster) -> list[str]:
    return ["--environment", "ray", "--ray_address", cluster.address]


def shape(log: Path) -> dict[str | None, tuple[list[tuple], list[tuple]]]:
    """Per experiment, the sequence of (event type, status, epoch, attempt) - what a log says, not where - and,
    sorted, its saved checkpoints (written in the background, so their place among the epochs varies, and so does
    which older checkpoint a `deleted` event names)."""
    per_experiment: dict[str | None, tuple[list[tuple], list[tuple]]] = defaultdict(lambda: ([], []))
    for e in read_events(log):
        p = e["payload"]
        events, checkpoints = per_experiment[e["experiment_id"]]
        if e["event_type"] == "checkpoint":
            if p["action"] == "saved":
                checkpoints.append((p["epoch"], p["path"]))
        else:
            events.append((e["event_type"], p.get("status"), p.get("epoch"), p.get("attempt")))
    return {eid: (events, sorted(checkpoints)) for eid, (events, checkpoints) in per_experiment.items()}


def test_grid_search_on_ray_logs_what_the_local_pool_logs(ray_cluster: LocalRayCluster, two_nodes: list[str],
                                                          pool_reference: Path, tmp_path: Path) -> None:
    result = run_cli("train", "--gs_config_path", CONFIG, "--log_dir", str(tmp_path), "--num_epochs",
                     str(RAY_EPOCHS), *ray_flags(ray_cluster))

    assert result.returncode == 0, result.stderr
    log = the_log(tmp_path)
    assert final_scores(log) == final_scores(pool_reference)
    assert shape(log) == shape(pool_reference)
    statuses = [e["payload"] for e in read_events(log) if e["event_type"] == "job_status"]
    assert {p["node"] for p in statuses} <= set(two_nodes) and all(p["node"] for p in statuses)
    assert all("node" not in e["payload"] for e in read_events(pool_reference) if e["event_type"] == "job_status")


def test_warm_start_of_a_ray_grid_search_resumes_from_the_checkpoint_storage(
        ray_cluster: LocalRayCluster, two_nodes: list[str], pool_reference: Path, tmp_path: Path) -> None:
    storage, log_dir, half = tmp_path / "shared", tmp_path / "logs", RAY_EPOCHS // 2
    first = run_cli("train", "--gs_config_path", CONFIG, "--log_dir", str(log_dir), "--num_epochs", str(half),
                    "--checkpoint_storage", str(storage), *ray_flags(ray_cluster))
    assert first.returncode == 0, first.stderr
    log = the_log(log_dir)
    grid_search_id = log.parent.name
    assert not (log.parent / "checkpoints").exists(), "checkpoints go to the checkpoint storage, not the log folder"
    saved = sorted(p.relative_to(storage) for p in storage.glob("*/checkpoints/*/epoch_*.pt"))
    assert [p.parts[0] for p in saved] == [grid_search_id] * 2 and {p.name for p in saved} == {f"epoch_{half}.pt"}

    # No --checkpoint_storage: warm start takes it from the log.
    second = run_cli("warmstart", "--grid_search_id", grid_search_id, "--log_dir", str(log_dir), "--num_epochs",
                     str(RAY_EPOCHS), *ray_flags(ray_cluster))

    assert second.returncode == 0, second.stderr
    assert final_scores(log) == final_scores(pool_reference)
    restored = [e for e in read_events(log) if e["event_type"] == "checkpoint" and e["payload"]["action"] == "restored"]
    assert sorted(e["payload"]["epoch"] for e in restored) == [half, half]
    assert all(e["payload"]["checkpoint_seq"] is not None for e in restored)
    assert {p.name for p in storage.glob("*/checkpoints/*/epoch_*.pt")} == {f"epoch_{RAY_EPOCHS}.pt"}


@pytest.mark.parametrize("flags, message", [
    (["--ray_address", "127.0.0.1:{free}"], "cannot reach the Ray cluster at 127.0.0.1:{free}: Connection refused"),
    (["--ray_address", "{cluster}", "--gpus_per_job", "1"],
     "no node of the Ray cluster at {cluster} can run a job that needs 1 CPU and 1 GPU"),
    (["--ray_address", "{cluster}", "--cpus_per_job", "4"],
     "no node of the Ray cluster at {cluster} can run a job that needs 4 CPU"),
    (["--ray_address", "{cluster}", "--gpus_per_job", "1.5"], "gpus_per_job above 1 must be a whole number"),
    (["--ray_address", "not-an-address"], "a Ray address is 'auto' or HOST:PORT"),
], ids=["unreachable_address", "more_gpus_than_any_node", "more_cpus_than_any_node", "gpu_fraction_above_one",
        "malformed_address"])
def test_bad_cluster_input_exits_2_before_anything_runs(ray_cluster: LocalRayCluster, tmp_path: Path,
                                                        flags: list[str], message: str) -> None:
    port = str(free_port())
    fill = {"free": port, "cluster": ray_cluster.address}
    result = run_cli("train", "--gs_config_path", CONFIG, "--log_dir", str(tmp_path / "logs"), "--num_epochs", "1",
                     "--environment", "ray", *[f.format(**fill) for f in flags], timeout=60)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert message.format(**fill) in result.stderr
    assert not (tmp_path / "logs").exists(), "a refused run must not create its log folder"


def test_an_asha_search_runs_on_the_cluster_and_promoted_trials_resume_on_any_node(
        ray_cluster: LocalRayCluster, two_nodes: list[str], tmp_path: Path) -> None:
    config = tmp_path / "search.yml"
    config.write_text(f"imports: [{CONFIG}]\noptimizer:\n  config:\n    lr: {{sweep: loguniform, low: 0.001, "
                      "high: 0.1}\n")
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "3", "--searcher", "random", "--num_samples", "4", "--scheduler", "asha",
                     "--checkpoint_storage", str(tmp_path / "shared"), *ray_flags(ray_cluster))
    assert result.returncode == 0, result.stderr
    events = list(read_events(the_log(tmp_path / "logs")))
    assert events[0]["payload"]["search"]["max_concurrent"] == 2  # one trial per slot of the 2-node cluster
    kinds = [e["event_type"] for e in events]
    assert kinds.count("trial_suggested") == 4 and kinds.count("trial_promoted") >= 1
    promoted = {e["experiment_id"] for e in events if e["event_type"] == "trial_promoted"}
    restored = {e["experiment_id"] for e in events if e["event_type"] == "checkpoint"
                and e["payload"]["action"] == "restored"}
    assert restored == promoted  # each promoted trial went on from its checkpoint in the shared storage
    nodes = {e["payload"]["node"] for e in events if e["event_type"] == "job_status"}
    assert nodes <= set(two_nodes) and None not in nodes
    assert events[-1]["event_type"] == "grid_search_finished" and events[-1]["payload"]["status"] == "done"
