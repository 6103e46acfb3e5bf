"""MLgym on a 2-node Ray cluster against the local worker pool and against Ray Tune, on the same 16 jobs.

The workload of bench/scheduler.py (16 single-threaded torch jobs of ~300 ms, each emitting an event), in one run,
median over repetitions, the contenders run back to back in each repetition so they share the machine's load:
- pool:      WorkerPool(2) with started workers (as after a grid search's first seconds), events into an EventLog.
- ray:       RayExecutor on a real 2-node Ray cluster started on this machine (1 CPU per node, so 2 jobs at once,
             like the pool), its actors started (torch imported) before the clock starts, events streamed into the
             same kind of EventLog.
- ray_tasks: the same jobs as plain Ray streaming-generator tasks (no persistent actors; Ray reuses the worker
             processes): the alternative design, measured for docs/design.md.
- ray_tune:  Ray Tune (the peer) running the same 16 jobs as a grid of trials on the same cluster, 1 CPU each.
Overhead per job: no-op jobs (3 events each) through a warm one-actor RayExecutor, wall time minus the jobs' own
time, i.e. dispatch, streaming, event log and result with nothing hidden by parallelism.

    .venv/bin/python bench/ray_cluster.py [--jobs 16] [--repeats 3] [--job_ms 300] [--noop_jobs 100]
Ray Tune is optional (pip install -e '.[bench]'); without it the Tune lines say so.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), str(ROOT / "bench"),
                                            os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)

from mlgym.events.event_log import EventLog  # noqa: E402
from mlgym.scheduler import Task, WorkerPool  # noqa: E402
from scheduler import calibrate, cpu_job, noop_job, run_pool  # noqa: E402
from tests.mlgym.scheduler.local_ray_cluster import LocalRayCluster, wait_for_nodes  # noqa: E402


def run_ray_tasks(tasks: list[Task], log: EventLog) -> float:
    """The same jobs as plain streaming tasks: Ray places and orders them; events go into the log."""
    import pickle

    import ray

    from mlgym.scheduler.ray_runner import JobRunner

    @ray.remote(num_cpus=1, max_retries=0)
    def stream(task_id: str, blob: bytes) -> Any:
        yield from JobRunner(0, 1, None).run(task_id, 0, blob)

    started = time.perf_counter()
    streams = [stream.options(num_returns="streaming").remote(
        t.task_id, pickle.dumps((t.fn, t.args))) for t in tasks]
    pending = list(streams)
    while pending:
        ready, _ = ray.wait(pending, num_returns=1)
        for generator in ready:
            try:
                kind, body = ray.get(next(generator))
            except StopIteration:
                pending.remove(generator)
                continue
            if kind == "events":
                for event_type, payload, experiment_id in body:
                    log.append(event_type, payload, experiment_id)
            elif kind == "result" and not body.ok:
                raise SystemExit(f"a Ray task failed: {body.error}")
    return time.perf_counter() - started


def tune_trainable(config: dict) -> None:
    from ray import tune
    torch.set_num_threads(1)
    value = cpu_job(config["seed"], config["iterations"])
    tune.report({"value": value})


def run_ray_tune(seeds: list[int], iterations: int, storage: str) -> float:
    from ray import tune
    started = time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(tune_trainable, {"cpu": 1}),
        param_space={"seed": tune.grid_search(seeds), "iterations": iterations},
        run_config=tune.RunConfig(storage_path=storage, name=f"bench{time.time_ns()}", verbose=0))
    results = tuner.fit()
    wall = time.perf_counter() - started
    if results.errors:
        raise SystemExit(f"a Ray Tune trial failed: {results.errors[0]}")
    return wall


def tune_available() -> bool:
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--job_ms", type=float, default=300.0)
    parser.add_argument("--noop_jobs", type=int, default=100)
    args = parser.parse_args()
    print(f"loadavg_1min_at_start: {os.getloadavg()[0]:.2f}", flush=True)
    torch.set_num_threads(1)
    iterations = calibrate(cpu_job, args.job_ms)
    from mlgym.scheduler.ray_cluster import connect, disconnect
    from mlgym.scheduler.ray_executor import RayExecutor
    cluster = LocalRayCluster()
    samples: dict[str, list[float]] = {"pool": [], "ray": [], "ray_tasks": [], "ray_tune": [], "ratio": [],
                                       "tune_ratio": [], "tasks_ratio": []}
    with_tune = tune_available()
    try:
        started = time.perf_counter()
        cluster.start(nodes=2)
        connect(cluster.address)
        assert len(wait_for_nodes(2)) == 2
        print(f"cluster_start_s: {time.perf_counter() - started:.1f}", flush=True)
        with tempfile.TemporaryDirectory() as tmp, EventLog(tmp, "bench-ray") as log, \
                WorkerPool(2, threads_per_worker=1) as pool:
            warmup = [Task(f"warmup{i}", cpu_job, (i, 10)) for i in range(4)]
            run_pool(pool, warmup, log)
            run_ray_tasks(warmup, log)  # Ray starts (and then reuses) its worker processes for tasks
            for rep in range(args.repeats):
                tasks = [Task(f"r{rep}.j{i}", cpu_job, (i, iterations)) for i in range(args.jobs)]
                pool_s, expected, _ = run_pool(pool, tasks, log)
                # The actors hold every CPU of the cluster, so they live only for their own measurement; they
                # are started (and import torch) before the clock starts, like the pool's workers.
                with RayExecutor(cluster.address) as ray_executor:
                    ray_executor.wait_ready()
                    ray_s, values, _ = run_pool(ray_executor, tasks, log)  # type: ignore[arg-type]
                assert values == expected, "Ray must compute exactly what the pool computes"
                tasks_s = run_ray_tasks([Task(f"t{rep}.j{i}", cpu_job, (i, iterations))
                                         for i in range(args.jobs)], log)
                samples["pool"].append(pool_s)
                samples["ray"].append(ray_s)
                samples["ray_tasks"].append(tasks_s)
                samples["ratio"].append(ray_s / pool_s)
                samples["tasks_ratio"].append(tasks_s / pool_s)
                if with_tune:
                    tune_s = run_ray_tune(list(range(args.jobs)), iterations, os.path.join(tmp, "tune"))
                    samples["ray_tune"].append(tune_s)
                    samples["tune_ratio"].append(tune_s / ray_s)
                print(f"repeat {rep}: pool {pool_s:.2f} s, ray {ray_s:.2f} s, ray tasks {tasks_s:.2f} s"
                      + (f", ray tune {samples['ray_tune'][-1]:.2f} s" if with_tune else ""), flush=True)
        with tempfile.TemporaryDirectory() as tmp, EventLog(tmp, "bench-ray-noop") as log, \
                RayExecutor(cluster.address, max_slots=1) as single:
            single.wait_ready()
            run_pool(single, [Task(f"nwarm{i}", noop_job, (i,)) for i in range(10)], log)  # type: ignore[arg-type]
            overheads = []
            for rep in range(args.repeats):
                noops = [Task(f"n{rep}.{i}", noop_job, (i,)) for i in range(args.noop_jobs)]
                wall, _, busy = run_pool(single, noops, log)  # type: ignore[arg-type]
                overheads.append((wall - busy) / args.noop_jobs)
    finally:
        disconnect()
        cluster.stop()
    median = {key: statistics.median(values) for key, values in samples.items() if values}
    print(f"jobs: {args.jobs} torch jobs x ~{args.job_ms:.0f} ms single-threaded, 2 at a time (pool: 2 workers; "
          f"ray: 2 nodes x 1 CPU), repeats: {args.repeats}")
    print(f"loadavg_1min_at_end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"pool_warm_s: {median['pool']:.3f}")
    print(f"ray_warm_s: {median['ray']:.3f}")
    print(f"ray_tasks_s: {median['ray_tasks']:.3f}")
    print(f"ray_tasks_vs_pool_ratio: {median['tasks_ratio']:.2f}")
    if with_tune:
        print(f"ray_tune_s: {median['ray_tune']:.3f}")
        print(f"speedup_vs_ray_tune: {median['tune_ratio']:.2f}")
    else:
        print("speedup_vs_ray_tune: n/a (ray[tune] not installed: pip install -e '.[bench]')")
    print(f"ray_overhead_ms_per_job: {statistics.median(overheads) * 1000:.2f}")
    print(f"ray_vs_pool_ratio: {median['ratio']:.2f}")


if __name__ == "__main__":
    main()
