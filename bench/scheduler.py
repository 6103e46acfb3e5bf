"""The worker pool against a plain loop: 16 short single-threaded CPU jobs, 2 workers vs one after another.

In one run, repeated (median over repetitions, pool and loop alternating):
- loop:       the jobs called one after another in this process (torch limited to 1 thread, like a worker).
- pool warm:  WorkerPool(2, threads_per_worker=1) whose workers were started (and imported torch) beforehand,
              the state of a grid search after its first seconds; every event goes into a real EventLog on disk.
- pool cold:  the same, but the pool is created inside the timed region (worker spawn + `import torch`
              included); median of 3.
- stdlib pool: concurrent.futures.ProcessPoolExecutor(2, spawn) on the same jobs, a reference for what the
              machine allows right now (on a loaded machine 2 processes do not get 2 cores).
`speedup` = median over repetitions of loop / pool warm (each pair run back to back); `speedup_cold` likewise.

Overhead per job: a no-op job (it emits 3 events and returns) sent through a warm WorkerPool(1) many times;
`overhead_ms_per_job` = wall time per job minus the job's own time measured inside the worker, i.e. the full
round trip of dispatch, pickling, pipe, events, event log write and result, with nothing hidden by parallelism.

    .venv/bin/python bench/scheduler.py [--jobs 16] [--workers 2] [--repeats 5] [--job_ms 300] [--job_kind torch]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mlgym.events.event_log import EventLog  # noqa: E402
from mlgym.scheduler import Task, TaskContext, WorkerPool  # noqa: E402


def cpu_job(seed: int, iterations: int, *, context: TaskContext | None = None) -> float:
    """A few hundred ms of single-threaded torch work: repeated 128x128 matrix products."""
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(128, 128, generator=generator)
    b = torch.randn(128, 128, generator=generator)
    for _ in range(iterations):
        b = torch.tanh(a @ b)
    if context is not None:
        context.emit("experiment_status", {"status": "done", "epoch": 1, "num_epochs": 1})
    return float(b.sum())


def python_job(seed: int, iterations: int, *, context: TaskContext | None = None) -> float:
    """The same amount of time in pure Python arithmetic (no SIMD, little memory traffic)."""
    total = seed
    for i in range(iterations * 2000):
        total = (total * 31 + i) % 1_000_003
    if context is not None:
        context.emit("experiment_status", {"status": "done", "epoch": 1, "num_epochs": 1})
    return float(total)


JOBS = {"torch": cpu_job, "python": python_job}


def noop_job(index: int, *, context: TaskContext) -> int:
    for step in range(3):
        context.emit("experiment_status", {"status": "training", "epoch": step, "num_epochs": 3})
    return index


def calibrate(job: Callable[..., float], job_ms: float) -> int:
    """Iterations of `job` that take about `job_ms` milliseconds on one thread here."""
    job(0, 50)
    started = time.perf_counter()
    job(0, 400)
    per_iteration = (time.perf_counter() - started) / 400
    return max(1, round(job_ms / 1000 / per_iteration))


def run_loop(tasks: list[Task]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    values = [task.fn(*task.args) for task in tasks]
    return time.perf_counter() - started, values


def run_pool(pool: WorkerPool, tasks: list[Task], log: EventLog) -> tuple[float, list[float], float]:
    """Returns wall time, values, and the summed in-worker durations."""
    started = time.perf_counter()
    results = pool.run(tasks, lambda kind, payload, exp: log.append(kind, payload, exp))
    wall = time.perf_counter() - started
    if not all(r.ok for r in results.values()):
        raise SystemExit(f"a benchmark job failed: {[r.error for r in results.values() if not r.ok]}")
    return wall, [results[t.task_id].value for t in tasks], sum(r.duration_s for r in results.values())


def _limit_threads() -> None:
    torch.set_num_threads(1)


def run_stdlib_pool(executor: ProcessPoolExecutor, tasks: list[Task]) -> float:
    """The reference: the standard library's process pool on the same jobs (no events, no graph)."""
    started = time.perf_counter()
    futures = [executor.submit(task.fn, *task.args) for task in tasks]
    [future.result() for future in futures]
    return time.perf_counter() - started


def measure_warm(args: argparse.Namespace, job: Callable[..., float], iterations: int,
                 log: EventLog) -> dict[str, list[float]]:
    """Paired repetitions: the loop, our warm pool and the stdlib pool back to back, so they share the load."""
    samples: dict[str, list[float]] = {"loop": [], "pool": [], "stdlib": [], "ratio": [], "stdlib_ratio": [],
                                       "idle": []}
    spawn = multiprocessing.get_context("spawn")
    with WorkerPool(args.workers, threads_per_worker=1) as pool, \
            ProcessPoolExecutor(args.workers, mp_context=spawn, initializer=_limit_threads) as executor:
        warmup = [Task(f"warmup{i}", cpu_job, (i, 10)) for i in range(args.workers * 2)]
        run_pool(pool, warmup, log)
        run_stdlib_pool(executor, warmup)
        for rep in range(args.repeats):
            tasks = [Task(f"r{rep}.j{i}", job, (i, iterations)) for i in range(args.jobs)]
            loop_s, expected = run_loop(tasks)
            pool_s, values, busy_s = run_pool(pool, tasks, log)
            assert values == expected, "the pool must compute exactly what the loop computes"
            stdlib_s = run_stdlib_pool(executor, tasks)
            samples["loop"].append(loop_s)
            samples["pool"].append(pool_s)
            samples["stdlib"].append(stdlib_s)
            samples["ratio"].append(loop_s / pool_s)
            samples["stdlib_ratio"].append(loop_s / stdlib_s)
            samples["idle"].append((pool_s * args.workers - busy_s) / args.jobs)
    return samples


def measure_overhead(args: argparse.Namespace, log: EventLog) -> float:
    """Seconds per no-op job through a warm one-worker pool, minus the job's own time inside the worker."""
    with WorkerPool(1, threads_per_worker=1) as pool:
        run_pool(pool, [Task(f"nwarm{i}", noop_job, (i,)) for i in range(20)], log)
        overheads = []
        for rep in range(args.repeats):
            tasks = [Task(f"n{rep}.{i}", noop_job, (i,)) for i in range(args.noop_jobs)]
            wall, _, busy = run_pool(pool, tasks, log)
            overheads.append((wall - busy) / args.noop_jobs)
    return statistics.median(overheads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--job_ms", type=float, default=300.0)
    parser.add_argument("--noop_jobs", type=int, default=300)
    parser.add_argument("--job_kind", choices=sorted(JOBS), default="torch",
                        help="torch: 128x128 matmuls (default); python: pure-Python arithmetic")
    args = parser.parse_args()
    print(f"loadavg_1min_at_start: {os.getloadavg()[0]:.2f}", flush=True)
    torch.set_num_threads(1)
    job = JOBS[args.job_kind]
    iterations = calibrate(job, args.job_ms)
    with tempfile.TemporaryDirectory() as tmp, EventLog(tmp, "bench-scheduler") as log:
        warm = measure_warm(args, job, iterations, log)
        colds, cold_ratios = [], []
        for rep in range(min(3, args.repeats)):  # worker start dominates here; 3 samples are enough
            tasks = [Task(f"c{rep}.j{i}", job, (i, iterations)) for i in range(args.jobs)]
            loop_s, _ = run_loop(tasks)
            colds.append(run_pool(WorkerPool(args.workers, threads_per_worker=1), tasks, log)[0])
            cold_ratios.append(loop_s / colds[-1])
        overhead = measure_overhead(args, log)
    median = {key: statistics.median(values) for key, values in warm.items()}
    print(f"jobs: {args.jobs} {args.job_kind} jobs x {median['loop'] / args.jobs * 1000:.0f} ms single-threaded, "
          f"workers: {args.workers}, repeats: {args.repeats}")
    print(f"loadavg_1min_at_end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"loop_s: {median['loop']:.3f}")
    print(f"pool_warm_s: {median['pool']:.3f}")
    print(f"stdlib_process_pool_s: {median['stdlib']:.3f}")
    print(f"pool_cold_s: {statistics.median(colds):.3f}")
    print(f"speedup_stdlib_process_pool: {median['stdlib_ratio']:.2f}")
    print(f"speedup_cold: {statistics.median(cold_ratios):.2f}")
    print(f"idle_worker_ms_per_job: {median['idle'] * 1000:.2f}")
    print(f"speedup: {median['ratio']:.2f}")
    print(f"overhead_ms_per_job: {overhead * 1000:.2f}")


if __name__ == "__main__":
    main()
