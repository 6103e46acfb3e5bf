"""One execution of a plan against one event log (a fresh run or a warm start), with its sinks and uploads."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlgym.checkpointing.seq_marker import CheckpointSeqRecorder
from mlgym.events.event_log import EventLog
from mlgym.run.heartbeat import HeartbeatThread
from mlgym.events.payloads import GridSearchFinished, GridSearchStarted
from mlgym.run.execution import ExecutionSettings, task_of
from mlgym.run.request import RunOutcome
from mlgym.scheduler.task import Executor, Task, TaskResult
from mlgym.validation.plan import Plan

EventListener = Callable[[dict[str, Any]], None]


class RefitConfigLogger:
    """Logs an experiment's `experiment_config`; a nested-CV refit calls it once its grid point is chosen, which
    is after the plan was built, so the log is bound when the run opens it."""

    def __init__(self) -> None:
        self.log: EventLog | None = None

    def __call__(self, spec: Any) -> None:
        assert self.log is not None, "bound by GridSearchRun.launch before any job runs"
        self.log.append("experiment_config", spec.config_event(), spec.experiment_id)


class GridSearchRun:
    """Runs a plan's jobs on an executor; every event goes to the log, its listeners, sinks and uploads."""

    def __init__(self, log: EventLog, execution: ExecutionSettings, websocket_servers: tuple[str, ...] = (),
                 ingest_token: str | None = None, listeners: tuple[EventListener, ...] = (),
                 checkpoint_root: Path | None = None, heartbeat_s: float | None = None,
                 executor: Executor | None = None) -> None:
        self.log = log
        self.executor = executor  # started early by the caller (who closes it); None: made and closed here
        self.heartbeat_s = heartbeat_s
        self.execution = execution
        self.sinks = []
        checkpoint_root = checkpoint_root or log.path.parent
        log.add_listener(CheckpointSeqRecorder(checkpoint_root))
        for listener in listeners:
            log.add_listener(listener)
        self.uploaders = []
        for url in websocket_servers:
            from mlgym.events.checkpoint_upload import CheckpointUploader
            from mlgym.events.websocket_sink import WebsocketSink
            sink = WebsocketSink(log.path, url, ingest_token)
            sink.start()
            self.sinks.append(sink)
            uploader = CheckpointUploader(checkpoint_root, url, ingest_token)
            log.add_listener(uploader)
            self.uploaders.append(uploader)

    def launch(self, plan: Plan, started: GridSearchStarted, refit_logger: RefitConfigLogger,
               known: dict[str, TaskResult] | None = None) -> RunOutcome:
        """Log the start and every planned experiment's config, then execute the plan."""
        refit_logger.log = self.log
        self.log.append("grid_search_started", started)
        for spec in plan.specs.values():
            refit_logger(spec)
        return self.execute(plan, known)

    def launch_search(self, search: Any, started: GridSearchStarted,
                      replay: list[dict[str, Any]] | None = None) -> RunOutcome:
        """Log the start, then run an adaptive search (`run.search_run.SearchRun`): its first tasks, and what it
        decides after each result. `replay`: a warm start's logged events, replayed into the search first."""
        self.log.append("grid_search_started", started)
        search.bind(self.log.append)
        reused: dict[str, TaskResult] = {}

        def first_tasks() -> tuple[list[Task], Any]:
            nonlocal reused
            if replay is None:
                return search.initial_tasks(), search.feeder
            tasks, reused = search.replay(replay)
            return tasks, search.feeder

        outcome = self._run(first_tasks)
        outcome.results = {**reused, **outcome.results}
        return outcome

    def execute(self, plan: Plan, known: dict[str, TaskResult] | None = None) -> RunOutcome:
        return self._run(lambda: ([task_of(job, known) for job in plan.jobs], None))

    def _run(self, first_tasks: Callable[[], tuple[list[Task], Any]]) -> RunOutcome:
        started = time.time()
        results: dict[str, TaskResult] = {}
        status = "interrupted"
        heartbeat = HeartbeatThread(self.log, self.heartbeat_s).start() if self.heartbeat_s else None
        try:
            tasks, feeder = first_tasks()
            executor = self.executor or self.execution.executor()
            if self.execution.kind == "main_process":
                from mlgym.gym.data_cache import worker_data_cache
                worker_data_cache.clear()  # a worker's cache lives for one run; so does this process's
            results = (executor.run(tasks, self.log.append, feeder) if feeder is not None
                       else executor.run(tasks, self.log.append))
            status = "done" if all(r.ok for r in results.values()) else "failed"
        finally:
            if heartbeat is not None:
                heartbeat.stop()
            failed = sum(not r.ok for r in results.values())
            self.log.append("grid_search_finished", GridSearchFinished(
                status=status, num_done=len(results) - failed, num_failed=failed,
                duration_s=time.time() - started))
            self.log.close()
            for uploader in self.uploaders:
                uploader.close()
            for sink in self.sinks:
                sink.stop()
        return RunOutcome(self.log.grid_search_id, self.log.path, results, status)
