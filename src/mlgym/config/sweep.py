"""Sweeps: find every `{sweep: <kind>, ...}` in a config (in document order), resolve a point (each swept path set
to a value) and give it its id. What each kind means is `distributions.py`; the grid of the finite ones is
`grid.py`."""
from __future__ import annotations

import copy
import hashlib
import json
import pickle
from dataclasses import dataclass
from typing import Any

from mlgym.config.distributions import SWEEP_KINDS, Distribution, parse_sweep
from mlgym.config.loader import SourceMap

__all__ = ["SWEEP_KINDS", "MAX_GRID_POINTS", "GridPoint", "config_id", "find_sweeps", "resolve_point",
           "expand_sweeps"]

MAX_GRID_POINTS = 100_000  # a bigger grid is a mistake (an int range of millions), refused before it is listed


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


def find_sweeps(config: Any, source: SourceMap, path: str = "") -> dict[str, Distribution]:
    """Key path -> distribution of every sweep in `config`, in document order; each checked (ConfigError)."""
    found: dict[str, Distribution] = {}
    if isinstance(config, dict):
        if "sweep" in config:
            found[path] = parse_sweep(config, path, source)
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


def _copy(value: Any) -> Any:
    """A deep copy of config data. pickle's C round trip is ~10x faster than `copy.deepcopy`, which dominated the
    expansion of large grids, and as exact for plain data; what pickle refuses goes through `copy.deepcopy`."""
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(value)


def resolve_point(config: dict[str, Any], hyperparameters: dict[str, Any]) -> GridPoint:
    """`config` with each sweep path set to its value, and the id of the result."""
    resolved = _copy(config)
    for path, value in hyperparameters.items():
        _set(resolved, path, _copy(value))
    return GridPoint(config_id(resolved), resolved, dict(hyperparameters))


def expand_sweeps(config: dict[str, Any], source: SourceMap) -> list[GridPoint]:
    """All grid points of `config`; a config without sweeps is a grid of one. A continuous sweep is refused.
    The list of `grid.Grid`, which makes the points lazily (and shares what they do not change)."""
    from mlgym.config.grid import Grid  # grid.py builds on this module
    return list(Grid(config, source))
