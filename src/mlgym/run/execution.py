"""How jobs run: the choice of executor, and a plan's jobs turned into the scheduler's tasks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlgym.config.python_modules import PythonModule
from mlgym.scheduler.task import Executor, Task, TaskResult
from mlgym.validation.plan import Job

ENVIRONMENTS = ("multiprocessing", "main_process", "ray")


@dataclass(frozen=True)
class RaySettings:
    """Where the Ray cluster is and what one job asks a node for (fractions share a device)."""

    address: str = "auto"
    cpus_per_job: float = 1.0
    gpus_per_job: float = 0.0


@dataclass(frozen=True)
class ExecutionSettings:
    """How jobs run: `multiprocessing` (a pool of P workers over the devices), `main_process`, or `ray`.

    `checkpoint_storage`, when set, is a folder every node sees; checkpoints go to
    `<checkpoint_storage>/<grid_search_id>/checkpoints/` instead of the grid search's log folder.
    `python_modules` are the gs_config's own component modules, which every worker imports once at start.
    """

    kind: str = "multiprocessing"
    process_count: int = 1
    devices: tuple[str, ...] = ("cpu",)
    max_retries: int = 1
    ray: RaySettings = field(default_factory=RaySettings)
    checkpoint_storage: str | None = None
    python_modules: tuple[PythonModule, ...] = ()

    def check(self) -> None:
        """Fail before anything is created when the jobs cannot run at all (for Ray: connect, check resources)."""
        if self.kind == "ray":
            self.executor().connect()  # type: ignore[attr-defined]

    def parallel_slots(self) -> int:
        """How many jobs can run at once (for Ray: connects, checks resources and counts the cluster's slots)."""
        if self.kind == "ray":
            return self.executor().connect()  # type: ignore[attr-defined]
        return self.process_count if self.kind == "multiprocessing" else 1

    def executor(self) -> Executor:
        from mlgym.gym.preload import load_components
        initializer = (load_components, (self.python_modules,))
        if self.kind == "main_process":
            from mlgym.scheduler.main_process import MainProcessExecutor
            return MainProcessExecutor(device=self.devices[0])
        if self.kind == "ray":
            from mlgym.scheduler.ray_cluster import JobResources
            from mlgym.scheduler.ray_executor import RayExecutor
            return RayExecutor(self.ray.address, JobResources(self.ray.cpus_per_job, self.ray.gpus_per_job),
                               max_retries=self.max_retries, worker_initializer=initializer)
        from mlgym.gym.preload import WORKER_PRELOAD
        from mlgym.scheduler.pool import WorkerPool
        return WorkerPool(self.process_count, self.devices, max_retries=self.max_retries,
                          worker_initializer=initializer, preload=WORKER_PRELOAD)

    def started_executor(self) -> Executor:
        """The executor, its workers already starting in the background (a pool); the caller closes it."""
        executor = self.executor()
        start = getattr(executor, "start", None)
        if self.kind == "multiprocessing" and start is not None:
            start(wait=False)
        return executor


@dataclass(frozen=True)
class PreparedArgs:
    """A task's main-process hook: the job's `prepare` gives the spec, the task runs it."""

    prepare: Any
    known: dict[str, TaskResult]

    def __call__(self, results: dict[str, TaskResult]) -> tuple:
        return (self.prepare({**self.known, **results}),)


def task_of(job: Job, known: dict[str, TaskResult] | None = None) -> Task:
    """The scheduler task that trains `job`; `known` are results of dependencies reused from an earlier run."""
    from mlgym.gym.job import run_experiment
    known = known or {}
    prepare = PreparedArgs(job.prepare, known) if job.prepare is not None else None
    return Task(task_id=job.job_id, fn=run_experiment, args=(job.spec,),
                depends_on=tuple(d for d in job.depends_on if d not in known), prepare=prepare)
