"""Run a grid search end to end: validate everything, open the event log, execute the plan, log the outcome.

Also warm start: continue a logged grid search, reusing finished experiments and resuming the others from
their checkpoints.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlgym.checkpointing.seq_marker import CheckpointSeqRecorder
from mlgym.config.loader import SourceMap
from mlgym.errors import UsageError
from mlgym.events.event_log import EventLog, log_path, read_events
from mlgym.events.results import project
from mlgym.scheduler.task import Executor, TaskResult
from mlgym.validation.experiment_plan import (ResolvedGridSearch, check_strategy, file_sha256,
                                              resolve_grid_search)
from mlgym.validation.plan import (Plan, RefitPreparer, RunSettings, cross_validation_plan, dataset_targets,
                                   grid_search_plan, nested_cv_plan)
from mlgym.validation.provenance import environment_info
from mlgym.validation.settings import ValidationSettings, load_validation, parse_validation

EventListener = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ExecutionSettings:
    """How jobs run: `multiprocessing` (a pool of P workers over the devices) or `main_process`."""

    kind: str = "multiprocessing"
    process_count: int = 1
    devices: tuple[str, ...] = ("cpu",)
    max_retries: int = 1

    def executor(self) -> Executor:
        if self.kind == "main_process":
            from mlgym.scheduler.main_process import MainProcessExecutor
            return MainProcessExecutor(device=self.devices[0])
        from mlgym.registry.builtins import load_builtins
        from mlgym.scheduler.pool import WorkerPool
        return WorkerPool(self.process_count, self.devices, max_retries=self.max_retries,
                          worker_initializer=load_builtins)


@dataclass(frozen=True)
class RunRequest:
    """Everything a `train` needs, after flags and run_config.yml were merged."""

    gs_config_path: Path
    log_dir: Path
    num_epochs: int
    seed: int = 0
    overrides: tuple[str, ...] = ()
    validation_config_path: Path | None = None
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    websocket_servers: tuple[str, ...] = ()
    ingest_token: str | None = None
    run_config: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunOutcome:
    """What a run did: its id and log, the task results, and the exit status to give."""

    grid_search_id: str
    log_path: Path
    results: dict[str, TaskResult]
    status: str

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "done" else (130 if self.status == "interrupted" else 1)


def new_grid_search_id() -> str:
    return time.strftime("%Y-%m-%d--%H-%M-%S") + "-" + secrets.token_hex(2)


def build_plan(resolved_grid: list, settings: ValidationSettings, run: RunSettings, config: dict[str, Any],
               on_refit_spec: Any = None) -> Plan:
    if settings.strategy == "grid_search":
        return grid_search_plan(resolved_grid, run)
    targets = dataset_targets(config)
    if settings.strategy == "cross_validation":
        return cross_validation_plan(resolved_grid, run, settings, targets)
    return nested_cv_plan(resolved_grid, run, settings, targets, on_refit_spec)


@dataclass(frozen=True)
class WithKnownResults:
    """A refit's prepare hook that also sees dependency results reused from before a warm start."""

    preparer: RefitPreparer
    known: dict[str, TaskResult]

    def __call__(self, results: dict[str, TaskResult]) -> tuple:
        return self.preparer({**self.known, **results})


class RefitConfigLogger:
    """Logs an experiment's `experiment_config`; a nested-CV refit calls it once its grid point is chosen, which
    is after the plan was built, so the log is bound when the run opens it."""

    def __init__(self) -> None:
        self.log: EventLog | None = None

    def __call__(self, spec: Any) -> None:
        assert self.log is not None, "bound by GridSearchRun.launch before any job runs"
        self.log.append("experiment_config", spec.config_event(), spec.experiment_id)


class GridSearchRun:
    """One execution of a plan against one event log (a fresh run or a warm start)."""

    def __init__(self, log: EventLog, execution: ExecutionSettings, websocket_servers: tuple[str, ...] = (),
                 ingest_token: str | None = None, listeners: tuple[EventListener, ...] = ()) -> None:
        self.log = log
        self.execution = execution
        self.sinks = []
        log.add_listener(CheckpointSeqRecorder(log.path.parent))
        for listener in listeners:
            log.add_listener(listener)
        self.uploaders = []
        for url in websocket_servers:
            from mlgym.events.checkpoint_upload import CheckpointUploader
            from mlgym.events.websocket_sink import WebsocketSink
            sink = WebsocketSink(log.path, url, ingest_token)
            sink.start()
            self.sinks.append(sink)
            uploader = CheckpointUploader(log.path.parent, url, ingest_token)
            log.add_listener(uploader)
            self.uploaders.append(uploader)

    def launch(self, plan: Plan, started: dict[str, Any], refit_logger: "RefitConfigLogger") -> RunOutcome:
        """Log the start and every planned experiment's config, then execute the plan."""
        refit_logger.log = self.log
        self.log.append("grid_search_started", started)
        for spec in plan.specs.values():
            refit_logger(spec)
        return self.execute(plan)

    def execute(self, plan: Plan) -> RunOutcome:
        started = time.time()
        results: dict[str, TaskResult] = {}
        status = "interrupted"
        try:
            results = self.execution.executor().run(plan.tasks, self.log.append)
            status = "done" if all(r.ok for r in results.values()) else "failed"
        finally:
            failed = sum(not r.ok for r in results.values())
            self.log.append("grid_search_finished", {"status": status, "num_done": len(results) - failed,
                                                     "num_failed": failed, "duration_s": time.time() - started})
            self.log.close()
            for uploader in self.uploaders:
                uploader.close()
            for sink in self.sinks:
                sink.stop()
        return RunOutcome(self.log.grid_search_id, self.log.path, results, status)


def _started_payload(resolved: ResolvedGridSearch, settings: ValidationSettings, request: RunRequest,
                     num_experiments: int, warm_start: bool = False) -> dict[str, Any]:
    return {"strategy": settings.strategy, "num_experiments": num_experiments, "gs_config": resolved.gs_config,
            "gs_config_path": str(resolved.gs_config_path), "gs_config_sha256": resolved.gs_config_sha256,
            "run_config": request.run_config, "validation_config": settings.raw,
            "sweep_paths": resolved.sweep_paths, "environment": environment_info(resolved.gs_config_path.parent),
            "seed": request.seed, "num_epochs": request.num_epochs, "selection": settings.selection.to_dict(),
            "warm_start": warm_start}


def start(request: RunRequest, listeners: tuple[EventListener, ...] = ()) -> RunOutcome:
    """Validate everything, then run a new grid search. Nothing is created on disk if validation fails."""
    resolved = resolve_grid_search(request.gs_config_path, list(request.overrides))
    settings = load_validation(request.validation_config_path)
    check_strategy(settings, resolved)
    grid_search_id = new_grid_search_id()
    run = RunSettings(grid_search_id, str(Path(request.log_dir).resolve() / grid_search_id), request.num_epochs,
                      request.seed)
    refit_logger = RefitConfigLogger()
    plan = build_plan(resolved.grid, settings, run, resolved.grid[0].config, on_refit_spec=refit_logger)
    started = _started_payload(resolved, settings, request, len(plan.tasks))
    runner = GridSearchRun(EventLog(request.log_dir, grid_search_id), request.execution, request.websocket_servers,
                           request.ingest_token, listeners)
    return runner.launch(plan, started, refit_logger)


# -- warm start ------------------------------------------------------------------------------------------------
def _finished_results(plan: Plan, events_path: Path, grid_search_id: str,
                      num_epochs: int) -> dict[str, TaskResult]:
    projection = project(read_events(events_path), grid_search_id)
    finished = {}
    for eid, view in projection.views().items():
        complete = view.train_status == "early_stopped" or (view.train_status == "done" and view.epoch >= num_epochs)
        if view.status == "done" and complete and view.history:
            finished[eid] = TaskResult(eid, True, {"experiment_id": eid, "history": view.history,
                                                   "last_epoch": view.epoch, "reused": True})
    return finished


def _without_finished(plan: Plan, finished: dict[str, TaskResult]) -> Plan:
    tasks = []
    for task in plan.tasks:
        if task.task_id in finished:
            continue
        deps = tuple(d for d in task.depends_on if d not in finished)
        prepare = WithKnownResults(task.prepare, finished) if task.prepare is not None else None
        tasks.append(replace(task, depends_on=deps, prepare=prepare))
    specs = {k: v for k, v in plan.specs.items() if k not in finished}
    return replace(plan, tasks=tasks, specs=specs)


def known_grid_searches(log_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in Path(log_dir).glob("*/event_storage.log"))


def warm_start(log_dir: Path, grid_search_id: str, num_epochs: int | None, execution: ExecutionSettings,
               force: bool = False, websocket_servers: tuple[str, ...] = (), ingest_token: str | None = None,
               listeners: tuple[EventListener, ...] = (), announce: Callable[[str], None] = print) -> RunOutcome:
    """Resume a grid search from its log and checkpoints; finished experiments are reused, not rerun."""
    path = log_path(log_dir, grid_search_id)
    if not path.is_file():
        known = known_grid_searches(log_dir)
        raise UsageError(f"unknown grid search id '{grid_search_id}' in {log_dir}; "
                         f"known ids: {', '.join(known[-10:]) or 'none'}")
    started = next((e["payload"] for e in read_events(path) if e["event_type"] == "grid_search_started"), None)
    if started is None:
        raise UsageError(f"{path} has no grid_search_started event; it cannot be warm-started")
    config_path = Path(started["gs_config_path"])
    if not force and config_path.is_file() and file_sha256(config_path) != started["gs_config_sha256"]:
        raise UsageError(f"{config_path} has changed since grid search {grid_search_id} started; warm start "
                         "resumes the logged config, so results would not match the file. "
                         "Re-run with --force to resume anyway, or start a new grid search with train.")
    num_epochs = num_epochs or started["num_epochs"]
    settings = (parse_validation(started["validation_config"], SourceMap()) if started.get("validation_config")
                else ValidationSettings())
    resolved = _resolved_from_log(started)
    run = RunSettings(grid_search_id, str(path.parent.resolve()), num_epochs, started["seed"])
    refit_logger = RefitConfigLogger()
    plan = build_plan(resolved.grid, settings, run, resolved.grid[0].config, on_refit_spec=refit_logger)
    finished = _finished_results(plan, path, grid_search_id, num_epochs)
    todo = _without_finished(plan, finished)
    if not todo.tasks:
        announce(f"grid search {grid_search_id}: all {len(plan.tasks)} experiments are finished; nothing to do")
        return RunOutcome(grid_search_id, path, finished, "done")
    announce(f"grid search {grid_search_id}: reusing {len(finished)} finished experiments, "
             f"running {len(todo.tasks)}")
    request = RunRequest(config_path, Path(log_dir), num_epochs, started["seed"], run_config=started.get("run_config")
                         or {})
    payload = _started_payload(resolved, settings, request, len(plan.tasks), True)
    runner = GridSearchRun(EventLog(log_dir, grid_search_id), execution, websocket_servers, ingest_token, listeners)
    outcome = runner.launch(todo, payload, refit_logger)
    outcome.results = {**finished, **outcome.results}
    return outcome


def _resolved_from_log(started: dict[str, Any]) -> ResolvedGridSearch:
    from mlgym.config.sweep import expand_sweeps
    from mlgym.registry.builtins import load_builtins
    load_builtins()
    config = started["gs_config"]
    source = SourceMap()
    return ResolvedGridSearch(Path(started["gs_config_path"]), config, started["gs_config_sha256"], source,
                              expand_sweeps(config, source), started.get("sweep_paths", []))

