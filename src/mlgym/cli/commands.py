"""The subcommands: each turns parsed flags (+ run_config.yml) into a call of the layer below."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlgym.cli.progress import Progress
from mlgym.cli.run_config import load_run_config, run_config_path
from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError, MLgymError, UsageError


def _pick(flag: Any, settings: dict[str, Any], key: str, default: Any) -> Any:
    return flag if flag is not None else settings.get(key, default)


def _devices(args: argparse.Namespace, settings: dict[str, Any], source: SourceMap | None) -> tuple[str, ...]:
    """Devices from the flag, else from run_config (an error there names its file and line)."""
    from mlgym.scheduler.devices import resolve_devices
    if args.computation_device_ids is not None:
        return tuple(resolve_devices(args.computation_device_ids, key_path="--computation_device_ids"))
    try:
        return tuple(resolve_devices(settings.get("computation_device_ids")))
    except ConfigError as e:
        if source is None:
            raise
        raise source.error(e.message, run_config_path(source, "environment", "computation_device_ids"),
                           hint=e.hint) from None


def _positive(value: int, name: str) -> int:
    if not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}", key_path=name)
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}", key_path=f"environment.{name}")
    return float(value)


def _execution(args: argparse.Namespace, settings: dict[str, Any], source: SourceMap | None = None):
    from mlgym.run import ExecutionSettings
    from mlgym.run.execution import ENVIRONMENTS, RaySettings
    kind = _pick(args.environment, settings, "environment", "multiprocessing")
    if kind not in ENVIRONMENTS:
        raise ConfigError(f"environment type must be one of {', '.join(ENVIRONMENTS)}, got {kind!r}",
                          key_path="environment.type")
    ray = RaySettings()
    if kind == "ray":
        from mlgym.scheduler.ray_cluster import JobResources
        ray = RaySettings(address=str(_pick(args.ray_address, settings, "ray_address", "auto")),
                          cpus_per_job=_number(_pick(args.cpus_per_job, settings, "cpus_per_job", 1), "cpus_per_job"),
                          gpus_per_job=_number(_pick(args.gpus_per_job, settings, "gpus_per_job", 0), "gpus_per_job"))
        JobResources(ray.cpus_per_job, ray.gpus_per_job)  # checks them now, before anything is created
    storage = _pick(args.checkpoint_storage, settings, "checkpoint_storage", None)
    return ExecutionSettings(kind=kind,
                             process_count=_positive(_pick(args.process_count, settings, "process_count", 1),
                                                     "process_count"),
                             devices=_devices(args, settings, source),
                             max_retries=_pick(args.max_retries, settings, "max_retries", 1), ray=ray,
                             checkpoint_storage=str(Path(storage).resolve()) if storage else None)


def _search(args: argparse.Namespace, settings: dict[str, Any], source: SourceMap):
    """The search settings from the flags, else the run config's `search` section (errors name where)."""
    from mlgym.search import Origin, parse_search
    given = {}
    for key, flag in (("searcher", "searcher"), ("num_samples", "num_samples"), ("seed", "search_seed"),
                      ("sampler", "sampler"), ("scheduler", "scheduler")):
        if getattr(args, flag) is not None:
            given[key] = (getattr(args, flag), Origin(f"--{flag}"))
        elif flag in settings:  # the run config's settings carry the flags' names
            given[key] = (settings[flag], Origin(run_config_path(source, "search", key), source))
    return parse_search(given)


def _servers(args: argparse.Namespace, settings: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    servers = tuple(_pick(args.websocket_logging_servers, settings, "websocket_logging_servers", ()) or ())
    token = args.ingest_token or settings.get("ingest_token") or os.environ.get("MLBOARD_INGEST_TOKEN")
    return servers, token


@contextlib.contextmanager
def _workers_prestarted(environment: str) -> Iterator[None]:
    """A pool's workers are forks of a forkserver that imports torch and the components (~3-4 s): start it
    before this process imports the run layer, reads the gs_config and plans, so the two overlap. If the run is
    refused, the server this started is stopped."""
    started = False
    if environment == "multiprocessing":
        from mlgym.gym.preload import WORKER_PRELOAD
        from mlgym.scheduler.start_method import prestart_server
        started = prestart_server(WORKER_PRELOAD)
    try:
        yield
    except MLgymError:
        if started:
            from mlgym.scheduler.start_method import stop_server
            stop_server()
        raise


def train(args: argparse.Namespace) -> int:
    settings, raw_run_config, run_config_source = load_run_config(args.run_config_path)
    with _workers_prestarted(_pick(args.environment, settings, "environment", "multiprocessing")):
        return _train(args, settings, raw_run_config, run_config_source)


def _train(args: argparse.Namespace, settings: dict[str, Any], raw_run_config: Any,
           run_config_source: SourceMap | None) -> int:
    from mlgym.run import RunRequest, start
    gs_config_path = _pick(args.gs_config_path, settings, "gs_config_path", None)
    if gs_config_path is None:
        raise UsageError("train needs --gs_config_path (or run_configuration.gs_config_path in --run_config_path)")
    num_epochs = _positive(_pick(args.num_epochs, settings, "num_epochs", 10), "num_epochs")
    servers, token = _servers(args, settings)
    validation = _pick(args.validation_config_path, settings, "validation_config_path", None)
    request = RunRequest(gs_config_path=Path(gs_config_path), log_dir=Path(_pick(args.log_dir, settings, "log_dir",
                                                                                  "event_storage")),
                         num_epochs=num_epochs, seed=_pick(args.seed, settings, "seed", 0),
                         overrides=tuple(args.overrides),
                         validation_config_path=Path(validation) if validation else None,
                         execution=_execution(args, settings, run_config_source), websocket_servers=servers,
                         ingest_token=token,
                         run_config=raw_run_config, search=_search(args, settings, run_config_source),
                         dirty_git=settings.get("dirty_git", "warn"),
                         heartbeat_s=settings.get("heartbeat_s", 30.0))
    with Progress() as progress:
        outcome = start(request, listeners=(progress, TablesImportedWhileRunning()))
    return _finish(outcome)


class TablesImportedWhileRunning:
    """Event listener: once the grid search has started (planning is done, this process mostly waits for the
    workers), import the results table's modules (pandas: ~0.3 s) in a background thread, so the table printed
    after the last job does not wait for them. Not before: two threads importing at once risk import deadlocks."""

    def __init__(self) -> None:
        self._started = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self._started or event["event_type"] != "grid_search_started":
            return
        self._started = True
        import threading
        threading.Thread(target=_import_tables, name="mlgym-import-tables", daemon=True).start()


def _import_tables() -> None:
    """Best effort: if the import fails here, it fails again, with its traceback, where the table is printed."""
    with contextlib.suppress(Exception):
        import mlgym.cli.tables  # noqa: F401


def _print_results(projection: Any) -> None:
    """The results table in the terminal, losses included, the best row marked."""
    from mlgym.cli.tables import print_results
    from mlgym.events.results import results_table
    print_results(results_table(projection), projection.strategy)


def _finish(outcome: Any) -> int:
    from mlgym.events.event_log import read_events
    from mlgym.events.results import project
    _print_results(project(read_events(outcome.log_path), outcome.grid_search_id))
    failed = [r for r in outcome.results.values() if not r.ok]
    for r in failed:
        print(f"FAILED {r.task_id}: {r.error}", file=sys.stderr)
    print(f"grid search {outcome.grid_search_id}: {outcome.status}"
          f" ({len(outcome.results) - len(failed)} done, {len(failed)} failed)")
    print(f"event log: {Path(outcome.log_path).resolve()}")
    return outcome.exit_code


def validate(args: argparse.Namespace) -> int:
    from mlgym.validation.settings import load_validation
    run_settings, _, run_config_source = load_run_config(args.run_config_path)
    search = _search(args, run_settings, run_config_source).with_run_seed(
        _pick(args.seed, run_settings, "seed", 0))
    if search.searcher == "grid" and not search.adaptive:
        return _validate_grid(args, load_validation)
    from mlgym.validation.experiment_plan import check_strategy, resolve_grid_search
    resolved = resolve_grid_search(args.gs_config_path, args.overrides, search)
    settings = load_validation(args.validation_config_path)
    check_strategy(settings, resolved)
    n = len(resolved.grid)
    jobs = _jobs(settings, n)
    drawn = f"; random search, seed {search.seed}" if search.searcher == "random" else ""
    from mlgym.run.search_run import folds_per_trial, runs_as_search
    if runs_as_search(search, settings):
        from mlgym.run.search_run import resolved_search, scheduler_title
        from mlgym.run.train import with_resolved_selection
        num_epochs = _positive(_pick(getattr(args, "num_epochs", None), run_settings, "num_epochs", 10),
                               "num_epochs")
        search = resolved_search(search, with_resolved_selection(settings, resolved), resolved, num_epochs, 1)
        scheduler = ""
        if search.scheduler is not None:
            s = search.scheduler
            rungs = s.pause_epochs(num_epochs)
            scheduler = (f", {scheduler_title(s.type)} on {s.metric} ({s.mode}) pausing at epochs "
                         f"{', '.join(map(str, rungs)) or 'none'} of {num_epochs}")
        n = search.num_samples or n
        studies, folds = folds_per_trial(settings)
        jobs = studies * n * folds + (studies if settings.strategy == "nested_cv" else 0)
        per = " per outer fold, each drawing its own" if settings.strategy == "nested_cv" else ""
        drawn = f"; {search.searcher} search of {n} trials{per}, seed {search.seed}{scheduler}"
    return _print_valid(args, resolved, n, resolved.sweep_paths, drawn, settings.strategy, jobs)


def _validate_grid(args: argparse.Namespace, load_validation: Any) -> int:
    """`validate` of a grid search: every point checked as it is made, none kept (a 100,000-point grid in
    bounded memory); prints what the general path prints."""
    from mlgym.validation.experiment_plan import check_grid_search, check_strategy_nodes
    checked = check_grid_search(args.gs_config_path, args.overrides)
    settings = load_validation(args.validation_config_path)
    check_strategy_nodes(settings, checked.first_nodes, checked.source)
    return _print_valid(args, checked, checked.size, checked.sweep_paths, "", settings.strategy,
                        _jobs(settings, checked.size))


def _jobs(settings: Any, n: int) -> int:
    """Jobs of a strategy over n configs (a nested-CV refit per outer fold)."""
    if settings.strategy == "cross_validation":
        return n * settings.num_folds
    if settings.strategy == "nested_cv":
        return settings.num_outer_loop_folds * (n * settings.num_inner_loop_folds + 1)
    return n


def _print_valid(args: argparse.Namespace, checked: Any, n: int, sweep_paths: list[str], drawn: str,
                 strategy: str, jobs: int) -> int:
    """The summary line; with --show it goes to stderr and the merged config to stdout."""
    summary = (f"{checked.gs_config_path}: valid; {n} experiment configs "
               f"({', '.join(sweep_paths) or 'no sweeps'}){drawn}; strategy {strategy}: {jobs} jobs")
    if getattr(args, "show", False):
        from mlgym.config.merged import merged_yaml
        print(summary, file=sys.stderr)
        print(merged_yaml(checked.gs_config, checked.gs_config_path, args.overrides, checked.python_modules),
              end="")
    else:
        print(summary)
    return 0


def _logged(log_dir: str, grid_search_id: str) -> Path:
    from mlgym.events.event_log import known_grid_searches, log_path
    path = log_path(log_dir, grid_search_id)
    if not path.is_file():
        raise UsageError(f"no event log for grid search '{grid_search_id}' in {log_dir}; known: "
                         f"{', '.join(known_grid_searches(Path(log_dir))[-10:]) or 'none'}")
    return path


def _compare(args: argparse.Namespace) -> int:
    from mlgym.events.snapshot import project_log
    from mlgym.report.compare import compare_table
    first, second = (project_log(_logged(args.log_dir, gs), gs) for gs in args.compare)
    table = compare_table(first, second)
    if args.format == "json":
        import pandas as pd
        print(json.dumps(table.astype(object).where(pd.notna(table), None).to_dict(orient="records"), indent=2,
                         default=str))
    elif args.format == "csv":
        print(table.to_csv(index=False), end="")
    elif args.format == "table":
        from mlgym.cli.tables import print_results
        print_results(table, f"{first.grid_search_id} vs {second.grid_search_id}")
    else:
        raise UsageError("--compare prints a table, csv or json")
    return 0


def report(args: argparse.Namespace) -> int:
    from mlgym.events.event_log import read_events
    from mlgym.events.results import results_json, results_table
    from mlgym.events.snapshot import project_log
    if args.compare:
        return _compare(args)
    if not args.grid_search_id:
        raise UsageError("report needs --grid_search_id ID (or --compare GS1 GS2)")
    path = _logged(args.log_dir, args.grid_search_id)
    projection = project_log(path, args.grid_search_id)
    if args.format in ("markdown", "html"):
        from mlgym.report import write_report
        if not args.output:
            raise UsageError(f"--format {args.format} writes a report with its plots into a folder: give --output DIR")
        print(f"wrote {write_report(projection, Path(args.output), args.format)}")
        return 0
    if args.format == "parquet":
        if not args.output:
            raise UsageError("--format parquet writes the metrics to a file: give --output FILE.parquet")
        from mlgym.report.metrics import write_metrics
        print(f"wrote {write_metrics(read_events(path), Path(args.output))}")
        return 0
    if args.format == "json":
        print(json.dumps(results_json(projection), indent=2, default=str))
    elif args.format == "csv":
        print(results_table(projection).to_csv(index=False), end="")
    else:
        _print_results(projection)
        print(run_status_line(projection))
    return 0


def run_status_line(projection: Any) -> str:
    """`grid search <id>: <status>`; a stale run says since when it is silent and how to resume it."""
    import time

    from mlgym.events.projection import STALE_AFTER_HEARTBEATS
    status = projection.live_status()
    line = f"grid search {projection.grid_search_id}: {status}"
    if status == "stale" and projection.last_ts is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(projection.last_ts))
        line += (f" (no event since {when}, {STALE_AFTER_HEARTBEATS} heartbeats of {projection.heartbeat_s:g} s: its "
                 f"process is gone; resume it with warmstart --grid_search_id {projection.grid_search_id})")
    return line


def warmstart(args: argparse.Namespace) -> int:
    with _workers_prestarted(args.environment or "multiprocessing"):
        return _warmstart(args)


def _warmstart(args: argparse.Namespace) -> int:
    from mlgym.run import warm_start
    if args.num_epochs is not None:
        _positive(args.num_epochs, "num_epochs")
    servers, token = _servers(args, {})
    with Progress() as progress:
        outcome = warm_start(Path(args.log_dir), args.grid_search_id, args.num_epochs, _execution(args, {}),
                             force=args.force, websocket_servers=servers, ingest_token=token,
                             listeners=(progress, TablesImportedWhileRunning()))
    return _finish(outcome)


def init(args: argparse.Namespace) -> int:
    from mlgym.cli.project_templates import create_project, next_steps
    written = create_project(args.template, args.output)
    print(f"created {args.output} from template {args.template}: {', '.join(p.name for p in written)}")
    print(next_steps(args.template, args.output))
    return 0


def _check_reachable(server: str) -> None:
    import requests
    try:
        requests.get(f"{server.rstrip('/')}/api/grid_searches", timeout=10)
    except requests.RequestException as e:
        raise MLgymError(f"cannot reach MLboard at {server}: {e.__class__.__name__}; is `ml_board` running "
                         "there?") from e


def sync(args: argparse.Namespace) -> int:
    from mlgym.events.event_log import log_path
    from mlgym.events.websocket_sink import sync as push
    if not log_path(args.log_dir, args.grid_search_id).is_file():
        raise UsageError(f"no event log for grid search '{args.grid_search_id}' in {args.log_dir}")
    token = args.ingest_token or os.environ.get("MLBOARD_INGEST_TOKEN")
    _check_reachable(args.server)
    acked = push(args.log_dir, args.grid_search_id, args.server, token)
    print(f"synced grid search {args.grid_search_id} to {args.server}: acked up to seq {acked}")
    return 0
