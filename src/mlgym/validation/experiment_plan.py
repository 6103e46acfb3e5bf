"""Resolve and validate a whole grid search before anything starts: configs, grid, folds, every experiment."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from mlgym.config.loader import SourceMap, load_config
from mlgym.config.overrides import apply_overrides
from mlgym.config.python_modules import PythonModule, import_python_modules
from mlgym.config.grid import Grid
from mlgym.config.sweep import GridPoint, find_sweeps
from mlgym.errors import ConfigError
from mlgym.gym.scores import score_directions_of_nodes
from mlgym.registry.graph import Node, nodes_of_kind
from mlgym.search.searchers import trial_points
from mlgym.search.settings import SearchSettings
from mlgym.validation.grid_check import REQUIRED_KINDS, GridCheck, check_grid_point
from mlgym.validation.settings import ValidationSettings

SCORED_KINDS = ("metrics", "loss")  # the kinds whose nodes gym.scores.score_directions_of_nodes reads

__all__ = ["REQUIRED_KINDS", "CheckedGrid", "ResolvedGridSearch", "check_grid", "check_grid_point",
           "check_grid_search", "check_strategy", "check_strategy_nodes", "file_sha256", "load_gs_config",
           "resolve_grid_search", "resolve_points"]


@dataclass(frozen=True)
class ResolvedGridSearch:
    """A gs_config loaded, overridden, validated and expanded into its grid.

    `grid` holds the points the searcher chose: every grid point, or a random search's trials (in trial order).
    `nodes[i]` are the parsed component nodes of `grid[i]`: the config is parsed once per grid point in the main
    process, and the strategy check and the plan reuse them (they stay here; workers get only the config).
    `python_modules` register the config's own components; they are imported before any point is checked.
    """

    gs_config_path: Path
    gs_config: dict[str, Any]
    gs_config_sha256: str
    source: SourceMap
    grid: list[GridPoint]
    sweep_paths: list[str]
    nodes: tuple[dict[str, Node], ...]
    search: SearchSettings = SearchSettings()
    python_modules: tuple[PythonModule, ...] = ()

    @cached_property
    def score_directions(self) -> dict[str, dict[str, str]]:
        """Grid point id -> (score name -> "max" | "min"), from the parsed nodes. They are worked out once per
        distinct set of `metrics` and `loss` nodes (all `score_directions_of_nodes` reads; it builds the metric
        set): the points of a grid share their node objects where their configs agree (`GridCheck`)."""
        known: dict[tuple[int, ...], dict[str, str]] = {}
        directions = {}
        for point, nodes in zip(self.grid, self.nodes):
            scored = {name: node for name, node in nodes.items() if node.kind in SCORED_KINDS}
            key = tuple(map(id, scored.values()))  # the nodes are alive (self.nodes): ids are not reused
            if key not in known:
                known[key] = score_directions_of_nodes(scored)
            directions[point.grid_point_id] = dict(known[key])
        return directions


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_grid(grid: list[GridPoint], source: SourceMap) -> tuple[dict[str, Node], ...]:
    """Every point of a list checked in full (built-in components registered first); their nodes in order."""
    from mlgym.gym.builtins import load_builtins  # torch and every component: imported when a grid is checked
    load_builtins()
    return tuple(check_grid_point(point, source) for point in grid)


def resolve_grid_search(gs_config_path: str | Path, overrides: list[str] | None = None,
                        search: SearchSettings | None = None) -> ResolvedGridSearch:
    """Load, override, expand (or sample: `search`, its seed filled in) and check every point; raises
    ConfigError with file, line and key path."""
    path, config, source = load_gs_config(gs_config_path, overrides)
    return resolve_points(path, config, file_sha256(path), source, search or SearchSettings(),
                          tuple(source.python_modules))


def load_gs_config(gs_config_path: str | Path, overrides: list[str] | None = None
                   ) -> tuple[Path, dict[str, Any], SourceMap]:
    """The first, cheap step of `resolve_grid_search` (YAML, imports, overrides; no component is looked at): its
    `source.python_modules` are known here, so a run can start its workers before the points are checked."""
    path = Path(gs_config_path).resolve()
    config, source = load_config(path)
    apply_overrides(config, overrides or [], source)
    return path, config, source


def resolve_points(path: Path, config: dict[str, Any], sha256: str, source: SourceMap,
                   search: SearchSettings, python_modules: tuple[PythonModule, ...] = ()) -> ResolvedGridSearch:
    """The searcher's points of a loaded config, each checked (also used by warm start, on the logged config);
    the config's `python_modules` are imported first, so its own components are registered."""
    _load_components(python_modules)
    sweeps = find_sweeps(config, source)
    if search.searcher == "grid":
        grid = Grid(config, source)
        check = GridCheck(grid, source)
        points, nodes = [], []
        for index, point in grid.indexed():
            nodes.append(check.nodes(index, point))
            points.append(point)
        return ResolvedGridSearch(path, config, sha256, source, points, list(sweeps), tuple(nodes), search,
                                  python_modules)
    points = trial_points(config, source, search)
    return ResolvedGridSearch(path, config, sha256, source, points, list(sweeps), check_grid(points, source), search,
                              python_modules)


def _load_components(python_modules: tuple[PythonModule, ...]) -> None:
    from mlgym.gym.builtins import load_builtins  # torch and every component: imported when a grid is checked
    load_builtins()
    import_python_modules(python_modules)


@dataclass(frozen=True)
class CheckedGrid:
    """A grid search's config with every grid point checked, the points not kept (what `mlgym validate` needs):
    the number of points, the sweeps, and the first point's nodes (for the strategy's check)."""

    gs_config_path: Path
    gs_config: dict[str, Any]
    source: SourceMap
    size: int
    sweep_paths: list[str]
    first_nodes: dict[str, Node]
    python_modules: tuple[PythonModule, ...] = ()


def check_grid_search(gs_config_path: str | Path, overrides: list[str] | None = None) -> CheckedGrid:
    """Load, override and check every point of the grid, one at a time (memory does not grow with the grid);
    the same checks, in the same order, as `resolve_grid_search` with the grid searcher (ConfigError)."""
    path, config, source = load_gs_config(gs_config_path, overrides)
    python_modules = tuple(source.python_modules)
    _load_components(python_modules)
    grid = Grid(config, source)
    check = GridCheck(grid, source)
    indices = grid.indices()
    first = check.nodes(next(indices))  # a grid has at least one point
    for index in indices:
        check.nodes(index)
    return CheckedGrid(path, config, source, len(grid), grid.paths, first, python_modules)


def check_strategy(settings: ValidationSettings, resolved: ResolvedGridSearch) -> None:
    check_strategy_nodes(settings, resolved.nodes[0], resolved.source)


def check_strategy_nodes(settings: ValidationSettings, nodes: dict[str, Node], source: SourceMap) -> None:
    """The strategy's needs of a (the first) grid point's nodes: CV folds need a splitter with a dataset."""
    if settings.strategy == "grid_search":
        return
    splitters = nodes_of_kind(nodes, "splitter")
    if not splitters or not any(r.name == "dataset" for r in splitters[0].requirements):
        raise ConfigError(f"{settings.strategy} needs a component of kind 'splitter' with a requirement named "
                          "'dataset': the folds replace its splits", location=source.find(""))
