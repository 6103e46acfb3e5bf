"""`mlgym` (and every example's `run.py`): parse the command line and hand over to the layers below."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from mlgym.errors import ConfigError, MLgymError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlgym", description="Reproducible deep-learning experiments.")
    sub = parser.add_subparsers(dest="command", required=True)

    def execution_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--process_count", type=int, help="worker processes (default 1, or run_config)")
        p.add_argument("--computation_device_ids", nargs="+",
                       help="devices, round robin over workers: 0 1 (cuda:0 cuda:1) or cpu (default cpu)")
        p.add_argument("--environment", choices=["multiprocessing", "main_process", "ray"],
                       help="main_process runs every job in this process (debugging); ray runs them on a Ray "
                            "cluster (see --ray_address)")
        p.add_argument("--ray_address", help="the Ray cluster: auto (default) or HOST:PORT of its head")
        p.add_argument("--cpus_per_job", type=float, help="CPUs one job takes on a Ray node (default 1)")
        p.add_argument("--gpus_per_job", type=float, help="GPUs one job takes on a Ray node; 0.5 shares a GPU "
                                                          "between two jobs (default 0)")
        p.add_argument("--checkpoint_storage", help="a folder every node sees, for checkpoints (default: the "
                                                    "grid search's log folder)")
        p.add_argument("--max_retries", type=int, help="retries of a job whose worker died (default 1)")
        p.add_argument("--websocket_logging_servers", nargs="*", help="MLboard URLs to stream events to")
        p.add_argument("--ingest_token", help="token for MLboard ingest (or MLBOARD_INGEST_TOKEN)")

    def search_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--searcher", help="grid (default: every grid point), random (--num_samples draws) or optuna "
                                          "(--num_samples trials asked from an Optuna study)")
        p.add_argument("--num_samples", type=int, help="how many trials a random or Optuna search runs")
        p.add_argument("--search_seed", type=int, help="the random search's seed (default: --seed)")
        p.add_argument("--sampler", help="Optuna's sampler (searcher optuna): tpe (default), cmaes or qmc")
        p.add_argument("--scheduler", help="trial scheduler: none (default), asha or median (their defaults; set "
                                           "metric, min_epochs, ... under search.scheduler in a run config)")

    train = sub.add_parser("train", help="run a grid search (or cross-validation / nested CV)")
    train.add_argument("--gs_config_path", help="the gs_config.yml")
    train.add_argument("--run_config_path", help="run_config.yml with run_configuration/environment/logging")
    train.add_argument("--validation_config_path", help="CROSS_VALIDATION or NestedCV config")
    train.add_argument("--num_epochs", type=int, help="epochs every experiment trains (default 10, or run_config)")
    train.add_argument("--seed", type=int, help="the run's seed: data splits, initialisation, shuffling (default 0)")
    train.add_argument("--log_dir", help="where event logs go (default ./event_storage)")
    train.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                       help="override a config value; the key path must exist")
    execution_flags(train)
    search_flags(train)

    validate = sub.add_parser("validate", help="check configs and count experiments; trains nothing")
    validate.add_argument("--gs_config_path", required=True, help="the gs_config.yml to check")
    validate.add_argument("--validation_config_path", help="CROSS_VALIDATION or NestedCV config to check with it")
    validate.add_argument("-c", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                          help="override a config value; the key path must exist")
    validate.add_argument("--run_config_path", help="run_config.yml: its search section is used")
    validate.add_argument("--seed", type=int, help="the run's seed (a random search's default seed)")
    validate.add_argument("--show", action="store_true",
                          help="print the merged gs_config as YAML on stdout (imports resolved, anchors expanded, "
                               "-c overrides applied, sweeps kept); the summary goes to stderr")
    search_flags(validate)

    report = sub.add_parser("report", help="results table rebuilt from the event log")
    report.add_argument("--grid_search_id", help="the grid search to report (the folder name under --log_dir)")
    report.add_argument("--compare", nargs=2, metavar=("GS1", "GS2"),
                        help="line up two grid searches config by config with their selection scores")
    report.add_argument("--log_dir", default="event_storage", help="where the event logs are (default event_storage)")
    report.add_argument("--format", choices=["table", "csv", "json", "markdown", "html", "parquet"], default="table",
                        help="table (terminal), csv or json (the results table on stdout), markdown or html (a "
                             "report with PNG plots in --output DIR), parquet (every logged score, to --output FILE)")
    report.add_argument("--output", help="where --format markdown|html writes its folder, or parquet its file")

    warm = sub.add_parser("warmstart", help="resume a crashed or stopped grid search from its checkpoints")
    warm.add_argument("--grid_search_id", required=True, help="the grid search to resume (its log folder's name)")
    warm.add_argument("--log_dir", default="event_storage", help="where its event log is (default event_storage)")
    warm.add_argument("--num_epochs", type=int, help="more epochs extend finished experiments")
    warm.add_argument("--force", action="store_true", help="resume even if the gs_config file changed since")
    execution_flags(warm)

    init = sub.add_parser("init", help="start a project: write a template's gs_config.yml, run.py and configs")
    init.add_argument("--template", default="grid_search",
                      help="grid_search (default), cross_validation, nested_cv, search or custom_component")
    init.add_argument("--output", required=True, help="the new project's folder (must not exist, or be empty)")

    sync = sub.add_parser("sync", help="push a run that was logged offline to MLboard")
    sync.add_argument("--grid_search_id", required=True, help="the grid search to push (its log folder's name)")
    sync.add_argument("--server", required=True, help="the MLboard URL, e.g. http://127.0.0.1:5001")
    sync.add_argument("--log_dir", default="event_storage", help="where its event log is (default event_storage)")
    sync.add_argument("--ingest_token", help="token for MLboard ingest (or MLBOARD_INGEST_TOKEN)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mlgym.cli import commands
    try:
        return int(getattr(commands, args.command)(args) or 0)
    except MLgymError as e:
        prefix = "config error" if isinstance(e, ConfigError) else "error"
        print(f"{prefix}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def exit_now(code: int) -> NoReturn:
    """Exit with `code` without the interpreter's teardown: finish the non-daemon threads and the atexit handlers
    (multiprocessing reaps the workers, Ray disconnects), flush, then `os._exit`. Tearing down the modules of a
    process that imported torch, scikit-learn and pandas takes 1-1.5 s, after everything was done and printed."""
    import atexit
    import os
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def entry_point() -> NoReturn:
    """The `mlgym` command (and `python -m mlgym.cli.main`): `main` on the command line's arguments, then a fast
    exit. Call `main` instead to run a command inside a program that goes on afterwards."""
    exit_now(main())


if __name__ == "__main__":
    entry_point()
