"""Continue a logged grid search: reuse finished experiments, resume the others from their checkpoints."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgym.config.loader import SourceMap
from mlgym.config.python_modules import modules_from_payload
from mlgym.errors import UsageError
from mlgym.events.event_log import EventLog, known_grid_searches, log_path, read_events
from mlgym.events.results import project
from mlgym.run.execution import ExecutionSettings
from mlgym.run.grid_search_run import EventListener, GridSearchRun, RefitConfigLogger
from mlgym.run.request import RunOutcome, RunRequest
from mlgym.run.provenance import Environment
from mlgym.run.train import checkpoint_root, checked_environment, started_payload, with_resolved_selection
from mlgym.scheduler.task import TaskResult
from mlgym.search.settings import search_from_log
from mlgym.validation.experiment_plan import ResolvedGridSearch, file_sha256, resolve_points
from mlgym.validation.plan import Plan, RunSettings, build_plan
from mlgym.validation.settings import ValidationSettings, parse_validation


def _finished_results(events_path: Path, grid_search_id: str, num_epochs: int) -> dict[str, TaskResult]:
    projection = project(read_events(events_path), grid_search_id)
    finished = {}
    for eid, view in projection.views().items():
        complete = view.train_status == "early_stopped" or (view.train_status == "done" and view.epoch >= num_epochs)
        history = view.history()
        if view.status == "done" and complete and history:
            finished[eid] = TaskResult(eid, True, {"experiment_id": eid, "history": history,
                                                   "last_epoch": view.epoch, "reused": True})
    return finished


def _without_finished(plan: Plan, finished: dict[str, TaskResult]) -> Plan:
    jobs = [job for job in plan.jobs if job.job_id not in finished]
    specs = {k: v for k, v in plan.specs.items() if k not in finished}
    return replace(plan, jobs=jobs, specs=specs)


def _started_event(path: Path) -> dict[str, Any] | None:
    return next((e["payload"] for e in read_events(path) if e["event_type"] == "grid_search_started"), None)


def warm_start(log_dir: Path, grid_search_id: str, num_epochs: int | None, execution: ExecutionSettings,
               force: bool = False, websocket_servers: tuple[str, ...] = (), ingest_token: str | None = None,
               listeners: tuple[EventListener, ...] = (), announce: Callable[[str], None] = print) -> RunOutcome:
    """Resume a grid search from its log and checkpoints; finished experiments are reused, not rerun."""
    path = log_path(log_dir, grid_search_id)
    if not path.is_file():
        known = known_grid_searches(log_dir)
        raise UsageError(f"unknown grid search id '{grid_search_id}' in {log_dir}; "
                         f"known ids: {', '.join(known[-10:]) or 'none'}")
    started = _started_event(path)
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
    execution = replace(execution, python_modules=resolved.python_modules)
    settings = with_resolved_selection(settings, resolved)
    reproducibility = (started.get("run_config") or {}).get("reproducibility") or {}
    environment = checked_environment(Path(started["gs_config_path"]).parent,
                                      reproducibility.get("dirty_git", "warn"))
    storage = execution.checkpoint_storage or started.get("checkpoint_storage")
    execution = replace(execution, checkpoint_storage=storage)
    run_dir = str(path.parent.resolve())
    checkpoints = checkpoint_root(storage, grid_search_id, run_dir)
    run = RunSettings(grid_search_id, run_dir, num_epochs, started["seed"], checkpoint_root=checkpoints)
    from mlgym.run.search_run import runs_as_search
    if runs_as_search(resolved.search, settings):
        return _warm_start_search(path, resolved, settings, run, started, execution, websocket_servers,
                                  ingest_token, listeners, announce, environment)
    refit_logger = RefitConfigLogger()
    plan = build_plan(resolved, settings, run, on_refit_spec=refit_logger)
    finished = _finished_results(path, grid_search_id, num_epochs)
    todo = _without_finished(plan, finished)
    if not todo.jobs:
        announce(f"grid search {grid_search_id}: all {len(plan.jobs)} experiments are finished; nothing to do")
        return RunOutcome(grid_search_id, path, finished, "done")
    announce(f"grid search {grid_search_id}: reusing {len(finished)} finished experiments, "
             f"running {len(todo.jobs)}")
    request = RunRequest(config_path, Path(log_dir), num_epochs, started["seed"], execution=execution,
                         run_config=started.get("run_config") or {}, heartbeat_s=logged_heartbeat_s(started))
    payload = started_payload(resolved, settings, request, len(plan.jobs), True, environment=environment)
    execution.check()
    runner = GridSearchRun(EventLog(log_dir, grid_search_id), execution, websocket_servers, ingest_token, listeners,
                           Path(checkpoints), request.heartbeat_s)
    environment.write_diff(path.parent)
    outcome = runner.launch(todo, payload, refit_logger, known=finished)
    outcome.results = {**finished, **outcome.results}
    return outcome


def logged_heartbeat_s(started: dict[str, Any]) -> float:
    """The heartbeat interval the run was started with (older logs: the default)."""
    from mlgym.run.heartbeat import DEFAULT_HEARTBEAT_S
    return float(started.get("heartbeat_s") or DEFAULT_HEARTBEAT_S)


def _resolved_from_log(started: dict[str, Any]) -> ResolvedGridSearch:
    """The logged config's points, chosen again by the logged search (a random search's seed is in the log, so
    it draws the same trials)."""
    return resolve_points(Path(started["gs_config_path"]), started["gs_config"], started["gs_config_sha256"],
                          SourceMap(), search_from_log(started.get("search")),
                          modules_from_payload(started.get("python_modules")))


def _warm_start_search(path: Path, resolved: ResolvedGridSearch, settings: ValidationSettings, run: RunSettings,
                       started: dict[str, Any], execution: ExecutionSettings, websocket_servers: tuple[str, ...],
                       ingest_token: str | None, listeners: tuple[EventListener, ...],
                       announce: Callable[[str], None], environment: Environment) -> RunOutcome:
    """Rebuild an adaptive search by replaying its log (see run/search_run.py), then go on from there."""
    from mlgym.run.search_run import build_search_run
    if run.num_epochs != started["num_epochs"]:
        raise UsageError(f"an adaptive search cannot change num_epochs on warm start ({started['num_epochs']} "
                         f"logged, {run.num_epochs} given): its rungs and decisions depend on it")
    search = resolved.search
    run = replace(run, directions=resolved.score_directions)
    events = list(read_events(path))
    search_run = build_search_run(search, settings, resolved, run)
    request = RunRequest(Path(started["gs_config_path"]), path.parent.parent, run.num_epochs, started["seed"],
                         execution=execution, run_config=started.get("run_config") or {},
                         heartbeat_s=logged_heartbeat_s(started))
    payload = started_payload(resolved, settings, request, search_run.num_experiments, True, search=search,
                              environment=environment)
    decided = sum(e["event_type"] == "trial_suggested" for e in events)
    announce(f"grid search {run.grid_search_id}: replaying {decided} suggested trials of the adaptive search")
    execution.check()
    runner = GridSearchRun(EventLog(path.parent.parent, run.grid_search_id), execution, websocket_servers,
                           ingest_token, listeners, Path(run.checkpoint_root or run.run_dir), request.heartbeat_s)
    environment.write_diff(path.parent)
    return runner.launch_search(search_run, payload, replay=events)
