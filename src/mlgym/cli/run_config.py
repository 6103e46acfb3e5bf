"""`run_config.yml` in mlgym's sections (`run_configuration`, `environment`, `logging`) and MLgym's `search`,
`reproducibility` and `labels`, merged under the flags."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgym.config.loader import SourceMap, load_yaml

SECTIONS = {
    "run_configuration": {"num_epochs", "seed", "gs_config_path", "validation_config_path", "type"},
    "environment": {"type", "process_count", "computation_device_ids", "max_retries", "address", "cpus_per_job",
                    "gpus_per_job", "checkpoint_storage"},
    "logging": {"log_dir", "websocket_logging_servers", "ingest_token", "heartbeat_s"},
    "search": {"searcher", "num_samples", "seed", "sampler", "scheduler"},
    "reproducibility": {"dirty_git"},
}
LABELS = "labels"  # {name, tags, note}: not settings; logged with the raw run config for people (and MLboard)


def _section(data: dict[str, Any], name: str, source: SourceMap) -> dict[str, Any]:
    body = data.get(name) or {}
    path = name
    if isinstance(body, dict) and isinstance(body.get("config"), dict):
        extra = {k: v for k, v in body.items() if k != "config"}
        body, path = {**extra, **body["config"]}, f"{name}.config"
    if not isinstance(body, dict):
        raise source.error("expected a mapping of settings", name)
    for key in body:
        if key not in SECTIONS[name]:
            raise source.error(f"unknown setting '{key}' in {name}; allowed: {', '.join(sorted(SECTIONS[name]))}",
                               f"{path}.{key}")
    return body


def _check_labels(data: dict[str, Any], source: SourceMap) -> None:
    """`labels: {name: str, tags: [str], note: str}` within the limits MLboard keeps (mlgym.events.labels)."""
    from mlgym.events.labels import label_problem
    if LABELS not in data:
        return
    problem = label_problem(data[LABELS])
    if problem is not None:
        key, reason = problem
        raise source.error(reason, f"{LABELS}.{key}" if key else LABELS,
                           hint="e.g. labels: {name: lr sweep, tags: [baseline, iris], note: why this run}")


def run_config_path(source: SourceMap, section: str, key: str) -> str:
    """The key path of a setting as written: `environment.config.<key>` or `environment.<key>`."""
    nested = f"{section}.config.{key}"
    return nested if nested in source else f"{section}.{key}"


def load_run_config(path: str | Path | None) -> tuple[dict[str, Any], dict[str, Any], SourceMap]:
    """Flat settings from the file (the flags' names), the raw file for the log, and its source map."""
    if path is None:
        return {}, {}, SourceMap()
    data, source = load_yaml(path)
    data = data or {}
    if not isinstance(data, dict):
        raise source.error("a run config is a mapping with run_configuration, environment, logging and search", "")
    unknown = set(data) - set(SECTIONS) - {LABELS}
    if unknown:
        raise source.error(f"unknown section(s) {sorted(unknown)}; allowed: {', '.join([*SECTIONS, LABELS])}",
                           sorted(unknown)[0])
    _check_labels(data, source)
    run, env, logging, search, reproducibility = (_section(data, name, source) for name in SECTIONS)
    flat: dict[str, Any] = {}
    for key in ("num_epochs", "seed", "gs_config_path", "validation_config_path"):
        if key in run:
            flat[key] = run[key]
    if "type" in env:
        flat["environment"] = env["type"]
    for key in ("process_count", "computation_device_ids", "max_retries", "cpus_per_job", "gpus_per_job",
                "checkpoint_storage"):
        if key in env:
            flat[key] = env[key]
    if "address" in env:
        flat["ray_address"] = env["address"]
    if "heartbeat_s" in logging:
        value = logging["heartbeat_s"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise source.error(f"heartbeat_s is a number of seconds > 0, got {value!r}",
                               run_config_path(source, "logging", "heartbeat_s"), hint="e.g. heartbeat_s: 30")
        flat["heartbeat_s"] = float(value)
    for key in ("log_dir", "ingest_token"):
        if key in logging:
            flat[key] = logging[key]
    if "websocket_logging_servers" in logging:
        servers = logging["websocket_logging_servers"]
        flat["websocket_logging_servers"] = servers if isinstance(servers, list) else [servers]
    for key in ("searcher", "num_samples", "sampler", "scheduler"):
        if key in search:
            flat[key] = search[key]
    if "seed" in search:
        flat["search_seed"] = search["seed"]
    if "dirty_git" in reproducibility:
        from mlgym.run.provenance import DIRTY_GIT
        if reproducibility["dirty_git"] not in DIRTY_GIT:
            raise source.error(f"dirty_git is one of {', '.join(DIRTY_GIT)}, got {reproducibility['dirty_git']!r}",
                               run_config_path(source, "reproducibility", "dirty_git"),
                               hint="error refuses to start with uncommitted changes to tracked files")
        flat["dirty_git"] = reproducibility["dirty_git"]
    base = Path(path).resolve().parent
    for key in ("gs_config_path", "validation_config_path", "log_dir", "checkpoint_storage"):
        if key in flat:
            flat[key] = str(base / flat[key])
    return flat, data, source
