"""Sweep expansion: every `{sweep: absolute, values: [...]}` is an axis; the grid is their cartesian product."""
from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from mlgym.config.loader import SourceMap

SWEEP_KINDS = ("absolute",)


@dataclass(frozen=True)
class GridPoint:
    """One experiment's resolved config, the swept values that made it, and its stable id."""

    grid_point_id: str
    config: dict[str, Any]
    hyperparameters: dict[str, Any]


def config_id(config: dict[str, Any]) -> str:
    """10 hex digits of the SHA-256 of the canonical JSON of a resolved config."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _check_sweep(node: dict[str, Any], path: str, source: SourceMap) -> list[Any]:
    kind = node.get("sweep")
    if kind not in SWEEP_KINDS:
        near = difflib.get_close_matches(str(kind), SWEEP_KINDS, n=1, cutoff=0.3)
        raise source.error(f"unknown sweep kind '{kind}'; known kinds: {', '.join(SWEEP_KINDS)}",
                           f"{path}.sweep", hint=f"did you mean '{near[0]}'?" if near else None)
    extra = set(node) - {"sweep", "values"}
    if extra:
        raise source.error(f"unexpected key(s) {sorted(extra)} in sweep; a sweep has 'sweep' and 'values'", path)
    values = node.get("values")
    if not isinstance(values, list) or not values:
        raise source.error("a sweep needs a non-empty list of values", f"{path}.values" if "values" in node
                           else path, hint="write values: [0.1, 0.01]")
    return values


def find_sweeps(config: Any, source: SourceMap, path: str = "") -> dict[str, list[Any]]:
    """Key path -> values of every sweep in `config`, in document order."""
    found: dict[str, list[Any]] = {}
    if isinstance(config, dict):
        if "sweep" in config:
            found[path] = _check_sweep(config, path, source)
            return found
        for key, value in config.items():
            found.update(find_sweeps(value, source, f"{path}.{key}" if path else str(key)))
    elif isinstance(config, list):
        for i, value in enumerate(config):
            found.update(find_sweeps(value, source, f"{path}.{i}" if path else str(i)))
    return found


def _set(config: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        config = config[int(part)] if isinstance(config, list) else config[part]
    last = parts[-1]
    if isinstance(config, list):
        config[int(last)] = value
    else:
        config[last] = value


def expand_sweeps(config: dict[str, Any], source: SourceMap) -> list[GridPoint]:
    """All grid points of `config`; a config without sweeps is a grid of one."""
    sweeps = find_sweeps(config, source)
    points = []
    for combo in itertools.product(*sweeps.values()):
        resolved = copy.deepcopy(config)
        hyper = dict(zip(sweeps, combo))
        for path, value in hyper.items():
            _set(resolved, path, copy.deepcopy(value))
        points.append(GridPoint(config_id(resolved), resolved, hyper))
    return points
