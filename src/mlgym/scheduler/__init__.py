"""Run a graph of tasks on a pool of worker processes (one device each) or in the main process.

The scheduler knows nothing about machine learning: a validation strategy turns experiments into `Task`s, an
`Executor` runs them and reports every step through `on_event(event_type, payload, experiment_id)`.
"""
from mlgym.scheduler.devices import resolve_devices
from mlgym.scheduler.main_process import MainProcessExecutor
from mlgym.scheduler.pool import WorkerPool
from mlgym.scheduler.task import (EventCallback, Executor, Interrupted, SchedulerError, Task, TaskContext,
                                  TaskResult)

__all__ = ["EventCallback", "Executor", "Interrupted", "MainProcessExecutor", "SchedulerError", "Task",
           "TaskContext", "TaskResult", "WorkerPool", "resolve_devices"]
