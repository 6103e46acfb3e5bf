"""Start a new grid search: validate everything, plan it, open its event log, run it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgym.events.event_log import EventLog
from mlgym.run.execution import ExecutionSettings
from mlgym.run.grid_search_run import EventListener, GridSearchRun, RefitConfigLogger
from mlgym.run.provenance import Environment, capture_environment
from mlgym.run.request import RunOutcome, RunRequest, new_grid_search_id
from mlgym.scheduler.task import Executor
from mlgym.validation.experiment_plan import (ResolvedGridSearch, check_strategy, file_sha256, load_gs_config,
                                             resolve_points)
from mlgym.events.payloads import GridSearchStarted, PythonModuleRef
from mlgym.validation.plan import RunSettings, build_plan
from mlgym.validation.settings import ValidationSettings, load_validation
from mlgym.search.settings import SearchSettings


def grid_directions(resolved: ResolvedGridSearch) -> dict[str, str]:
    """Score name -> direction over every grid point (a sweep may change the metrics)."""
    directions: dict[str, str] = {}
    for point_directions in resolved.score_directions.values():
        for name, direction in point_directions.items():
            directions.setdefault(name, direction)
    return directions


def with_resolved_selection(settings: ValidationSettings, resolved: ResolvedGridSearch) -> ValidationSettings:
    """The selection's metric and mode made explicit: the first metric and its direction unless configured."""
    first = resolved.score_directions[resolved.grid[0].grid_point_id]
    return replace(settings, selection=settings.selection.resolved(first))


def checkpoint_root(storage: str | None, grid_search_id: str, run_dir: str) -> str:
    """Where a grid search's `checkpoints/` folder is: under the shared checkpoint storage, or in its run dir."""
    return str(Path(storage).resolve() / grid_search_id) if storage else run_dir


def started_payload(resolved: ResolvedGridSearch, settings: ValidationSettings, request: RunRequest,
                    num_experiments: int, warm_start: bool = False,
                    search: SearchSettings | None = None, environment: Environment | None = None) -> GridSearchStarted:
    """The payload of `grid_search_started` (`search`: the adaptive search's resolved settings)."""
    environment = environment or capture_environment(resolved.gs_config_path.parent)
    return GridSearchStarted(
        strategy=settings.strategy, num_experiments=num_experiments, gs_config=resolved.gs_config,
        gs_config_path=str(resolved.gs_config_path), gs_config_sha256=resolved.gs_config_sha256,
        run_config=request.run_config, validation_config=settings.raw, sweep_paths=resolved.sweep_paths,
        environment=environment.info, seed=request.seed,
        num_epochs=request.num_epochs, selection=settings.selection.to_dict(),
        score_directions=grid_directions(resolved), warm_start=warm_start,
        checkpoint_storage=request.execution.checkpoint_storage,
        python_modules=[PythonModuleRef(name=m.name, folder=m.folder) for m in resolved.python_modules],
        search=(search or resolved.search).to_payload(), heartbeat_s=request.heartbeat_s)


def checked_environment(config_dir: Path, dirty_git: str) -> Environment:
    """The run's environment record; a dirty git tree refused (`error`) or warned about (`warn`)."""
    import sys

    from mlgym.errors import UsageError
    environment = capture_environment(config_dir)
    if dirty_git == "ignore" or not environment.dirty:
        return environment
    files = environment.info["git_changed_files"]
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    what = f"the git working tree of {config_dir} has uncommitted changes to tracked files ({shown})"
    if dirty_git == "error":
        raise UsageError(f"{what}; reproducibility.dirty_git is error, so nothing was started. Commit (or stash) "
                         "them, or set dirty_git: warn to run and keep the diff beside the event log")
    print(f"warning: {what}; their diff is saved beside the event log (reproducibility.dirty_git: warn; error "
          "refuses to start, ignore stays quiet)", file=sys.stderr)
    return environment


def start(request: RunRequest, listeners: tuple[EventListener, ...] = ()) -> RunOutcome:
    """Validate everything, then run a new grid search. Nothing is created on disk if validation fails.

    A pool's workers start right after the config files are read (they need the config's `python_modules`), so
    they get ready while this process checks the grid and plans; they are stopped, without waiting for them, when
    the run ends or validation fails (`WorkerPool.close(wait=False)`)."""
    path, config, source = load_gs_config(request.gs_config_path, list(request.overrides))
    request = replace(request, execution=replace(request.execution, python_modules=tuple(source.python_modules)))
    executor = request.execution.started_executor() if request.execution.kind == "multiprocessing" else None
    try:
        return _validate_and_run(request, listeners, path, config, source, executor)
    finally:
        if executor is not None:
            executor.close(wait=False)  # type: ignore[attr-defined]


def _validate_and_run(request: RunRequest, listeners: tuple[EventListener, ...], path: Path, config: dict,
                      source: Any, executor: Executor | None) -> RunOutcome:
    search = request.search.with_run_seed(request.seed)
    resolved = resolve_points(path, config, file_sha256(path), source, search, tuple(source.python_modules))
    settings = load_validation(request.validation_config_path)
    check_strategy(settings, resolved)
    settings = with_resolved_selection(settings, resolved)
    environment = checked_environment(resolved.gs_config_path.parent, request.dirty_git)
    grid_search_id = new_grid_search_id()
    run_dir = str(Path(request.log_dir).resolve() / grid_search_id)
    checkpoints = checkpoint_root(request.execution.checkpoint_storage, grid_search_id, run_dir)
    run = RunSettings(grid_search_id, run_dir, request.num_epochs, request.seed, checkpoint_root=checkpoints)
    from mlgym.run.search_run import runs_as_search
    if runs_as_search(search, settings):
        return _start_search(request, resolved, settings, run, search, listeners, environment, executor)
    refit_logger = RefitConfigLogger()
    plan = build_plan(resolved, settings, run, on_refit_spec=refit_logger)
    started = started_payload(resolved, settings, request, len(plan.jobs), environment=environment)
    request.execution.check()
    runner = GridSearchRun(EventLog(request.log_dir, grid_search_id), request.execution, request.websocket_servers,
                           request.ingest_token, listeners, Path(checkpoints), request.heartbeat_s, executor)
    environment.write_diff(runner.log.path.parent)
    return runner.launch(plan, started, refit_logger)




def max_concurrent(execution: ExecutionSettings, settings: ValidationSettings) -> int:
    """How many trials each of a search's studies keeps running: the worker slots (processes, or the Ray
    cluster's) shared by its folds."""
    from mlgym.run.search_run import trial_concurrency
    return trial_concurrency(settings, execution.parallel_slots())


def _start_search(request: RunRequest, resolved: ResolvedGridSearch, settings: ValidationSettings,
                  run: RunSettings, search: SearchSettings, listeners: tuple[EventListener, ...],
                  environment: Environment, executor: Executor | None = None) -> RunOutcome:
    """A search driven by the executor's feeder (Optuna, a trial scheduler, nested CV's searches per outer fold):
    checked, then run."""
    from mlgym.run.search_run import build_search_run, resolved_search
    search = resolved_search(search, settings, resolved, request.num_epochs,
                             max_concurrent(request.execution, settings))
    search_run = build_search_run(search, settings, resolved, run)
    started = started_payload(resolved, settings, request, search_run.num_experiments, search=search,
                              environment=environment)
    request.execution.check()
    runner = GridSearchRun(EventLog(request.log_dir, run.grid_search_id), request.execution,
                           request.websocket_servers, request.ingest_token, listeners, Path(run.checkpoint_root),
                           request.heartbeat_s, executor)
    environment.write_diff(runner.log.path.parent)
    return runner.launch_search(search_run, started)
